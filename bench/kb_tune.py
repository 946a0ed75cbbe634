"""Tune how passage scores become article scores (`RetrievalSettings`) on a benchmark's fitting questions only.

    python -m bench.kb_tune banking77 [--out bench/results/tuning-banking77.json]
    python -m bench.kb_tune banking77-5 --classifier [--out bench/results/tuning-classifier-banking77-5.json]

`--classifier` scores the article classifier's settings (weight and strength) instead, the others at their defaults.

Builds the fitting knowledge base of a run from `bench.run_all` and scores each setting's top-1 and MRR on the
fitting questions (never the test questions), through the real KnowledgeBase.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
from pathlib import Path

from bench.kb_eval import CachedEmbedder, build_kb, load_intents, load_retrieval, ranking_metrics, search_all
from bench.options import add_arguments
from bench.run_all import RUNS
from kb.embeddings import load_embedder
from kb.fusion import RetrievalSettings
from kb.lang import normalize
from kb.query_vectors import MAX_QUERY_CHARS

CLASSIFIER_GRID = {"classifier_strength": (10.0, 100.0), "classifier_weight": (0.0, 0.02, 0.05, 0.1)}
GRID = {
    "lexical_weight": (0.0, 0.03, 0.1),
    "support": (1, 3, 5),
    "support_weight": (0.0, 0.25, 0.5),
    "dense_depth": (50, 200),
}


def settings_grid(classifier: bool = False) -> list[RetrievalSettings]:
    """Every combination worth scoring (support 1 makes support_weight irrelevant, so it is tried once)."""
    if classifier:
        names = list(CLASSIFIER_GRID)
        return [
            RetrievalSettings(**dict(zip(names, v, strict=True))) for v in itertools.product(*CLASSIFIER_GRID.values())
        ]
    grid = []
    for values in itertools.product(*GRID.values()):
        fields = dict(zip(GRID, values, strict=True))
        if (fields["support"] == 1) != (fields["support_weight"] == 0.0):
            continue
        grid.append(RetrievalSettings(**fields))
    return grid


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", choices=list(RUNS))
    parser.add_argument("--out", type=Path, help="write the table as JSON here")
    parser.add_argument("--classifier", action="store_true", help="tune the article classifier's settings")
    args = parser.parse_args(argv)
    eval_parser = argparse.ArgumentParser()
    add_arguments(eval_parser)
    options = eval_parser.parse_args(RUNS[args.name])
    if options.intents:
        bench = load_intents(
            options.intents, options.per_intent, options.kb_lang, options.query_lang, sample=options.sample
        )
    else:
        bench = load_retrieval(options.docs, options.queries, sample=options.sample or 1000)
    embedder = CachedEmbedder(load_embedder(options.model))
    embedder.warm("query", [normalize(q.text)[:MAX_QUERY_CHARS] for q in bench.fit], "encoding queries")
    rows = []
    with tempfile.TemporaryDirectory(prefix="kb-tune-") as tmp:
        kb = build_kb(bench.fit_docs if bench.fit_docs is not None else bench.docs, embedder, Path(tmp))
        for settings in settings_grid(args.classifier):
            # a weight of 0 trains no classifier: the next weight needs one
            retrain = (
                settings.classifier_strength != kb.retrieval.classifier_strength or not kb.retrieval.classifier_weight
            )
            kb.retrieval = settings
            if retrain:
                kb.train_classifier()
            metrics = ranking_metrics(search_all(kb, bench.fit, "hybrid"))
            rows.append({**settings.model_dump(), **metrics})
            print(
                " ".join(f"{k}={v}" for k, v in settings.model_dump().items()),
                f"top1={100 * metrics['top1']:.2f} mrr={metrics['mrr']:.4f}",
                flush=True,
            )
    rows.sort(key=lambda r: (r["top1"], r["mrr"]), reverse=True)
    print("best:", rows[0])
    if args.out:
        args.out.write_text(
            json.dumps({"dataset": bench.name, "fit_questions": len(bench.fit), "rows": rows}, indent=2)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
