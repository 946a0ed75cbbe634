"""`tierzero`: run the system, manage access tokens, and look after the knowledge base."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from datetime import date
from pathlib import Path

from tqdm import tqdm

from api.settings import Settings


def _progress(description: str):
    bar = tqdm(desc=description, unit="article")

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update


class _ProgressWhenNeeded:
    """A progress bar shown only once there is progress to show (an import that changed nothing embeds nothing)."""

    def __init__(self, description: str) -> None:
        self.description = description
        self.bar: tqdm | None = None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = tqdm(desc=self.description, unit="article")
        self.bar.total, self.bar.n = total, done
        self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def cmd_run(args: argparse.Namespace) -> int:
    from api.auth import create_token, revoke_tokens
    from api.bootstrap import open_database
    from api.launcher import LaunchError, Supervisor, start

    overrides = {k: v for k, v in {"port": args.port, "rasa_port": args.rasa_port}.items() if v}
    settings = Settings(**overrides)
    with open_database(settings)() as session:
        tokens = {}
        for role in ("agent", "editor"):
            revoke_tokens(session, f"demo-{role}")
            tokens[role] = create_token(session, role, f"demo-{role}")
        session.commit()
    print(f">> starting the API and {settings.rasa_processes} Rasa server(s) …", flush=True)
    try:
        system = start(settings)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    signed_in = f"\n  Signed in (demo)   {system.api_url}/demo/signed-in" if settings.demo_customer else ""
    print(
        f"""
Tier Zero is running.
  Demo chat page     {system.api_url}/{signed_in}
  Agent console      {system.api_url}/console
  KB editor          {system.api_url}/editor
  API docs           {system.api_url}/docs
  Demo agent token   {tokens["agent"]}
  Demo editor token  {tokens["editor"]}
  Logs               {system.log_dir}
