"""Article input schemas and the article store: create, edit, publish and archive, with a revision per change."""

from __future__ import annotations

import json
import re
import unicodedata
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from kb.lang import Lang
from kb.models import Article, ArticleRevision, utcnow

MAX_BODY_CHARS = 50_000
ArticleStatus = Literal["draft", "published", "archived"]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]{0,119}$")]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ArticleError(ValueError):
    """An article operation that cannot be done; the message says why, in words an editor can act on."""


class ArticleNotFound(ArticleError):
    """No article has that id."""


class ArticleConflict(ArticleError):
    """The operation clashes with what is stored (a duplicate id, for instance)."""


def _clean(text: str) -> str:
    text = unicodedata.normalize("NFC", text)
    return "".join(ch for ch in text if ch in "\n\t" or unicodedata.category(ch)[0] != "C")


def clean_text(value: str) -> str:
    """An editor's text in normal form without control characters (tabs and line breaks kept), stripped; a
    ValueError if nothing is left."""
    cleaned = _clean(value).strip()
    if not cleaned:
        raise ValueError("must not be empty (or only control characters)")
    return cleaned


class ArticleFields(BaseModel):
    """Fields an editor may set on create or update."""

    model_config = ConfigDict(extra="forbid")

    title: ShortText | None = None
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)] | None = None
    lang: Lang | None = None
    group: Slug | None = None
    questions: Annotated[list[ShortText], Field(max_length=100)] | None = None
    tags: Annotated[list[Tag], Field(max_length=30)] | None = None
    topic: Annotated[str, StringConstraints(max_length=40)] | None = None
    product: Annotated[str, StringConstraints(max_length=80)] | None = None

    @field_validator("title", "body")
    @classmethod
    def _no_control_characters(cls, value: str | None) -> str | None:
        return None if value is None else clean_text(value)

    @field_validator("topic", "product")
    @classmethod
    def _no_control_characters_in_labels(cls, value: str | None) -> str | None:
        return None if value is None else _clean(value).strip()

    @field_validator("questions", "tags")
    @classmethod
    def _no_control_characters_in_items(cls, values: list[str] | None) -> list[str] | None:
        return None if values is None else [clean_text(value) for value in values]


class ArticleCreate(ArticleFields):
    """A new article: title, body and language are required; it starts as a draft unless published at once
    (an import may also bring back an archived article, as exported)."""

    id: Slug | None = None
    title: ShortText
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_BODY_CHARS)]
    lang: Lang
    status: ArticleStatus = "draft"


class ArticleUpdate(ArticleFields):
    """A partial edit; fields left out keep their value."""


def slugify(title: str) -> str:
    """An id from a title (ASCII letters and digits), with a random suffix when the title has none."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:60]
    return f"{slug}-{uuid.uuid4().hex[:6]}" if slug else f"article-{uuid.uuid4().hex[:10]}"


def _record(article: Article, author: str, change: str) -> None:
    article.revisions.append(
        ArticleRevision(version=article.version, author=author, change=change[:300], snapshot=article.snapshot())
    )


def get_article(session: Session, article_id: str) -> Article:
    """The article with this id, or ArticleNotFound."""
    article = session.get(Article, article_id)
    if article is None:
        raise ArticleNotFound(f"no article with id {article_id!r}")
    return article


def create_article(session: Session, data: ArticleCreate, author: str) -> Article:
    """Store a new article (not committed) with its first revision."""
    article_id = data.id or slugify(data.title)
    if session.get(Article, article_id) is not None:
        raise ArticleConflict(f"an article with id {article_id!r} already exists: choose another id or update it")
    article = Article(
        id=article_id,
        group=data.group or article_id,
        lang=data.lang,
        title=data.title,
        body=data.body,
        questions=list(dict.fromkeys(data.questions or [])),
        tags=list(dict.fromkeys(data.tags or [])),
        topic=data.topic,
        product=data.product,
        status=data.status,
        version=1,
    )
    session.add(article)
    _record(article, author, "created")
    return article


def update_article(session: Session, article_id: str, changes: ArticleUpdate, author: str) -> Article:
    """Apply a partial edit (not committed); a new version is recorded only if something changed."""
    article = get_article(session, article_id)
    updates = changes.model_dump(exclude_unset=True, exclude_none=True)
    changed = [name for name, value in updates.items() if getattr(article, name) != value]
    if not changed:
        return article
    for name in changed:
        setattr(article, name, list(dict.fromkeys(updates[name])) if name in ("questions", "tags") else updates[name])
    article.version += 1
    article.updated_at = utcnow()
    _record(article, author, "edited " + ", ".join(changed))
    return article


def set_status(session: Session, article_id: str, status: str, author: str) -> Article:
    """Publish, archive or return an article to draft (not committed)."""
    if status not in ("draft", "published", "archived"):
        raise ArticleError(f"unknown status {status!r}: use draft, published or archived")
    article = get_article(session, article_id)
    if article.status != status:
        article.status = status
        article.version += 1
        article.updated_at = utcnow()
        _record(article, author, status)
    return article


def list_articles(
    session: Session,
    *,
    lang: str | None = None,
    status: str | None = None,
    topic: str | None = None,
    product: str | None = None,
    tag: str | None = None,
    group: str | None = None,
    query: str | None = None,
    limit: int | None = 50,
    offset: int = 0,
) -> list[Article]:
    """Articles matching every filter given (`query`: words in the title), newest first; `limit` None: all."""
    statement = select(Article)
    for column, value in ((Article.lang, lang), (Article.status, status), (Article.topic, topic)):
        if value:
            statement = statement.where(column == value)
    for column, value in ((Article.product, product), (Article.group, group)):
        if value:
            statement = statement.where(column == value)
    if tag:
        # tags are stored as a JSON list; its text holds the tag as a quoted JSON string
        statement = statement.where(cast(Article.tags, String).contains(json.dumps(tag), autoescape=True))
    if query:
        statement = statement.where(Article.title.contains(query, autoescape=True))
    statement = statement.order_by(Article.updated_at.desc(), Article.id).offset(offset)
    if limit is not None:
        statement = statement.limit(limit)
    return list(session.scalars(statement))
