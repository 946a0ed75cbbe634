"""Knowledge-base benchmark: retrieval quality and the answer / clarify / escalate decision on public data sets.

Two ways to turn a data set into a knowledge base and questions:

- retrieval mode (``--docs D --queries Q``): each document becomes an article, each query a customer question
  whose right article is its ``doc_id``;
- intent mode (``--intents FILE``): each intent label becomes an article, its training phrasings the article's
  alternative questions (``--per-intent N`` keeps N of them), its test phrasings the customer questions;
  out-of-scope rows are questions that should be escalated. With ``--unsupported-article`` the out-of-scope
  training phrasings become one more article, tagged ``needs-agent`` ("requests we handle in person"): finding it
  hands the customer to a person, as the bot does for any such article, so it counts as an escalation.

Every run scores three systems side by side through the real ``KnowledgeBase`` (in-memory SQLite, the real
embedding model): ``hybrid`` (what the bot uses), ``bm25`` (lexical only) and ``dense`` (embeddings only). Each
system's decision thresholds are fitted (``kb.calibrate``) on a fitting split — validation rows, or training
phrasings held out of the knowledge base — and then scored on the test split, which is never used for tuning.
Embeddings are cached under ``var/bench-cache/<model>/`` by a hash of the text, so a rerun does not re-encode.

    tierzero kb eval --intents ../shared/data/banking77/banking77.jsonl --json bench/results/banking77.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import tempfile
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import StaticPool
from tqdm import tqdm

from bench.options import SEED, add_arguments
from kb.calibrate import LabelledOutcome, fit_policy, outcome
from kb.decision import DecisionPolicy
from kb.embeddings import Embedder, load_embedder
from kb.lang import normalize
from kb.models import Article, KBBase
from kb.passages import QUESTION_KINDS, split_passages
from kb.query_vectors import MAX_QUERY_CHARS
from kb.results import NEEDS_AGENT_TAG
from kb.search import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = ROOT.parent / "shared" / "data"
CACHE_DIR = ROOT / "var" / "bench-cache"
SYSTEMS = {"hybrid": "hybrid", "bm25": "lexical", "dense": "dense"}
RANK_DEPTH = 10
UNSUPPORTED_ID, UNSUPPORTED_TITLE = "unsupported-requests", "Requests we handle in person"


class CachedEmbedder:
    """An embedder that remembers every vector on disk, keyed by model, kind (query/passage) and text hash."""

    def __init__(self, inner: Embedder, folder: Path = CACHE_DIR, batch_size: int = 32) -> None:
        self.inner, self.name, self.dim, self.batch_size = inner, inner.name, inner.dim, batch_size
        self.folder = Path(folder) / re.sub(r"[^A-Za-z0-9_.-]+", "_", inner.name)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._vectors: dict[bytes, np.ndarray] = {}
        self._pending: list[bytes] = []
        for shard in sorted(self.folder.glob("*.npz")):
            with np.load(shard) as data:
                # numpy's fixed-width bytes drop a digest's trailing NUL bytes: pad them back
                keys = [key.ljust(20, b"\0") for key in data["keys"].tolist()]
                self._vectors.update(zip(keys, data["vectors"], strict=True))

    @staticmethod
    def _key(kind: str, text: str) -> bytes:
        return hashlib.sha1(f"{kind}\0{text}".encode()).digest()

    def _embed(self, kind: str, texts: Sequence[str], show: str | None = None) -> np.ndarray:
        keys = [self._key(kind, t) for t in texts]
        missing = list({k: t for k, t in zip(keys, texts, strict=True) if k not in self._vectors}.items())
        encode = self.inner.embed_queries if kind == "query" else self.inner.embed_passages
        batches = range(0, len(missing), self.batch_size)
        for start in tqdm(batches, desc=show, unit="batch", disable=not show or not missing, file=sys.stderr):
            chunk = missing[start : start + self.batch_size]
            vectors = encode([t for _, t in chunk])
            for (key, _), vector in zip(chunk, vectors, strict=True):
                self._vectors[key] = vector
                self._pending.append(key)
            if len(self._pending) >= 512:
                self.flush()
        self.flush()
        if not keys:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vectors[k] for k in keys])

    def flush(self) -> None:
        """Write the vectors encoded since the last flush as a new shard."""
        if not self._pending:
            return
        keys = np.array(self._pending, dtype="S20")
        vectors = np.stack([self._vectors[k] for k in self._pending]).astype(np.float32)
        np.savez(self.folder / f"{time.time_ns()}.npz", keys=keys, vectors=vectors)
        self._pending = []

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed("query", texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed("passage", texts)

    def warm(self, kind: str, texts: Sequence[str], description: str) -> None:
        """Encode (with a progress bar) whatever of these texts is not cached yet."""
        self._embed(kind, list(texts), show=description)


@dataclass(frozen=True)
class Doc:
    id: str
    lang: str
    title: str
    body: str = ""
    questions: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Query:
    text: str
    lang: str
    doc_id: str | None  # None: out of scope
    oos_type: str | None = None
    extra: bool = False  # scored for out-of-scope recall only, outside the test split's mix (wrong/answered)


@dataclass
class Benchmark:
    """A knowledge base, the questions that tune the decision and the questions that score it."""

    name: str
    docs: list[Doc]
    test: list[Query]
    fit: list[Query]
    fit_docs: list[Doc] | None = None  # a knowledge base for fitting, when fitting questions were held out of it
    notes: list[str] = field(default_factory=list)


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def _title(label: str) -> str:
    words = re.sub(r"[_/]+", " ", label).strip()
    return words[:1].upper() + words[1:]


def _split_name(split: str) -> str:
    return split.rsplit("_", 1)[-1]  # banking77_oos writes "id-oos_test"


def _docs_from(rows: list[dict]) -> list[Doc]:
    by_label: dict[str, list[str]] = defaultdict(list)
    langs: dict[str, str] = {}
    for row in rows:
        by_label[row["label"]].append(row["text"])
        langs.setdefault(row["label"], row["lang"])
    return [
        Doc(label, langs[label], _title(label), "", tuple(dict.fromkeys(texts))) for label, texts in by_label.items()
    ]


def _query(row: dict) -> Query:
    if row.get("is_oos"):
        return Query(row["text"], row["lang"], None, row.get("oos_type") or "oos")
    return Query(row["text"], row["lang"], row["label"])


def _sampled(questions: list[Query], size: int, rng: random.Random) -> list[Query]:
    """A fixed-seed sample of `size` in-scope questions and the same share of each kind of out-of-scope question
    (so the mix, which wrong-among-answered depends on, is kept), in the original order; extras are all kept."""
    in_scope = [i for i, q in enumerate(questions) if q.doc_id is not None and not q.extra]
    share = min(size, len(in_scope)) / max(len(in_scope), 1)
    keep = set(rng.sample(in_scope, min(size, len(in_scope))))
    for kind in sorted({q.oos_type or "" for q in questions if q.doc_id is None and not q.extra}):
        rows = [i for i, q in enumerate(questions) if q.doc_id is None and (q.oos_type or "") == kind and not q.extra]
        keep |= set(rng.sample(rows, round(share * len(rows))))
    keep |= {i for i, q in enumerate(questions) if q.extra}
    return [q for i, q in enumerate(questions) if i in keep]


def relabelled(rows: list[dict], reference: list[dict]) -> tuple[list[dict], Counter]:
    """Rows whose text (case and outer spaces ignored) is in `reference` take its label: in scope when the
    reference label is one of the rows' in-scope labels, else out of scope (`id-oos`). Off-topic rows (`ood-oos`)
    are kept as they are. Returns the rows and how many changed, by what they became.

    BANKING77-OOS is built from BANKING77 text, and about 6 % of its in-scope rows (and of its id-oos rows) carry
    another intent's label than the same text has in BANKING77 — blocks of a dozen rows per intent, the same in
    every split. The test questions among them cannot be answered "right" by any system.
    """
    known: dict[str, str] = {}
    for row in reference:
        known.setdefault(row["text"].strip().lower(), row["label"])
    in_scope = {row["label"] for row in rows if not row.get("is_oos")}
    changed: Counter = Counter()
    result = []
    for row in rows:
        label = known.get(row["text"].strip().lower())
        if label is None or row.get("oos_type") == "ood-oos" or label == row["label"]:
            result.append(row)
            continue
        split = _split_name(row["split"])
        if label in in_scope:
            row = {**row, "label": label, "is_oos": False, "oos_type": None, "split": split}
            changed["in-scope label"] += 1
        elif not row.get("is_oos"):
            row = {**row, "label": "oos", "is_oos": True, "oos_type": "id-oos", "split": f"id-oos_{split}"}
            changed["id-oos"] += 1
        result.append(row)
    return result, changed


def load_intents(
    path: Path,
    per_intent: int | None = None,
    kb_lang: str | None = None,
    query_lang: str | None = None,
    fit_size: int = 1000,
    seed: int = SEED,
    sample: int | None = None,
    unsupported: bool = False,
    labels_from: Path | None = None,
) -> Benchmark:
    """Intent rows as a knowledge base: labels → articles, training phrasings → alternative questions.

    `sample` keeps a fixed-seed sample of that many in-scope test questions (and half as many in-scope fitting
    questions); out-of-scope questions are all kept. `unsupported` adds an article tagged `needs-agent` whose
    alternative questions are the out-of-scope training phrasings (the requests a desk knows it cannot serve).
    `labels_from` corrects the rows' labels from another data set with the same texts (`relabelled`).
    """
    rows = read_jsonl(path)
    rng = random.Random(seed)
    sampler = random.Random(seed + 1)
    name = Path(path).stem + (f"-{per_intent}-per-intent" if per_intent else "")
    notes: list[str] = []
    if labels_from:
        rows, changed = relabelled(rows, read_jsonl(labels_from))
        name += "-relabelled"
        notes.append(
            f"labels corrected from {Path(labels_from).name} where the same text has another label there: "
            f"{changed['in-scope label']} rows took another in-scope label, {changed['id-oos']} became id-oos "
            "(their intent is not in scope)"
        )
    if kb_lang and query_lang and kb_lang != query_lang:
        kb_rows = [r for r in rows if r["lang"] == kb_lang and not r.get("is_oos")]
        questions = [_query(r) for r in rows if r["lang"] == query_lang]
        rng.shuffle(questions)
        half = len(questions) // 2
        notes.append(
            f"{kb_lang} phrasings (all splits) are the articles' questions; {len(questions)} {query_lang} phrasings "
            f"are the customers' questions, split at random (seed {seed}) into {half} for fitting and "
            f"{len(questions) - half} for the test figures"
        )
        return Benchmark(
            f"{name}-{query_lang}-to-{kb_lang}", _docs_from(kb_rows), questions[half:], questions[:half], notes=notes
        )
    for row in rows:
        row["split"] = _split_name(row["split"])
    train = [r for r in rows if r["split"] == "train" and not r.get("is_oos")]
    by_label: dict[str, list[dict]] = defaultdict(list)
    for row in train:
        by_label[row["label"]].append(row)
    test = [_query(r) for r in rows if r["split"] == "test"]
    test_types = {q.oos_type for q in test}
    valid = [r for r in rows if r["split"] in ("valid", "validation", "dev")]
    held_types = {r.get("oos_type") for r in valid if r.get("is_oos")} - test_types
    for oos_type in sorted(t for t in held_types if t):
        extra = [replace(_query(r), extra=True) for r in valid if r.get("oos_type") == oos_type]
        test += extra
        notes.append(
            f"{oos_type} has no test rows: its {len(extra)} validation rows are never fitted on and count only in "
            "its out-of-scope recall, not in the answered / wrong figures"
        )
    valid = [r for r in valid if r.get("oos_type") not in held_types or not r.get("is_oos")]
    if sample:
        test = _sampled(test, sample, sampler)
        valid_questions = _sampled([_query(r) for r in valid], sample // 2, sampler)
        notes.append(
            f"a fixed-seed sample of {sample} in-scope test and {sample // 2} in-scope fitting questions, with the "
            "same share of each split's out-of-scope questions"
        )
    else:
        valid_questions = [_query(r) for r in valid]
    # the fitting questions held out of the training phrasings are drawn first, so every mode draws the same ones
    held = set(map(id, rng.sample(train, min(fit_size, len(train) // 10)))) if not valid else set()
    if per_intent:
        kept = []
        for label in sorted(by_label):
            phrasings = [r for r in by_label[label] if id(r) not in held]
            rng.shuffle(phrasings)
            kept += phrasings[:per_intent]
        docs = _docs_from(kept)
        if valid:
            fit = valid_questions
        else:
            fit = [_query(r) for r in train if id(r) in held]
            notes.append(f"fitted on {len(fit)} training phrasings not in the knowledge base (seed {seed})")
        notes.append(f"{per_intent} training phrasings per intent (seed {seed})")
        return Benchmark(name, docs, test, fit, notes=notes)
    docs = _docs_from(train)
    if unsupported:
        known = [r["text"] for r in rows if r["split"] == "train" and r.get("is_oos")]
        if not known:
            raise SystemExit("error: --unsupported-article needs out-of-scope rows in the training split")
        docs.append(Doc(UNSUPPORTED_ID, "en", UNSUPPORTED_TITLE, "", tuple(dict.fromkeys(known)), (NEEDS_AGENT_TAG,)))
        name += "-unsupported"
        notes.append(
            f"the {len(known)} out-of-scope training phrasings are the questions of one more article, tagged "
            f"{NEEDS_AGENT_TAG} (finding it hands off, an escalation); out-of-scope validation and test phrasings "
            "are never in it"
        )
    if valid:
        return Benchmark(name, docs, test, valid_questions, notes=notes)
    fit_docs = _docs_from([r for r in train if id(r) not in held])
    fit = [_query(r) for r in train if id(r) in held]
    notes.append(
        f"no validation split: thresholds fitted on {len(fit)} training phrasings (seed {seed}) held out of a "
        "second knowledge base built from the rest; the test figures use every training phrasing"
    )
    return Benchmark(name, docs, test, fit, fit_docs=fit_docs, notes=notes)


def load_retrieval(
    docs_path: Path, queries_path: Path, sample: int = 1000, fit_size: int = 500, seed: int = SEED
) -> Benchmark:
    """Documents as articles and queries as questions; a fixed-seed sample of the queries when there are many."""
    docs = [
        Doc(r["doc_id"], r["lang"], r.get("title") or r["doc_id"], r.get("body") or "") for r in read_jsonl(docs_path)
    ]
    queries = [Query(r["query"], r["lang"], r["doc_id"]) for r in read_jsonl(queries_path)]
    rng = random.Random(seed)
    rng.shuffle(queries)
    fit, rest = queries[:fit_size], queries[fit_size:]
    test = rest[:sample]
    notes = [
        f"{len(queries)} queries, no test split: {len(fit)} (seed {seed}) fit the thresholds, a disjoint sample of "
        f"{len(test)} gives the figures"
    ]
    return Benchmark(Path(queries_path).stem.removesuffix("_queries"), docs, test, fit, notes=notes)


def build_kb(docs: Sequence[Doc], embedder: CachedEmbedder, folder: Path) -> KnowledgeBase:
    """Published articles in an in-memory database, indexed by the real KnowledgeBase."""
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    KBBase.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    articles = [
        Article(
            id=d.id,
            group=d.id,
            lang=d.lang,
            title=d.title,
            body=d.body,
            questions=list(d.questions),
            tags=list(d.tags),
            status="published",
            version=1,
        )
        for d in docs
    ]
    passages = [p for a in articles for p in split_passages(a)]
    embedder.warm("query", [p.text for p in passages if p.kind in QUESTION_KINDS], "encoding questions")
    embedder.warm("passage", [p.text for p in passages if p.kind not in QUESTION_KINDS], "encoding passages")
    with sessions() as session:
        session.add_all(articles)
        session.commit()
    kb = KnowledgeBase(sessions, embedder, folder / "index", policy=DecisionPolicy(), classifier_in_background=False)
    kb.sync()
    return kb


def search_all(kb: KnowledgeBase, queries: Sequence[Query], system: str) -> list[LabelledOutcome]:
    """Each question's ranking by one system, as labelled outcomes."""
    outcomes = []
    for query in queries:
        result = kb.search(query.text, lang=query.lang, k=RANK_DEPTH, mode=SYSTEMS[system])
        outcomes.append(outcome(result, query.doc_id, key=lambda article: article.id))
    return outcomes


