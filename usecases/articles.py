"""The editor's side of the knowledge base: articles listed, read, created, edited, published, archived, imported
in bulk and exported; the help-center page of a published article; and what the bot would do with a question.

Every change that touches what the bot may answer from is pushed into the search index before the use case
returns (`KnowledgeBase.refresh_article`, or a full `sync` after an import), so the bot answers from it at once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from handoff.clock import as_utc
from kb.articles import (
    ArticleConflict,
    ArticleCreate,
    ArticleError,
    ArticleNotFound,
    ArticleUpdate,
    create_article,
    get_article,
    list_articles,
    set_status,
    update_article,
)
from kb.importer import export_csv, export_json, import_files
from kb.models import Article
from usecases.context import Context
from usecases.errors import Conflict, Invalid, NotFound

ExportFormat = Literal["json", "csv"]
Progress = Callable[[int, int], None]


class ArticleView(BaseModel):
    """An article as an editor reads it, with the link of its help-center page."""

    id: str
    group: str
    lang: str
    title: str
    body: str
    questions: list[str]
    tags: list[str]
    topic: str | None
    product: str | None
    status: str
    version: int
    url: str


class RevisionView(BaseModel):
    """One version of an article: who made it, when, and what changed."""

    version: int
    author: str
    at: datetime
    change: str


class ImportResult(BaseModel):
    """What an import did (or, in a dry run, would do); `problems` holds one line per refused file."""

    dry_run: bool
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    problems: list[str] = Field(description="one line per refused file: file:line: reason (nothing from it stored)")


class PublishedArticle(BaseModel):
    """What the help-center page of a published article shows: its title and language, its Markdown body."""

    id: str
    title: str
    lang: str
    body: str


class SearchExplanation(BaseModel):
    """What the bot would do with a question: every candidate with its dense, lexical and fused scores, the
    classifier's probability, and `score`, which the decision compared with its thresholds."""

    query: str
    lang: str
    decision: str
    candidates: list[dict[str, Any]]


@dataclass(frozen=True)
class ArticleFilter:
    """The filters shared by listing and export; each one given must match (`query`: words in the title)."""

    lang: str | None = None
    status: str | None = None
    topic: str | None = None
    product: str | None = None
    tag: str | None = None
    group: str | None = None
    query: str | None = None


@contextmanager
def _article_errors() -> Iterator[None]:
    """The article store's refusals as the use cases' errors."""
    try:
        yield
    except ArticleNotFound as error:
        raise NotFound(str(error)) from error
    except ArticleConflict as error:
        raise Conflict(str(error)) from error
    except ArticleError as error:
        raise Invalid(str(error)) from error


