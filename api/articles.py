"""The editor's side: articles and the search explainer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError

from api.auth import EditorDep
from kb.articles import ArticleConflict, ArticleCreate, ArticleNotFound, create_article, list_articles
from kb.models import Article

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


@router.get("/articles", response_model=list[ArticleOut])
def get_articles(
    request: Request,
    staff: EditorDep,
    lang: Annotated[Literal["en", "ja", "ko"] | None, Query()] = None,
    status: Annotated[Literal["draft", "published", "archived"] | None, Query()] = None,
    topic: Annotated[str | None, Query(max_length=40)] = None,
    q: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> list[ArticleOut]:
    """Articles filtered by language, status, topic and words in the title."""
    with request.app.state.sessions() as session:
        found = list_articles(session, lang=lang, status=status, topic=topic, query=q, limit=limit, offset=offset)
        return [article_out(a, request.app.state.settings.base_url) for a in found]


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
        request.app.state.kb.refresh_article(article)
        return article_out(article, request.app.state.settings.base_url)


@router.get("/articles/{article_id}", response_model=ArticleOut)
def get_article(article_id: str, request: Request, staff: EditorDep) -> ArticleOut:
    with request.app.state.sessions() as session:
        article = session.get(Article, article_id)
        if article is None:
            raise HTTPException(404, str(ArticleNotFound(f"no article with id {article_id!r}")))
        return article_out(article, request.app.state.settings.base_url)


@router.get("/search")
def search(
    request: Request,
    staff: EditorDep,
    q: Annotated[str, Query(min_length=1, max_length=2000)],
    lang: Annotated[Literal["en", "ja", "ko"] | None, Query()] = None,
    k: Annotated[int, Query(ge=1, le=20)] = 5,
) -> dict:
    """What the bot would do with a question: every candidate with its dense, lexical and fused scores."""
    if not q.strip():
        raise HTTPException(422, "the question is empty")
    result = request.app.state.kb.search(q, lang=lang, k=k)
    return {
        "query": result.query,
        "lang": result.lang,
        "decision": result.decision,
        "candidates": [c.to_dict() for c in result.candidates],
    }