def ranking_metrics(outcomes: Sequence[LabelledOutcome]) -> dict[str, float]:
    """top-1, recall@5 and MRR (over the first 10) of the in-scope questions."""
    scored = [o for o in outcomes if o.expected is not None]
    ranks = [o.ranked.index(o.expected) + 1 if o.expected in o.ranked else None for o in scored]
    n = max(len(scored), 1)
    return {
        "top1": sum(r == 1 for r in ranks) / n,
        "recall@5": sum(r is not None and r <= 5 for r in ranks) / n,
        "mrr": sum(1 / r for r in ranks if r) / n,
    }


def _decision(outcome: LabelledOutcome, policy: DecisionPolicy) -> str:
    decision = policy.decide(list(outcome.confidences), outcome.lang, handoff=outcome.handoff)
    return "escalate" if decision == "answer" and outcome.handoff else decision


def decision_metrics(
    outcomes: Sequence[LabelledOutcome], queries: Sequence[Query], policy: DecisionPolicy
) -> dict[str, object]:
    """Answered, wrong among answered, escalated in scope, and out-of-scope recall per kind.

    Finding an article that needs an agent is a handoff: it counts as escalated, not answered."""
    outcomes = [o.weighted(policy.probability_weight) for o in outcomes]
    decisions = [_decision(o, policy) for o in outcomes]
    in_mix = [(o, d) for o, d, q in zip(outcomes, decisions, queries, strict=True) if not q.extra]
    in_scope = [(o, d) for o, d in in_mix if o.expected is not None]
    answered = [o for o, d in in_mix if d == "answer"]
    wrong = sum(not o.correct for o in answered)
    clarified = [o for o, d in in_scope if d == "clarify"]
    floors = {lang: policy.threshold(policy.clarify_threshold, lang) for lang in {o.lang for o in outcomes}}
    n_in = max(len(in_scope), 1)
    oos: dict[str, list[str]] = defaultdict(list)
    for query, decision in zip(queries, decisions, strict=True):
        if query.doc_id is None:
            oos[query.oos_type or "oos"].append(decision)
    return {
        "answered": sum(d == "answer" for _, d in in_scope) / n_in,
        "wrong_among_answered": wrong / len(answered) if answered else 0.0,
        "escalated_in_scope": sum(d == "escalate" for _, d in in_scope) / n_in,
        "clarified_in_scope": len(clarified) / n_in,
        "clarify_holds_answer": (
            sum(o.choices_hold_answer(floors[o.lang], policy.max_choices) for o in clarified) / len(clarified)
            if clarified
            else None
        ),
        "oos_recall": {kind: ds.count("escalate") / len(ds) for kind, ds in sorted(oos.items())} or None,
        "oos_not_answered": {kind: 1 - ds.count("answer") / len(ds) for kind, ds in sorted(oos.items())} or None,
    }


