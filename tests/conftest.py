"""Shared fixtures: the real embedding model, the demo knowledge base indexed once per run, fresh databases."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from api.bootstrap import load_demo_kb
from api.db import create_tables, make_engine, session_factory
from kb import DEFAULT_MODEL, KnowledgeBase, load_embedder

ROOT = Path(__file__).resolve().parent.parent
pytest_plugins = ["tests.webhook_receiver"]  # the `receiver` fixture
DEMO_KB = ROOT / "kb" / "demo"


def pytest_addoption(parser):
    parser.addoption(
        "--database",
        choices=("sqlite", "postgresql"),
        default="sqlite",
        help="run the suite on SQLite (default) or on a throwaway PostgreSQL server",
    )


@pytest.fixture(scope="session")
def fresh_database(request):
    """A function giving the URL of a new empty database for a test, or None for the default SQLite file."""
    if request.config.getoption("--database") != "postgresql":
        yield lambda: None
        return
    from tests.postgres import PostgresServer

    server = PostgresServer()
    yield server.new_database
    server.stop()


@pytest.fixture(autouse=True)
def _database_per_test(fresh_database, monkeypatch):
    """With --database postgresql, every Settings() a test builds points at its own new database."""
    url = fresh_database()
    if url:
        monkeypatch.setenv("TIERZERO_DATABASE_URL", url)
    return url


@pytest.fixture(scope="session")
def embedder():
    return load_embedder(DEFAULT_MODEL)


@pytest.fixture(scope="session")
def demo_index(tmp_path_factory, embedder) -> Path:
    """The demo KB embedded once per test run; tests copy this folder instead of embedding again."""
    folder = tmp_path_factory.mktemp("demo-index")
    engine = make_engine(f"sqlite:///{folder / 'seed.db'}")
    create_tables(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    load_demo_kb(sessions, DEMO_KB)
    KnowledgeBase(sessions, embedder, folder / "index").sync()
    return folder / "index"


@pytest.fixture
def data_dir(tmp_path, demo_index) -> Path:
    """A fresh data folder (database and index) whose index already holds the demo KB."""
    shutil.copytree(demo_index, tmp_path / "index")
    return tmp_path


@pytest.fixture
def sessions(tmp_path, _database_per_test):
    engine = create_engine(_database_per_test or f"sqlite:///{tmp_path / 'unit.db'}")
    create_tables(engine)
    return session_factory(engine)


@pytest.fixture(scope="session")
def demo_kb(tmp_path_factory, embedder, demo_index) -> KnowledgeBase:
    """A knowledge base over the demo articles (shared, read-only: tests must not edit it)."""
    folder = tmp_path_factory.mktemp("demo-kb")
    engine = make_engine(f"sqlite:///{folder / 'kb.db'}")
    create_tables(engine)
    sessions = sessionmaker(engine, expire_on_commit=False)
    load_demo_kb(sessions, DEMO_KB)
    shutil.copytree(demo_index, folder / "index")
    kb = KnowledgeBase(sessions, embedder, folder / "index")
    assert kb.sync() == 0, "the copied index should already hold every demo article"
    return kb


@pytest.fixture(scope="session")
def demo_questions() -> list[dict]:
    lines = (ROOT / "tests" / "data" / "demo_questions.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]
