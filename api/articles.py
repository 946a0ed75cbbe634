"""The editor's side: articles (create, edit, publish, archive, bulk import and export) and the search explainer.

Every change that touches a published article is pushed into the search index before the response returns, so the
bot answers from it at once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.exc import IntegrityError

from api.auth import EditorDep
from kb.articles import (
    ArticleConflict,
    ArticleCreate,
    ArticleError,
    ArticleNotFound,
    ArticleStatus,
    ArticleUpdate,
    create_article,
    list_articles,
    set_status,
    update_article,
)
from kb.importer import export_csv, export_json, import_files
from kb.lang import Lang
from kb.models import Article

MAX_IMPORT_FILES = 500
MAX_IMPORT_FILE_CHARS = 5_000_000

router = APIRouter(prefix="/api/v1", tags=["editor"])


class ArticleOut(BaseModel):
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


def article_out(article: Article, base_url: str) -> ArticleOut:
    return ArticleOut(
        id=article.id,
        group=article.group,
        lang=article.lang,
        title=article.title,
        body=article.body,
        questions=article.questions,
        tags=article.tags,
        topic=article.topic,
        product=article.product,
        status=article.status,
        version=article.version,
        url=f"{base_url}/kb/{article.id}",
    )


class RevisionOut(BaseModel):
    version: int
    author: str
    at: datetime
    change: str


class ImportFile(BaseModel):
    """One file of a bulk import: its name (the suffix .md, .csv or .json says how to read it) and its text."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    content: Annotated[str, StringConstraints(max_length=MAX_IMPORT_FILE_CHARS)]


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: Annotated[list[ImportFile], Field(min_length=1, max_length=MAX_IMPORT_FILES)]
    dry_run: bool = False


class ImportOut(BaseModel):
    dry_run: bool
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    problems: list[str] = Field(description="one line per refused file: file:line: reason (nothing from it stored)")


class ArticleFilters(BaseModel):
    """The filters shared by listing and export (`q`: words in the title)."""

    lang: Lang | None = None
    status: ArticleStatus | None = None
    topic: Annotated[str | None, Field(max_length=40)] = None
    product: Annotated[str | None, Field(max_length=80)] = None
    tag: Annotated[str | None, Field(max_length=40)] = None
    group: Annotated[str | None, Field(max_length=120)] = None
    q: Annotated[str | None, Field(max_length=200)] = None

    def as_kwargs(self) -> dict:
        fields = self.model_dump()
        fields["query"] = fields.pop("q")
        return fields


FiltersDep = Annotated[ArticleFilters, Query()]


def _refresh(request: Request, article: Article) -> None:
    request.app.state.kb.refresh_article(article)


def _not_found(error: ArticleNotFound) -> HTTPException:
    return HTTPException(404, str(error))


@router.get("/articles", response_model=list[ArticleOut])
def get_articles(
    request: Request,
    staff: EditorDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ArticleOut]:
    """Articles filtered by language, status, topic, product, tag, translation group and words in the title."""
    with request.app.state.sessions() as session:
        found = list_articles(session, **filters.as_kwargs(), limit=limit, offset=offset)
        return [article_out(a, request.app.state.settings.base_url) for a in found]


@router.get("/articles/export", response_class=PlainTextResponse)
def export_articles(
    request: Request, staff: EditorDep, filters: FiltersDep, format: Literal["json", "csv"] = "json"
) -> PlainTextResponse:
    """Every article matching the filters, as JSON or CSV that `POST /articles/import` reads back."""
    with request.app.state.sessions() as session:
        found = list_articles(session, **filters.as_kwargs(), limit=None)
        if format == "csv":
            return PlainTextResponse(export_csv(found), media_type="text/csv; charset=utf-8")
        return PlainTextResponse(export_json(found), media_type="application/json")


@router.post("/articles/import", response_model=ImportOut)
def import_articles(body: ImportRequest, request: Request, staff: EditorDep) -> ImportOut:
    """Create or update articles from Markdown (front matter), CSV or JSON files; `dry_run` only reports.

    A malformed file is listed under `problems` with its line and reason, and nothing from it is stored; the
    other files are imported. If no file could be read at all the answer is 422.
    """
    with request.app.state.sessions() as session:
        report, changed = import_files(
            session, [(f.name, f.content) for f in body.files], author=staff.name, dry_run=body.dry_run
        )
        if len(report.problems) == len(body.files):
            session.rollback()
            raise HTTPException(422, "nothing imported: " + "; ".join(report.problems))
        if not body.dry_run:
            try:
                session.commit()
            except IntegrityError as error:
                session.rollback()
                raise HTTPException(409, f"the import clashes with a concurrent change: {error.orig}") from error
            if changed:
                request.app.state.kb.sync()
        return ImportOut(**report.to_dict())


