"""Load test: many concurrent customers against the real system on loopback; then check nothing was lost.

    python -m bench.load_test --conversations 50 --turns 20 --think 2 --json bench/results/load.json

Starts its own Rasa server and API on free loopback ports with a fresh database (rate limits raised for the run),
holds N conversations of T turns each (KB questions, handoffs through the form, follow-ups while waiting for an
agent), waiting `--think` seconds between turns as people do, and reports reply latency p50/p95/p99, errors, and the
CPU and resident memory of every process. A baseline runs in the same process first: the same questions sent straight to
Rasa's REST channel (no API in between), so the API's own cost is visible. Finally it counts, in the database,
that every customer message and every ticket is there exactly once. Bounded: it stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp
from sqlalchemy import func, select

from api.db import create_tables, make_engine, session_factory
from api.launcher import System, free_port, start
from api.settings import MAX_RASA_PROCESSES, Settings
from handoff.models import Message, Ticket

ROOT = Path(__file__).resolve().parent.parent
QUESTIONS = [json.loads(line) for line in (ROOT / "tests/data/demo_questions.jsonl").read_text().splitlines() if line]
HANDOFF = {
    "en": ["I want to talk to a person", "Alex Kim", "alex@example.com", "My parcel arrived broken"],
    "ja": ["担当者と話したいです", "山田太郎", "taro@example.jp", "商品が壊れて届きました"],
    "ko": ["상담원 연결해 주세요", "김민수", "minsu@example.kr", "상품이 파손되어 왔어요"],
}


def family(pid: int) -> list[int]:
    """The process and every process it started that still runs (a server's embedding process, say)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue  # gone meanwhile
        parents.setdefault(parent, []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += parents.get(found[-1], [])
    return found


def rss_mb(pid: int) -> float:
    """Resident memory of the process and of the processes it started, added up (shared libraries count in each)."""
    total = 0.0
    for member in family(pid):
        try:
            lines = Path(f"/proc/{member}/status").read_text().splitlines()
        except OSError:
            continue
        total += sum(int(line.split()[1]) / 1024 for line in lines if line.startswith("VmRSS:"))
    return total


def cpu_seconds(pid: int, children: bool = True) -> float:
    """User + system CPU time the process used so far; with `children`, also the processes it started, those still
    running and those that ended (counted in their parent's cutime and cstime once waited for)."""
    total = 0.0
    for member in family(pid) if children else [pid]:
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        used = fields[11:15] if children else fields[11:13]
        total += sum(int(ticks) for ticks in used) / os.sysconf("SC_CLK_TCK")
    return total


def script(index: int, turns: int, rng: random.Random) -> list[str]:
    """One customer's turns: every third customer hands off (form + follow-ups), the others ask KB questions."""
    lang = ("en", "ja", "ko")[index % 3]
    pool = [q["query"] for q in QUESTIONS if q["lang"] == lang]
    if index % 3 == 0:
        asks = [rng.choice(pool) for _ in range(max(0, turns - len(HANDOFF[lang])))]
        return (asks[: turns // 3] + HANDOFF[lang] + asks[turns // 3 :])[:turns]
    return [rng.choice(pool) for _ in range(turns)]


def busiest_arrivals(sent_at: list[float], window: float = 0.1) -> int:
    """The most messages sent within any `window` seconds (customers who wait a fixed time after each reply drift
    into waves: those answered together come back together)."""
    times, most, start = sorted(sent_at), 0, 0
    for end, at in enumerate(times):
        while at - times[start] >= window:
            start += 1
        most = max(most, end - start + 1)
    return most


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))] if ordered else float("nan")


async def customer(client, index, turns, think, rng, latencies, errors, sent, turns_seen) -> None:
    async with client.post("/api/v1/conversations", json={"lang": ("en", "ja", "ko")[index % 3]}) as created:
        if created.status != 201:
            errors.append(f"create {created.status}")
            return
        conversation = await created.json()
    headers = {"Authorization": f"Bearer {conversation['token']}"}
    sent[conversation["id"]] = []
    await asyncio.sleep(rng.random() * think)  # customers do not all arrive in the same instant
    state = "bot"  # who has the conversation as the message is sent: the bot, or an agent (the API answers alone)
    for text in script(index, turns, rng):
        started = time.perf_counter()
        try:
            path = f"/api/v1/conversations/{conversation['id']}/messages"
            async with client.post(path, json={"text": text}, headers=headers) as response:
                reply = await response.json(content_type=None)
            latencies.append((time.perf_counter() - started) * 1000)
            turns_seen.append((started, state, latencies[-1]))
            sent[conversation["id"]].append(text)
            if response.status != 200:
                errors.append(f"message {response.status}")
            else:
                state = "agent" if reply.get("state") in ("waiting_agent", "agent") else "bot"
        except (TimeoutError, aiohttp.ClientError) as error:
            errors.append(type(error).__name__)
        await asyncio.sleep(think)


async def rasa_baseline(rasa_url: str, n: int, rng: random.Random) -> list[float]:
    """The same kind of question sent straight to Rasa's REST channel, one at a time."""
    latencies = []
    async with aiohttp.ClientSession(base_url=rasa_url, timeout=aiohttp.ClientTimeout(total=60)) as client:
        for i in range(n):
            question = rng.choice(QUESTIONS)
            started = time.perf_counter()
            body = {"sender": f"baseline-{i}", "message": question["query"]}
            async with client.post("/webhooks/rest/webhook", json=body) as response:
                await response.read()
            latencies.append((time.perf_counter() - started) * 1000)
    return latencies


async def run_load(system: System, conversations: int, turns: int, think: float, seed: int) -> dict:
    rng = random.Random(seed)
    baseline = await rasa_baseline(system.rasa_url, 30, rng)
    latencies: list[float] = []
    turns_seen: list[tuple[float, str, float]] = []  # (sent at, who had the conversation, reply ms)
    errors: list[str] = []
    sent: dict[str, list[str]] = {}
    rss_peak = {name: 0.0 for name in system.processes}

    async def sample_memory() -> None:
        while True:
            for name, process in system.processes.items():
                rss_peak[name] = max(rss_peak[name], rss_mb(process.pid))
            await asyncio.sleep(1)

    sampler = asyncio.create_task(sample_memory())
    connector = aiohttp.TCPConnector(limit=conversations + 10)
    pids = {**{name: process.pid for name, process in system.processes.items()}, "load client": os.getpid()}
    # the servers with the processes they started; the load client alone (the servers are its children)
    cpu_before = {name: cpu_seconds(pid, children=name != "load client") for name, pid in pids.items()}
    started = time.perf_counter()
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(base_url=system.api_url, timeout=timeout, connector=connector) as client:
        await asyncio.gather(
            *(
                customer(client, i, turns, think, random.Random(seed + i), latencies, errors, sent, turns_seen)
                for i in range(conversations)
            )
        )
    elapsed = time.perf_counter() - started
    cpu = {name: cpu_seconds(pid, children=name != "load client") - cpu_before[name] for name, pid in pids.items()}
    sampler.cancel()
    return {
        "baseline": baseline,
        "latencies": latencies,
        "turns": turns_seen,
        "errors": errors,
        "sent": sent,
        "rss_peak_mb": rss_peak,
        "cpu_s": cpu,
        "elapsed_s": elapsed,
    }


def check_database(system: System, sent: dict[str, list[str]]) -> dict:
    """Every customer message stored exactly once, in order; at most one ticket per conversation."""
    missing = duplicated = 0
    with session_factory(make_engine(system.settings.db_url))() as session:
        for conversation_id, texts in sent.items():
            stored = list(
                session.scalars(
                    select(Message.text)
                    .where(Message.conversation_id == conversation_id, Message.sender == "customer")
                    .order_by(Message.seq)
                )
            )
            missing += max(0, len(texts) - len(stored))
            duplicated += max(0, len(stored) - len(texts))
        tickets_per_conversation = list(
            session.execute(select(Ticket.conversation_id, func.count()).group_by(Ticket.conversation_id))
        )
    handoffs = sum(1 for i in range(len(sent)) if i % 3 == 0)
    return {
        "customer_messages_sent": sum(len(t) for t in sent.values()),
        "missing": missing,
        "duplicated": duplicated,
        "tickets": len(tickets_per_conversation),
        "handoff_conversations": handoffs,
        "conversations_with_two_tickets": sum(1 for _, n in tickets_per_conversation if n > 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conversations", type=int, default=50)
    parser.add_argument("--turns", type=int, default=20)
    parser.add_argument("--think", type=float, default=2.0, help="seconds between a customer's turns")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the figures here")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="tierzero-load-"))
    os.environ.update(
        TIERZERO_MESSAGES_PER_MINUTE_PER_ADDRESS="100000", TIERZERO_CONVERSATIONS_PER_HOUR_PER_ADDRESS="100000"
    )
    settings = Settings(data_dir=data_dir, port=free_port(), rasa_port=free_port(MAX_RASA_PROCESSES))
    create_tables(make_engine(settings.db_url))
    system = start(settings, log_dir=data_dir / "logs")
    try:
        outcome = asyncio.run(run_load(system, args.conversations, args.turns, args.think, args.seed))
        integrity = check_database(system, outcome["sent"])
    finally:
        system.stop()
        shutil.rmtree(data_dir, ignore_errors=True)

    latencies, baseline = outcome["latencies"], outcome["baseline"]
    report = {
        "setup": {
            "conversations": args.conversations,
            "turns": args.turns,
            "think_s": args.think,
            "cores": os.cpu_count(),
            "embedding_model": Settings().embedding_model,
        },
        "api_reply_ms": {p: round(percentile(latencies, q), 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))},
        # the bot's turns, and the messages sent while an agent has the conversation (the API answers those alone)
        "api_reply_ms_by_holder": {
            holder: {
                "requests": len(those),
                **{p: round(percentile(those, q), 1) for p, q in (("p50", 50), ("p95", 95), ("p99", 99))},
            }
            for holder in ("bot", "agent")
            if (those := [ms for _, who, ms in outcome["turns"] if who == holder])
        },
        "busiest_100ms_arrivals": busiest_arrivals([at for at, _, _ in outcome["turns"]]),
        "baseline_rasa_direct_ms": {p: round(percentile(baseline, q), 1) for p, q in (("p50", 50), ("p95", 95))},
        "requests": len(latencies),
        "throughput_rps": round(len(latencies) / outcome["elapsed_s"], 1),
        "errors": len(outcome["errors"]),
        "error_kinds": sorted(set(outcome["errors"])),
        "rss_peak_mb": {k: round(v) for k, v in outcome["rss_peak_mb"].items()},
        # CPU each process used during the conversations, per customer message, and as a share of one core
        "cpu_ms_per_request": {k: round(v * 1000 / max(1, len(latencies)), 1) for k, v in outcome["cpu_s"].items()},
        "cpu_cores_busy": {k: round(v / outcome["elapsed_s"], 2) for k, v in outcome["cpu_s"].items()},
        "integrity": integrity,
        "mean_ms": round(statistics.fmean(latencies), 1) if latencies else None,
    }
    print(f"{'':34}{'p50':>8}{'p95':>8}{'p99':>8}")
    api = report["api_reply_ms"]
    print(f"{'API reply under load (ms)':34}{api['p50']:>8}{api['p95']:>8}{api['p99']:>8}")
    for holder, name in (("bot", "  the bot's turns"), ("agent", "  while an agent has it")):
        if part := report["api_reply_ms_by_holder"].get(holder):
            label = f"{name} ({part['requests']})"
            print(f"{label:34}{part['p50']:>8}{part['p95']:>8}{part['p99']:>8}")
    base = report["baseline_rasa_direct_ms"]
    print(f"{'baseline: Rasa REST direct, 1 at a time':34}{base['p50']:>8}{base['p95']:>8}{'':>8}")
    print(
        f"requests {report['requests']}, {report['throughput_rps']} req/s "
        f"(busiest 100 ms: {report['busiest_100ms_arrivals']}), errors {report['errors']}"
    )
    print(f"peak RSS (MB): {report['rss_peak_mb']}")
    print(f"CPU ms per request: {report['cpu_ms_per_request']}, cores busy: {report['cpu_cores_busy']}")
    print(f"integrity: {integrity}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2) + "\n")
    lost = integrity["missing"] + integrity["duplicated"] + integrity["conversations_with_two_tickets"]
    return 1 if lost else 0


if __name__ == "__main__":
    raise SystemExit(main())
