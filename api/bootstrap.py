"""Bringing the stores up: tables created, the demo KB loaded into an empty database, the index in step."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.db import create_tables, make_engine, session_factory
from api.settings import Settings
from kb import KnowledgeBase, load_embedder
from kb.articles import create_article
from kb.importer import read_folder
from kb.models import Article

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


def open_stores(settings: Settings) -> tuple[sessionmaker[Session], KnowledgeBase]:
    """Create tables, load the demo KB when asked, and return sessions and a synced knowledge base."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.db_url, settings.sqlite_synchronous)
    create_tables(engine)
    sessions = session_factory(engine)
    if settings.load_demo_kb:
        count = load_demo_kb(sessions, settings.demo_kb_dir)
        if count:
            logger.info("loaded %d demo articles from %s", count, settings.demo_kb_dir)
    embedder = load_embedder(settings.embedding_model, settings.embedding_threads)
    kb = KnowledgeBase(sessions, embedder, settings.index_dir)
    changed = kb.sync()
    logger.info(
        "knowledge base ready: %d articles, %d passages (%d re-embedded)", len(kb.articles), len(kb.vectors), changed
    )
    return sessions, kb