def evaluate(
    bench: Benchmark,
    embedder: CachedEmbedder,
    target_wrong: float = 0.03,
    log: Callable[[str], None] = print,
    confidence: float | None = None,
) -> dict:
    """Score every system on a benchmark; returns the JSON-ready results (`confidence`: as `fit_policy`'s)."""
    started = time.perf_counter()
    embedder.warm("query", [normalize(q.text)[:MAX_QUERY_CHARS] for q in bench.test + bench.fit], "encoding queries")
    results: dict = {
        "dataset": bench.name,
        "model": embedder.name,
        "articles": len(bench.docs),
        "test_questions": len(bench.test),
        "fit_questions": len(bench.fit),
        "target_wrong": target_wrong,
        "confidence": confidence,
        "notes": bench.notes,
        "systems": {},
    }
    with tempfile.TemporaryDirectory(prefix="kb-eval-") as tmp:
        kb = build_kb(bench.docs, embedder, Path(tmp) / "test")
        fit_kb = build_kb(bench.fit_docs, embedder, Path(tmp) / "fit") if bench.fit_docs is not None else kb
        results["passages"] = len(kb.vectors)
        for system in SYSTEMS:
            log(f"  scoring {system} …")
            fit_outcomes = search_all(fit_kb, bench.fit, system)
            policy, fits = fit_policy(fit_outcomes, target_wrong=target_wrong, confidence=confidence)
            clock = time.perf_counter()
            outcomes = search_all(kb, bench.test, system)
            per_query_ms = (time.perf_counter() - clock) * 1000 / max(len(bench.test), 1)
            results["systems"][system] = {
                **ranking_metrics(outcomes),
                **decision_metrics(outcomes, bench.test, policy),
                "fitted": {f.lang: {"answer": f.answer_threshold, "clarify": f.clarify_threshold} for f in fits},
                "margin": policy.margin,
                "probability_weight": policy.probability_weight,
                "ms_per_question": per_query_ms,
            }
    results["seconds"] = time.perf_counter() - started
    return results


