"""Pages a browser opens: the demo chat page and the public help-center article pages."""

from __future__ import annotations

import html
from pathlib import Path

import mistune
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse

from kb.models import Article

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
# escape=True: any HTML inside an article is shown as text, never run.
render_markdown = mistune.create_markdown(escape=True, plugins=["table"])


@router.get("/")
def demo_page() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/kb/{article_id}", response_class=HTMLResponse)
def article_page(article_id: str, request: Request) -> HTMLResponse:
    """A published article as a help-center page (the link the bot gives)."""
    with request.app.state.sessions() as session:
        article = session.get(Article, article_id)
        if article is None or article.status != "published":
            raise HTTPException(404, "this article does not exist or is not published")
        title, lang, body = article.title, article.lang, render_markdown(article.body)
    page = f"""<!doctype html>
<html lang="{html.escape(lang)}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · Help center</title>
<style>body{{font:16px/1.6 system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1f2328}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem}}</style>
</head><body><main><p><a href="/">Help center</a></p><article><h1>{html.escape(title)}</h1>{body}</article></main>
</body></html>"""
    return HTMLResponse(page, headers={"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'"})
