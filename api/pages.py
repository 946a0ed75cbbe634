"""Pages a browser opens: the demo shop page with the chat widget, the widget itself, the agent console, the KB
editor, and the public help-center article pages."""

from __future__ import annotations

import gzip
import html
import re
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated

import mistune
from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.articles import ArticleId
from api.deps import ArticlesDep

router = APIRouter(include_in_schema=False)
STATIC = FilePath(__file__).parent / "static"
WEB = FilePath(__file__).resolve().parent.parent / "web"
# What a file of web/ may be called: a name, no folder, nothing hidden (anything else is not one of its files).
WEB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# escape=True: any HTML inside an article is shown as text, never run.
render_markdown = mistune.create_markdown(escape=True, plugins=["table"])
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".html": "text/html"}
# The staff pages load only their own scripts and styles and talk only to this API.
STAFF_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@lru_cache(maxsize=32)
def _compressed(path: FilePath, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), 9, mtime=0)


def _web_file(name: str, request: Request, cache_seconds: int = 300, headers: dict[str, str] | None = None):
    """A file of web/, gzipped when the browser accepts it (the widget is loaded by every page of a site)."""
    path = WEB / name
    if not WEB_NAME.fullmatch(name) or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise HTTPException(404, f"no file {name[:100]!r}")
    headers = {"Cache-Control": f"public, max-age={cache_seconds}", "Vary": "Accept-Encoding", **(headers or {})}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = _compressed(path, path.stat().st_mtime_ns)
        return Response(body, media_type=MEDIA_TYPES[path.suffix], headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)


@router.get("/")
def demo_page() -> FileResponse:
    """A demo shop page that embeds the widget with one script tag, as a customer's site would."""
    return FileResponse(STATIC / "index.html", media_type="text/html")


@router.get("/widget.js")
def widget(request: Request) -> Response:
    """The chat widget: `<script src="http://HOST:PORT/widget.js" data-lang="ja"></script>` on any site."""
    return _web_file("widget.js", request, headers={"Access-Control-Allow-Origin": "*"})


@router.get("/console")
def agent_console(request: Request) -> Response:
    """The agent console (sign in with an agent token)."""
    return _web_file("console.html", request, 0, {"Content-Security-Policy": STAFF_PAGE_POLICY})


@router.get("/editor")
def kb_editor(request: Request) -> Response:
    """The knowledge-base editor (sign in with an editor token)."""
    return _web_file("editor.html", request, 0, {"Content-Security-Policy": STAFF_PAGE_POLICY})


@router.get("/web/{name}")
def staff_asset(name: Annotated[str, Path(max_length=100)], request: Request) -> Response:
    """Scripts and styles of the staff pages."""
    if name.endswith(".html"):
        raise HTTPException(404, f"no file {name!r}")
    return _web_file(name, request, 60)


@router.get("/kb/{article_id}", response_class=HTMLResponse)
def article_page(article_id: ArticleId, desk: ArticlesDep) -> HTMLResponse:
    """A published article as a help-center page (the link the bot gives)."""
    article = desk.published(article_id)
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