@router.post("/articles", status_code=201, response_model=ArticleOut)
def post_article(body: ArticleCreate, request: Request, staff: EditorDep) -> ArticleOut:
    """Create an article; a published one is answerable by the bot as soon as this returns."""
    with request.app.state.sessions() as session:
        try:
            article = create_article(session, body, author=staff.name)
            session.commit()
        except (ArticleConflict, IntegrityError) as error:
            session.rollback()
            raise HTTPException(409, str(error.orig if isinstance(error, IntegrityError) else error)) from error
        if article.status == "published":
            _refresh(request, article)
        return article_out(article, request.app.state.settings.base_url)


@router.get("/articles/{article_id}", response_model=ArticleOut)
def get_article(article_id: str, request: Request, staff: EditorDep) -> ArticleOut:
    with request.app.state.sessions() as session:
        article = session.get(Article, article_id)
        if article is None:
            raise _not_found(ArticleNotFound(f"no article with id {article_id!r}"))
        return article_out(article, request.app.state.settings.base_url)


@router.get("/articles/{article_id}/revisions", response_model=list[RevisionOut])
def get_revisions(article_id: str, request: Request, staff: EditorDep) -> list[RevisionOut]:
    """Who changed the article, when, and what: one entry per version."""
    with request.app.state.sessions() as session:
        article = session.get(Article, article_id)
        if article is None:
            raise _not_found(ArticleNotFound(f"no article with id {article_id!r}"))
        return [RevisionOut(version=r.version, author=r.author, at=r.at, change=r.change) for r in article.revisions]


@router.patch("/articles/{article_id}", response_model=ArticleOut)
def patch_article(article_id: str, body: ArticleUpdate, request: Request, staff: EditorDep) -> ArticleOut:
    """Edit some fields; a published article is answerable in its new form as soon as this returns."""
    with request.app.state.sessions() as session:
        try:
            article = update_article(session, article_id, body, author=staff.name)
        except ArticleNotFound as error:
            raise _not_found(error) from error
        session.commit()
        if article.status == "published":
            _refresh(request, article)
        return article_out(article, request.app.state.settings.base_url)


def _set_status(request: Request, staff: EditorDep, article_id: str, status: str) -> ArticleOut:
    with request.app.state.sessions() as session:
        try:
            article = set_status(session, article_id, status, author=staff.name)
        except ArticleNotFound as error:
            raise _not_found(error) from error
        except ArticleError as error:
            raise HTTPException(422, str(error)) from error
        session.commit()
        _refresh(request, article)
        return article_out(article, request.app.state.settings.base_url)


@router.post("/articles/{article_id}/publish", response_model=ArticleOut)
def publish_article(article_id: str, request: Request, staff: EditorDep) -> ArticleOut:
    """Publish: the bot can answer from the article as soon as this returns."""
    return _set_status(request, staff, article_id, "published")


@router.post("/articles/{article_id}/archive", response_model=ArticleOut)
def archive_article(article_id: str, request: Request, staff: EditorDep) -> ArticleOut:
    """Archive: the bot stops answering from the article at once; it stays readable here."""
    return _set_status(request, staff, article_id, "archived")


@router.post("/articles/{article_id}/unpublish", response_model=ArticleOut)
def unpublish_article(article_id: str, request: Request, staff: EditorDep) -> ArticleOut:
    """Back to draft: the bot stops answering from the article until it is published again."""
    return _set_status(request, staff, article_id, "draft")


@router.get("/search")
def search(
    request: Request,
    staff: EditorDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    lang: Annotated[Lang | None, Query()] = None,
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict:
    """What the bot would do with a question: every candidate with its dense, lexical and fused scores, the
    classifier's probability, and the score the decision compared with its thresholds."""
    if not q.strip():
        raise HTTPException(422, "the question is empty")
    kb = request.app.state.kb
    result = kb.search(q, lang=lang, k=k)
    scores = kb.policy.scores(result.candidates)
    return {
        "query": result.query,
        "lang": result.lang,
        "decision": result.decision,
        "candidates": [{**c.to_dict(), "score": round(s, 4)} for c, s in zip(result.candidates, scores, strict=True)],
    }
