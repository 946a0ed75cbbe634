"""The options of `tierzero kb eval`, kept apart from the benchmark so the CLI can offer them without loading it."""

from __future__ import annotations

import argparse
from pathlib import Path

from kb.embeddings import DEFAULT_MODEL

SEED = 13


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of `tierzero kb eval`."""
    parser.add_argument("--docs", type=Path, help="retrieval mode: documents JSONL (doc_id, title, body, lang)")
    parser.add_argument("--queries", type=Path, help="retrieval mode: queries JSONL (query, doc_id, lang)")
    parser.add_argument("--intents", type=Path, help="intent mode: rows JSONL (text, label, split, lang, is_oos)")
    parser.add_argument("--per-intent", type=int, help="intent mode: keep N training phrasings per intent")
    parser.add_argument("--kb-lang", help="intent mode: the language of the articles' phrasings (cross-lingual)")
    parser.add_argument("--query-lang", help="intent mode: the language of the customers' questions (cross-lingual)")
    parser.add_argument(
        "--sample",
        type=int,
        help="test questions sampled with a fixed seed (retrieval mode: default 1000; intent mode: in-scope only, "
        "all out-of-scope questions kept; default all)",
    )
    parser.add_argument(
        "--unsupported-article",
        action="store_true",
        help="intent mode: the out-of-scope training phrasings become one needs-agent article (finding it hands off)",
    )
    parser.add_argument(
        "--labels-from",
        type=Path,
        help="intent mode: correct labels from this rows JSONL with the same texts (bench.kb_eval.relabelled)",
    )
    parser.add_argument("--target-wrong", type=float, default=0.03, help="wrong-answer rate the thresholds aim for")
    parser.add_argument(
        "--confidence",
        type=float,
        help="fit thresholds whose wrong rate's upper confidence bound (e.g. 0.9) meets the target (default: the rate)",
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"embedding model spec (default {DEFAULT_MODEL})")
    parser.add_argument("--json", type=Path, help="write the results as JSON to this file")
