"""The editor's side over HTTP: articles (create, edit, publish, archive, bulk import and export) and the search
explainer, each a call of `usecases.articles.ArticleDesk`, which puts every change the bot answers from into the
search index before the response returns."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.auth import EditorDep
from api.deps import ArticleId, ArticlesDep
from kb.articles import ArticleCreate, ArticleStatus, ArticleUpdate
from kb.lang import Lang
from usecases.articles import ArticleFilter, ArticleView, ImportResult, RevisionView, SearchExplanation

MAX_IMPORT_FILES = 500
MAX_IMPORT_FILE_CHARS = 5_000_000
EXPORT_MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}
# Article ids are slugs of at most 120 characters (kb.articles.Slug).
router = APIRouter(prefix="/api/v1", tags=["editor"])


class ImportFile(BaseModel):
    """One file of a bulk import: its name (the suffix .md, .csv or .json says how to read it) and its text."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    content: Annotated[str, StringConstraints(max_length=MAX_IMPORT_FILE_CHARS)]


class ImportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    files: Annotated[list[ImportFile], Field(min_length=1, max_length=MAX_IMPORT_FILES)]
    dry_run: bool = False


class ArticleFilters(BaseModel):
    """The filters shared by listing and export (`q`: words in the title)."""

    lang: Lang | None = None
    status: ArticleStatus | None = None
    topic: Annotated[str | None, Field(max_length=40)] = None
    product: Annotated[str | None, Field(max_length=80)] = None
    tag: Annotated[str | None, Field(max_length=40)] = None
    group: Annotated[str | None, Field(max_length=120)] = None
    q: Annotated[str | None, Field(max_length=200)] = None

    def to_filter(self) -> ArticleFilter:
        fields = self.model_dump()
        fields["query"] = fields.pop("q")
        return ArticleFilter(**fields)


FiltersDep = Annotated[ArticleFilters, Query()]


@router.get("/articles", response_model=list[ArticleView])
def get_articles(
    desk: ArticlesDep,
    staff: EditorDep,
    filters: FiltersDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[ArticleView]:
    """Articles filtered by language, status, topic, product, tag, translation group and words in the title."""
    return desk.list(filters.to_filter(), limit, offset)


@router.get("/articles/export", response_class=PlainTextResponse)
def export_articles(
    desk: ArticlesDep, staff: EditorDep, filters: FiltersDep, format: Literal["json", "csv"] = "json"
) -> PlainTextResponse:
    """Every article matching the filters, as JSON or CSV that `POST /articles/import` reads back."""
    return PlainTextResponse(desk.export(filters.to_filter(), format), media_type=EXPORT_MEDIA_TYPES[format])


@router.post("/articles/import", response_model=ImportResult)
def import_articles(body: ImportRequest, desk: ArticlesDep, staff: EditorDep) -> ImportResult:
    """Create or update articles from Markdown (front matter), CSV or JSON files; `dry_run` only reports.

    A malformed file is listed under `problems` with its line and reason, and nothing from it is stored; the
    other files are imported. If no file could be read at all the answer is 422.
    """
    return desk.import_files([(f.name, f.content) for f in body.files], staff.name, dry_run=body.dry_run)


@router.post("/articles", status_code=201, response_model=ArticleView)
def post_article(body: ArticleCreate, desk: ArticlesDep, staff: EditorDep) -> ArticleView:
    """Create an article; a published one is answerable by the bot as soon as this returns."""
    return desk.create(body, staff.name)


@router.get("/articles/{article_id}", response_model=ArticleView)
def get_article(article_id: ArticleId, desk: ArticlesDep, staff: EditorDep) -> ArticleView:
    return desk.get(article_id)


@router.get("/articles/{article_id}/revisions", response_model=list[RevisionView])
def get_revisions(article_id: ArticleId, desk: ArticlesDep, staff: EditorDep) -> list[RevisionView]:
    """Who changed the article, when, and what: one entry per version."""
    return desk.revisions(article_id)


@router.patch("/articles/{article_id}", response_model=ArticleView)
def patch_article(article_id: ArticleId, body: ArticleUpdate, desk: ArticlesDep, staff: EditorDep) -> ArticleView:
    """Edit some fields; a published article is answerable in its new form as soon as this returns."""
    return desk.edit(article_id, body, staff.name)


@router.post("/articles/{article_id}/publish", response_model=ArticleView)
def publish_article(article_id: ArticleId, desk: ArticlesDep, staff: EditorDep) -> ArticleView:
    """Publish: the bot can answer from the article as soon as this returns."""
    return desk.publish(article_id, staff.name)


@router.post("/articles/{article_id}/archive", response_model=ArticleView)
def archive_article(article_id: ArticleId, desk: ArticlesDep, staff: EditorDep) -> ArticleView:
    """Archive: the bot stops answering from the article at once; it stays readable here."""
    return desk.archive(article_id, staff.name)


@router.post("/articles/{article_id}/unpublish", response_model=ArticleView)
def unpublish_article(article_id: ArticleId, desk: ArticlesDep, staff: EditorDep) -> ArticleView:
    """Back to draft: the bot stops answering from the article until it is published again."""
    return desk.unpublish(article_id, staff.name)


@router.get("/search", response_model=SearchExplanation)
def search(
    desk: ArticlesDep,
    staff: EditorDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    lang: Annotated[Lang | None, Query()] = None,
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> SearchExplanation:
    """What the bot would do with a question: every candidate with its dense, lexical and fused scores, the
    classifier's probability, and the score the decision compared with its thresholds."""
    return desk.explain(q, lang, k)
