"""A Context over a fresh database (the `sessions` fixture), a knowledge base of its own with two published
articles, the real policies and a clock the tests move: the use cases run on it directly, without HTTP."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from handoff import ManualClock, load_policies
from kb import KnowledgeBase
from kb.articles import ArticleCreate, create_article
from usecases.context import Context

POLICIES = Path(__file__).resolve().parents[2] / "config" / "policies.yml"
PUBLIC_URL = "https://help.example"
ARTICLES = [
    ("gift-cards-en", "How to redeem a gift card", "Enter the gift card code at checkout under Payment."),
    ("shipping-en", "Shipping times", "Standard shipping takes 3 to 5 business days."),
]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2025, 1, 10, 7, 0, tzinfo=UTC))  # a Friday, 16:00 in Tokyo


@pytest.fixture
def ctx(sessions, embedder, tmp_path, clock) -> Context:
    with sessions() as session:
        for article_id, title, body in ARTICLES:
            create_article(
                session, ArticleCreate(id=article_id, lang="en", title=title, body=body, status="published"), "t"
            )
        session.commit()
    kb = KnowledgeBase(sessions, embedder, tmp_path / "index")
    kb.sync()
    return Context(sessions=sessions, kb=kb, policies=load_policies(POLICIES), public_url=PUBLIC_URL, clock=clock)
