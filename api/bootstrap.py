"""Bringing the stores up: tables created, the demo KB loaded into an empty database, the index in step; and the
`Context` the use cases work with, for the app (api/main.py) and for a command (api/cli.py)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import create_tables, make_engine, session_factory
from api.files import private_dir, private_sqlite, private_tree
from api.settings import Settings
from handoff import Clock, SystemClock, load_policies
from kb import KnowledgeBase, load_embedder
from kb.articles import create_article
from kb.importer import read_folder
from kb.models import Article
from usecases.context import Context

logger = logging.getLogger(__name__)


def load_demo_kb(sessions: Callable[[], Session], folder: Path) -> int:
    """Import the demo articles if the knowledge base is empty; returns how many were imported."""
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(Article)):
            return 0
        imported = read_folder(folder)
        for item in imported:
            create_article(session, item.article, author="demo")
        session.commit()
        return len(imported)


def open_database(settings: Settings) -> sessionmaker[Session]:
    """The database's sessions, its tables created (or brought up to date) first; the data folder and a SQLite
    database owner-only (api/files.py)."""
    private_dir(settings.data_dir)
    private_sqlite(settings.db_url)
    engine = make_engine(settings.db_url, settings.sqlite_synchronous)
    create_tables(engine)
    return session_factory(engine)


def open_stores(settings: Settings) -> tuple[sessionmaker[Session], KnowledgeBase]:
    """Create tables, load the demo KB when asked, and return sessions and a synced knowledge base."""
    sessions = open_database(settings)
    if settings.load_demo_kb:
        count = load_demo_kb(sessions, settings.demo_kb_dir)
        if count:
            logger.info("loaded %d demo articles from %s", count, settings.demo_kb_dir)
    embedder = load_embedder(settings.embedding_model, settings.embedding_threads)
    private_tree(settings.index_dir)  # one an older release saved readable; each save writes it owner-only
    kb = KnowledgeBase(sessions, embedder, settings.index_dir)
    changed = kb.sync()
    logger.info(
        "knowledge base ready: %d articles, %d passages (%d re-embedded)", len(kb.articles), len(kb.vectors), changed
    )
    return sessions, kb


def open_context(settings: Settings, clock: Clock | None = None) -> Context:
    """What the use cases work with, as the app builds it: the policies (a bad file stops with its line and
    reason; a calendar whose holidays end within the year is logged), the stores and a synced knowledge base, and
    `clock` (the system clock unless given)."""
    clock = clock or SystemClock()
    policies = load_policies(settings.policies_file, today=clock.now().date())
    sessions, kb = open_stores(settings)
    return Context(sessions=sessions, kb=kb, policies=policies, public_url=settings.base_url, clock=clock)