Press Ctrl-C to stop.""",
        flush=True,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    supervisor, code = Supervisor(system), 0
    while not stopping:
        try:
            for line in supervisor.check():
                print(f">> {line}", file=sys.stderr, flush=True)
        except LaunchError as error:
            print(f"error: {error}", file=sys.stderr)
            stopping, code = True, 1
        time.sleep(0.5)
    print(">> stopping …", flush=True)
    system.stop()
    return code


def cmd_token(args: argparse.Namespace) -> int:
    from api.auth import create_token, revoke_tokens
    from api.bootstrap import open_database

    with open_database(Settings())() as session:
        if args.token_command == "create":
            try:
                token = create_token(session, args.role, args.name, days=args.days)
            except ValueError as error:
                print(f"error: {error}", file=sys.stderr)
                return 2
            session.commit()
            print(token)
        else:
            count = revoke_tokens(session, args.name)
            session.commit()
            print(f"revoked {count} token(s) of {args.name!r}")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from api.launcher import find_rasa
    from api.rasa_model import ensure_model

    print(ensure_model(find_rasa()))
    return 0


def cmd_analytics(args: argparse.Namespace) -> int:
    from api.bootstrap import open_database
    from api.text_report import render_text
    from handoff.clock import SystemClock
    from usecases.errors import Invalid
    from usecases.reports import Analytics

    analytics = Analytics(open_database(Settings()), SystemClock())  # the database only: no model, no index
    try:
        report = analytics.report(args.since, args.until, args.tz)
    except Invalid as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(report.model_dump_json(indent=2) if args.json else render_text(report))
    return 0


def cmd_kb(args: argparse.Namespace) -> int:
    if args.kb_command == "eval-missing":
        print("error: `tierzero kb eval` runs from a checkout of the repository (it needs bench/)", file=sys.stderr)
        return 2
    if args.kb_command == "eval":
        from bench.kb_eval import run as run_eval

        return run_eval(args)
    from api.bootstrap import open_stores

    settings = Settings()
    if args.kb_command == "reindex":
        _, kb = open_stores(settings)
        bar, update = _progress("re-embedding")
        count = kb.rebuild(update)
        bar.close()
        print(f"reindexed {count} article(s): {len(kb.vectors)} passages with {kb.embedder.name}")
    elif args.kb_command == "import":
        return _kb_import(settings, args.path, args.dry_run)
    elif args.kb_command == "calibrate":
        return _kb_calibrate(settings, args)
    elif args.kb_command == "gaps":
        return _kb_gaps(settings, args)
    return 0


def _kb_import(settings: Settings, path, dry_run: bool) -> int:
    from api.bootstrap import open_context
    from kb.importer import ArticleImportError, read_sources
    from usecases.articles import ArticleDesk
    from usecases.errors import UseCaseError

    try:
        sources = read_sources(path)
    except (ArticleImportError, OSError, UnicodeDecodeError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    desk = ArticleDesk(open_context(settings))
    embedding = _ProgressWhenNeeded("embedding")
    try:
        reading = tqdm(sources, desc="reading", unit="file")
        report = desk.import_files(reading, "cli", dry_run=dry_run, progress=embedding)
    except UseCaseError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        embedding.close()
    verb = "would " if dry_run else ""
    print(
        f"{verb}create {len(report.created)}, {verb}update {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}, files refused {len(report.problems)}"
    )
    for name, ids in (("create", report.created), ("update", report.updated)):
        if ids and dry_run:
            print(f"  {name}: {', '.join(ids)}")
    for problem in report.problems:
        print(f"error: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


def _kb_calibrate(settings: Settings, args: argparse.Namespace) -> int:
    import json

    from api.bootstrap import open_stores
    from kb.calibrate import fit_policy, labelled_outcomes
    from kb.search import POLICY_FILE, DecisionPolicy

    if not 0 <= args.target_wrong < 1 or (args.confidence is not None and not 0 < args.confidence < 1):
        print("error: --target-wrong must be at least 0 and below 1, --confidence above 0 and below 1", file=sys.stderr)
        return 2
    try:
        lines = args.labelled.read_text(encoding="utf-8").splitlines()
        rows = [json.loads(line) for line in lines if line.strip()]
    except (OSError, ValueError) as error:
        print(f"error: cannot read {args.labelled}: {error}", file=sys.stderr)
        return 2
    _, kb = open_stores(settings)
    kb.train_classifier()  # now, not in the background: every question is searched as the API will search it
    bar, update = _progress("searching")
    bar.unit = "question"
    outcomes = labelled_outcomes(kb, rows, update)
    bar.close()
    policy, fits = fit_policy(
        outcomes, base=DecisionPolicy(), target_wrong=args.target_wrong, confidence=args.confidence
    )
    print("lang  questions  answer  clarify  margin  answered  wrong/answered")
    for fit in fits:
        note = "" if fit.fitted else "  (too few questions: default kept)"
        if fit.fitted and not fit.answered and args.confidence is not None:
            note = (
                f"  (answers nothing: {fit.questions} questions cannot show the target at this confidence; label more)"
            )
        print(
            f"{fit.lang:4}  {fit.questions:9}  {fit.answer_threshold:.4f}  {fit.clarify_threshold:.4f}  "
            f"{fit.margin:.4f}  {100 * fit.answered:7.1f}%  {100 * fit.wrong_among_answered:13.1f}%{note}"
        )
    print(f"classifier probability weight: {policy.probability_weight}")
    target = settings.data_dir / POLICY_FILE
    if args.dry_run:
        print(f"dry run: {target} not written")
    else:
        policy.save(target)
        print(f"wrote {target}: the API uses it from its next start")
    return 0


def _kb_gaps(settings: Settings, args: argparse.Namespace) -> int:
    from api.bootstrap import open_context
    from kb.gaps import DEFAULT_CLUSTER_SIMILARITY
    from usecases.reports import Reports

    if not 1 <= args.days <= 365 or args.min_count < 1:
        print("error: --days must be 1 to 365 and --min-count at least 1", file=sys.stderr)
        return 2
    report = Reports(open_context(settings)).knowledge_gaps(args.days, args.min_count, DEFAULT_CLUSTER_SIMILARITY)
    if args.json:
        print(report.model_dump_json(indent=2))
        return 0
    recent = " (only the most recent were clustered)" if report.truncated else ""
    print(f"{report.questions} unanswered question(s) since {report.since:%Y-%m-%d}{recent}")
    for cluster in report.clusters:
        languages = ", ".join(f"{lang} {count}" for lang, count in cluster.languages.items())
        near = cluster.nearest
        nearest = f"nearest {near.id} ({near.similarity:.2f}, bot would {near.decision})" if near else "no article"
        print(f"{cluster.count:5}  {cluster.title}  [{languages}; {nearest}]")
        for sample in cluster.samples[1:]:
            print(f"         {sample}")
    for pair in report.near_duplicates:
        print(f"near duplicates ({pair.similarity:.2f}): {pair.first.id} and {pair.second.id}")
    for entry in report.overridden:
        print(
            f"overridden {entry.overridden} of {entry.shown} times: {entry.article_id} "
            f"(customer went to a person {entry.escalated}, agent linked another article {entry.replaced})"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tierzero", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the Rasa server and the API, print the URL; Ctrl-C stops")
    run.add_argument("--port", type=int, help="API port (default 8000, or TIERZERO_PORT)")
    run.add_argument("--rasa-port", type=int, help="Rasa port (default 5005, or TIERZERO_RASA_PORT)")
    run.set_defaults(func=cmd_run)

    token = commands.add_parser("token", help="create or revoke staff access tokens")
    token_commands = token.add_subparsers(dest="token_command", required=True)
    create = token_commands.add_parser("create", help="print a new token (stored hashed; shown once)")
    create.add_argument("--role", required=True, choices=["agent", "editor", "admin"])
    create.add_argument("--name", required=True, help="who will use it")
    create.add_argument("--days", type=int, help="expire after this many days")
    revoke = token_commands.add_parser("revoke", help="revoke every token of a name")
    revoke.add_argument("--name", required=True)
    token.set_defaults(func=cmd_token)

    train = commands.add_parser("train", help="train the Rasa model if its inputs changed; print its path")
    train.set_defaults(func=cmd_train)

    analytics = commands.add_parser("analytics", help="deflection, escalations, SLA breaches and reply times per day")
    analytics.add_argument("--since", type=date.fromisoformat, help="first day, YYYY-MM-DD (default: 30 days ago)")
    analytics.add_argument("--until", type=date.fromisoformat, help="last day, included (default: today)")
    analytics.add_argument("--tz", default="UTC", help="time zone the days are counted in (default UTC)")
    analytics.add_argument("--json", action="store_true", help="print the report as JSON")
    analytics.set_defaults(func=cmd_analytics)

    kb = commands.add_parser("kb", help="knowledge base maintenance")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    kb_commands.add_parser("reindex", help="re-embed every published article (after a model change)")
    kb_import = kb_commands.add_parser("import", help="import articles from a Markdown/CSV/JSON file or folder")
    kb_import.add_argument("path", type=Path, help="a .md, .csv or .json file, or a folder of them")
    kb_import.add_argument("--dry-run", action="store_true", help="report what would change; store nothing")
    calibrate = kb_commands.add_parser(
        "calibrate", help="fit the answer/clarify thresholds per language on labelled questions"
    )
    calibrate.add_argument(
        "--labelled",
        type=Path,
        required=True,
        help="JSONL of {query, lang, group or article_id}; group null = out of scope",
    )
    calibrate.add_argument("--target-wrong", type=float, default=0.03, help="wrong answers allowed among answers")
    calibrate.add_argument(
        "--confidence",
        type=float,
        help="e.g. 0.95: answer only where the upper confidence bound of the wrong rate meets the target (stricter "
        "with few labelled questions)",
    )
    calibrate.add_argument("--dry-run", action="store_true", help="print the fit; do not write the policy")
    gaps = kb_commands.add_parser(
        "gaps", help="cluster the questions the bot could not answer; flag duplicate and overridden articles"
    )
    gaps.add_argument("--days", type=int, default=30, help="how many days back to look (1-365, default 30)")
    gaps.add_argument("--min-count", type=int, default=2, help="leave out clusters seen fewer times (default 2)")
    gaps.add_argument("--json", action="store_true", help="print the report as JSON (as the API returns it)")
    kb_eval = kb_commands.add_parser("eval", help="benchmark retrieval and the decision on a data set (bench/)")
    try:
        from bench.options import add_arguments as add_eval_arguments
    except ImportError:  # an installed copy without the checkout's bench/ folder
        kb_eval.set_defaults(kb_command="eval-missing")
    else:
        add_eval_arguments(kb_eval)
    kb.set_defaults(func=cmd_kb)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