def _pct(value: object) -> str:
    if value is None:
        return "–"
    if isinstance(value, dict):
        return " / ".join(f"{k} {100 * v:.1f}" for k, v in value.items())
    return f"{100 * float(value):.1f}"


COLUMNS = (
    ("top1", "top-1"),
    ("recall@5", "R@5"),
    ("mrr", "MRR"),
    ("answered", "answered"),
    ("wrong_among_answered", "wrong/ans"),
    ("escalated_in_scope", "esc in-scope"),
    ("oos_recall", "OOS recall (escalated)"),
)


def format_table(results: dict) -> str:
    """A Markdown table of one run, one row per system (percentages)."""
    header = "| system | " + " | ".join(title for _, title in COLUMNS) + " |"
    lines = [header, "|" + "---|" * (len(COLUMNS) + 1)]
    for system, metrics in results["systems"].items():
        cells = []
        for key, _ in COLUMNS:
            value = metrics[key]
            cells.append(f"{value:.3f}" if key == "mrr" else _pct(value))
        lines.append(f"| {system} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def describe(results: dict) -> str:
    notes = "".join(f"\n- {note}" for note in results["notes"])
    confidence = results.get("confidence")
    bound = f" (its upper {100 * confidence:.0f} % bound on the fitting questions)" if confidence else ""
    return (
        f"**{results['dataset']}** — {results['articles']} articles ({results['passages']} passages), "
        f"{results['test_questions']} test questions, {results['fit_questions']} fitting questions, "
        f"model {results['model']}, target wrong among answered {100 * results['target_wrong']:.0f} %{bound}, "
        f"{results['seconds']:.0f} s{notes}\n\n{format_table(results)}"
    )


def run(args: argparse.Namespace) -> int:
    """`tierzero kb eval`: load the data set, score the three systems, print the table, write the JSON."""
    if args.labels_from and not args.intents:
        raise SystemExit("error: --labels-from is for intent mode (--intents)")
    if args.unsupported_article and not args.intents:
        raise SystemExit("error: --unsupported-article is for intent mode (--intents)")
    if args.intents and (args.docs or args.queries):
        raise SystemExit("error: use either --intents or --docs with --queries, not both")
    if args.intents:
        bench = load_intents(
            args.intents,
            args.per_intent,
            args.kb_lang,
            args.query_lang,
            sample=args.sample,
            unsupported=args.unsupported_article,
            labels_from=args.labels_from,
        )
    elif args.docs and args.queries:
        bench = load_retrieval(args.docs, args.queries, sample=args.sample or 1000)
    else:
        raise SystemExit("error: give --intents FILE, or --docs D and --queries Q")
    if args.per_intent is not None and args.per_intent <= 0:
        raise SystemExit("error: --per-intent must be positive")
    embedder = CachedEmbedder(load_embedder(args.model))
    counts = Counter(q.oos_type or "in-scope" for q in bench.test)
    print(f"{bench.name}: {len(bench.docs)} articles, test questions {dict(counts)}", flush=True)
    if args.confidence is not None and not 0 < args.confidence < 1:
        raise SystemExit("error: --confidence must be above 0 and below 1")
    results = evaluate(bench, embedder, target_wrong=args.target_wrong, confidence=args.confidence)
    print(describe(results))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.kb_eval", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
