"""How well the bot understands customers: the trained Rasa NLU model against a TF-IDF baseline, same run.

Runs in the Rasa environment (Python 3.10), loading the trained model in-process:

    $(scripts/venv.sh rasa)/bin/python bench/nlu_eval.py --model "$(./tierzero train)" --json bench/results/nlu.json

Sets:
- `tests/data/nlu_heldout.jsonl`: 5 held-out sentences per intent per language (en/ja/ko), never trained on.
- Bitext customer-service requests (../shared/data/bitext, dev split, en): `contact_human_agent` must be
  understood as asking for a person; every other request (orders, refunds, invoices …) must not be — it should
  reach the knowledge base, and above all not be taken for `cancel` (which leaves the handoff form).

The baseline is a character 1–4-gram TF-IDF + logistic regression trained on the same `nlu_data/nlu.yml`.
A message Rasa marks `nlu_fallback` goes to the knowledge base, so it counts as `question`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
from collections import Counter, defaultdict
from pathlib import Path

import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"
TO_KB = {"question", "nlu_fallback", "chitchat", "inform"}


def training_examples() -> tuple[list[str], list[str]]:
    texts, labels = [], []
    for block in yaml.safe_load((ROOT / "nlu_data" / "nlu.yml").read_text(encoding="utf-8"))["nlu"]:
        for line in block["examples"].splitlines():
            if line.strip().startswith("- "):
                texts.append(line.strip()[2:].strip())
                labels.append(block["intent"])
    return texts, labels


def heldout() -> list[dict]:
    lines = (ROOT / "tests" / "data" / "nlu_heldout.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def bitext(sample: int, seed: int) -> list[dict]:
    rows = [json.loads(line) for line in (SHARED / "bitext" / "bitext_intent.jsonl").read_text().splitlines() if line]
    rows = [r for r in rows if r.get("split") == "dev"]
    human = [r for r in rows if r["label"] == "contact_human_agent"]
    others = [r for r in rows if r["label"] != "contact_human_agent"]
    random.Random(seed).shuffle(others)
    return [{"text": r["text"], "intent": "ask_human", "lang": "en", "label": r["label"]} for r in human] + [
        {"text": r["text"], "intent": "question", "lang": "en", "label": r["label"]} for r in others[:sample]
    ]


def effective(intent: str) -> str:
    return "question" if intent in TO_KB else intent


def score(rows: list[dict], predicted: list[str]) -> dict:
    by_lang: dict[str, list[bool]] = defaultdict(list)
    by_intent: dict[str, list[bool]] = defaultdict(list)
    for row, guess in zip(rows, predicted, strict=True):
        right = effective(guess) == effective(row["intent"])
        by_lang[row["lang"]].append(right)
        by_intent[row["intent"]].append(right)
    human_rows = [(r, p) for r, p in zip(rows, predicted, strict=True) if r["intent"] == "ask_human"]
    other_rows = [(r, p) for r, p in zip(rows, predicted, strict=True) if r["intent"] not in ("ask_human", "cancel")]
    return {
        "accuracy": round(sum(sum(v) for v in by_lang.values()) / len(rows), 4),
        "by_language": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_lang.items())},
        "by_intent": {k: round(sum(v) / len(v), 4) for k, v in sorted(by_intent.items())},
        "ask_human_recall": round(sum(p == "ask_human" for _, p in human_rows) / max(1, len(human_rows)), 4),
        "false_handoff_rate": round(sum(p == "ask_human" for _, p in other_rows) / max(1, len(other_rows)), 4),
        "taken_for_cancel": round(sum(p == "cancel" for _, p in other_rows) / max(1, len(other_rows)), 4),
        "mistaken_for_a_person_request": sorted(
            {r.get("label", r["intent"]) for r, p in other_rows if p == "ask_human"}
        ),
    }


async def rasa_predictions(model: Path, texts: list[str]) -> list[str]:
    from rasa.core.agent import Agent

    agent = Agent.load(str(model))
    predictions = []
    for text in texts:
        parsed = await agent.parse_message(text)
        predictions.append(parsed["intent"]["name"])
    return predictions


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--model", type=Path, required=True, help="the trained model (.tar.gz), e.g. from `tierzero train`"
    )
    parser.add_argument("--bitext-sample", type=int, default=400, help="how many non-human Bitext requests to score")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    texts, labels = training_examples()
    baseline = make_pipeline(
        TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 4), sublinear_tf=True), LogisticRegression(max_iter=2000)
    ).fit(texts, labels)
    sets = {"heldout (en/ja/ko)": heldout(), "bitext dev (en)": bitext(args.bitext_sample, args.seed)}
    report: dict = {"training_examples": len(texts), "intents": dict(Counter(labels)), "sets": {}}
    for name, rows in sets.items():
        sentences = [r["text"] for r in rows]
        report["sets"][name] = {
            "rows": len(rows),
            "rasa_diet": score(rows, asyncio.run(rasa_predictions(args.model, sentences))),
            "baseline_tfidf_logreg": score(rows, list(baseline.predict(sentences))),
        }

    print(f"{'set':22}{'system':24}{'acc':>7}{'en':>7}{'ja':>7}{'ko':>7}{'human↑':>8}{'falseH↓':>9}{'cancel↓':>9}")
    for name, systems in report["sets"].items():
        for system in ("rasa_diet", "baseline_tfidf_logreg"):
            s = systems[system]
            langs = "".join(f"{s['by_language'].get(lang, float('nan')):>7.3f}" for lang in ("en", "ja", "ko"))
            print(
                f"{name:22}{system:24}{s['accuracy']:>7.3f}{langs}{s['ask_human_recall']:>8.3f}"
                f"{s['false_handoff_rate']:>9.3f}{s['taken_for_cancel']:>9.3f}"
            )
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
