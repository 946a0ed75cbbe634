"""`tierzero`: run the system, manage access tokens, and look after the knowledge base."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time

from tqdm import tqdm

from api.settings import Settings


def _progress(description: str):
    bar = tqdm(desc=description, unit="article")

    def update(done: int, total: int) -> None:
        bar.total = total
        bar.n = done
        bar.refresh()

    return bar, update


def cmd_run(args: argparse.Namespace) -> int:
    from api.auth import create_token, revoke_tokens
    from api.db import create_tables, make_engine, session_factory
    from api.launcher import LaunchError, start

    overrides = {k: v for k, v in {"port": args.port, "rasa_port": args.rasa_port}.items() if v}
    settings = Settings(**overrides)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    create_tables(engine)
    with session_factory(engine)() as session:
        tokens = {}
        for role in ("agent", "editor"):
            revoke_tokens(session, f"demo-{role}")
            tokens[role] = create_token(session, role, f"demo-{role}")
        session.commit()
    print(">> starting the Rasa server and the API …", flush=True)
    try:
        system = start(settings)
    except LaunchError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(
        f"""
Tier Zero is running.
  Demo chat page   {system.api_url}/
  API docs         {system.api_url}/docs
  Demo agent token   {tokens["agent"]}
  Demo editor token  {tokens["editor"]}
  Logs             {system.log_dir}
Press Ctrl-C to stop.""",
        flush=True,
    )
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    while not stopping:
        for name, process in system.processes.items():
            if process.poll() is not None:
                print(f"error: {name} stopped (code {process.returncode}); see {system.log_dir}", file=sys.stderr)
                stopping = True
        time.sleep(0.5)
    print(">> stopping …", flush=True)
    system.stop()
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    from api.auth import create_token, revoke_tokens
    from api.db import create_tables, make_engine, session_factory

    settings = Settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url)
    create_tables(engine)
    with session_factory(engine)() as session:
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


def cmd_kb(args: argparse.Namespace) -> int:
    from api.bootstrap import open_stores

    settings = Settings()
    if args.kb_command == "reindex":
        _, kb = open_stores(settings)
        bar, update = _progress("re-embedding")
        count = kb.rebuild(update)
        bar.close()
        print(f"reindexed {count} article(s): {len(kb.vectors)} passages with {kb.embedder.name}")
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

    kb = commands.add_parser("kb", help="knowledge base maintenance")
    kb_commands = kb.add_subparsers(dest="kb_command", required=True)
    kb_commands.add_parser("reindex", help="re-embed every published article (after a model change)")
    kb.set_defaults(func=cmd_kb)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    for noisy in ("httpx", "faiss.loader"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
