"""The knowledge base's tables: articles and their revision history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

ARTICLE_STATUSES = ("draft", "published", "archived")


def utcnow() -> datetime:
    return datetime.now(UTC)


class KBBase(DeclarativeBase):
    """Declarative base for the knowledge base's tables (the API creates them beside the handoff tables)."""


class Article(KBBase):
    """A help article in one language; translations share a `group`."""

    __tablename__ = "kb_articles"

    id: Mapped[str] = mapped_column(String(120), primary_key=True)
    group: Mapped[str] = mapped_column(String(120), index=True)
    lang: Mapped[str] = mapped_column(String(8), index=True)
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    questions: Mapped[list[str]] = mapped_column(JSON, default=list)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    topic: Mapped[str | None] = mapped_column(String(40))
    product: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(16), default="draft", index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    source_tickets: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revisions: Mapped[list[ArticleRevision]] = relationship(
        back_populates="article", order_by="ArticleRevision.version", cascade="all, delete-orphan"
    )

    def snapshot(self) -> dict[str, Any]:
        """The editable fields, as stored in a revision."""
        return {
            "title": self.title,
            "body": self.body,
            "lang": self.lang,
            "group": self.group,
            "questions": list(self.questions),
            "tags": list(self.tags),
            "topic": self.topic,
            "product": self.product,
            "status": self.status,
        }


class ArticleRevision(KBBase):
    """Who changed an article, when, and what it looked like afterwards."""

    __tablename__ = "kb_article_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    article_id: Mapped[str] = mapped_column(ForeignKey("kb_articles.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    author: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    change: Mapped[str] = mapped_column(String(300))
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    article: Mapped[Article] = relationship(back_populates="revisions")