class ArticleDesk:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def view(self, article: Article) -> ArticleView:
        return ArticleView(
            id=article.id,
            group=article.group,
            lang=article.lang,
            title=article.title,
            body=article.body,
            questions=list(article.questions),
            tags=list(article.tags),
            topic=article.topic,
            product=article.product,
            status=article.status,
            version=article.version,
            url=f"{self.ctx.public_url}/kb/{article.id}",
        )

    def list(self, filters: ArticleFilter, limit: int = 50, offset: int = 0) -> list[ArticleView]:
        """Articles matching every filter given, the most recently changed first."""
        with self.ctx.sessions() as session:
            found = list_articles(session, **asdict(filters), limit=limit, offset=offset)
            return [self.view(a) for a in found]

    def export(self, filters: ArticleFilter, format: ExportFormat = "json") -> str:
        """Every article matching the filters, as a JSON or CSV document that `import_files` reads back."""
        with self.ctx.sessions() as session:
            found = list_articles(session, **asdict(filters), limit=None)
            return export_csv(found) if format == "csv" else export_json(found)

    def get(self, article_id: str) -> ArticleView:
        """One article, whatever its status."""
        with self.ctx.sessions() as session, _article_errors():
            return self.view(get_article(session, article_id))

    def revisions(self, article_id: str) -> list[RevisionView]:
        """Who changed the article, when, and what: one entry per version, oldest first."""
        with self.ctx.sessions() as session, _article_errors():
            article = get_article(session, article_id)
            return [
                RevisionView(version=r.version, author=r.author, at=as_utc(r.at), change=r.change)
                for r in article.revisions
            ]

    def published(self, article_id: str) -> PublishedArticle:
        """A published article as its help-center page shows it; NotFound for any other (draft, archived, none)."""
        with self.ctx.sessions() as session:
            article = session.get(Article, article_id)
            if article is None or article.status != "published":
                raise NotFound("this article does not exist or is not published")
            return PublishedArticle(id=article.id, title=article.title, lang=article.lang, body=article.body)

    def create(self, fields: ArticleCreate, author: str) -> ArticleView:
        """A new article (a draft unless its status says otherwise); a published one is answerable at once."""
        with self.ctx.sessions() as session:
            try:
                article = create_article(session, fields, author=author)
                session.commit()
            except (ArticleConflict, IntegrityError) as error:
                session.rollback()
                raise Conflict(str(error.orig if isinstance(error, IntegrityError) else error)) from error
            if article.status == "published":
                self._refresh(article)
            return self.view(article)

    def edit(self, article_id: str, changes: ArticleUpdate, author: str) -> ArticleView:
        """Change some fields (a new version only if something changed); a published article is answerable in its
        new form at once."""
        return self._change(
            lambda session: update_article(session, article_id, changes, author=author), published_only=True
        )

    def publish(self, article_id: str, author: str) -> ArticleView:
        """The bot may answer from the article from now on."""
        return self._set_status(article_id, "published", author)

    def archive(self, article_id: str, author: str) -> ArticleView:
        """The bot stops answering from the article at once; editors can still read it."""
        return self._set_status(article_id, "archived", author)

    def unpublish(self, article_id: str, author: str) -> ArticleView:
        """Back to draft: the bot stops answering from the article until it is published again."""
        return self._set_status(article_id, "draft", author)

    def import_files(
        self, files: Iterable[tuple[str, str]], author: str, dry_run: bool = False, progress: Progress | None = None
    ) -> ImportResult:
        """Create or update articles from (name, text) files, Markdown with front matter, CSV or JSON (the name's
        suffix says which); `dry_run` only reports. A malformed file is listed under `problems` with its line and
        reason and nothing from it is stored, the others are imported; Invalid if every file was refused. The
        index is brought in step before this returns (`progress(done, total)` follows the embedding)."""
        counted = 0

        def counting() -> Iterator[tuple[str, str]]:
            nonlocal counted
            for file in files:
                counted += 1
                yield file

        with self.ctx.sessions() as session:
            report, changed = import_files(session, counting(), author=author, dry_run=dry_run)
            if counted and len(report.problems) == counted:
                session.rollback()
                raise Invalid("nothing imported: " + "; ".join(report.problems))
            if not dry_run:
                try:
                    session.commit()
                except IntegrityError as error:
                    session.rollback()
                    raise Conflict(f"the import clashes with a concurrent change: {error.orig}") from error
        if changed and not dry_run:
            self.ctx.kb.sync(progress)
        return ImportResult(**report.to_dict())

    def explain(self, question: str, lang: str | None = None, k: int = 5) -> SearchExplanation:
        """What the bot would do with `question`: the candidates with their scores, and the decision."""
        if not question.strip():
            raise Invalid("the question is empty")
        kb = self.ctx.kb
        result = kb.search(question, lang=lang, k=k)
        scores = kb.policy.scores(result.candidates)
        return SearchExplanation(
            query=result.query,
            lang=result.lang,
            decision=result.decision,
            candidates=[{**c.to_dict(), "score": round(s, 4)} for c, s in zip(result.candidates, scores, strict=True)],
        )

    def _set_status(self, article_id: str, status: str, author: str) -> ArticleView:
        return self._change(lambda session: set_status(session, article_id, status, author=author))

    def _change(self, change: Callable[[Session], Article], published_only: bool = False) -> ArticleView:
        """Make the change, commit it, then bring the index in step: always after a change of status (the article
        may have left what the bot answers from), only for a published article after an edit."""
        with self.ctx.sessions() as session, _article_errors():
            article = change(session)
            session.commit()
            if article.status == "published" or not published_only:
                self._refresh(article)
            return self.view(article)

    def _refresh(self, article: Article) -> None:
        """Make the article's new state what the bot answers from: searchable if published, gone if not."""
        self.ctx.kb.refresh_article(article)
