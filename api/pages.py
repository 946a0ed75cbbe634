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

from api.deps import ArticleId, ArticlesDep, CustomersDep
from api.security import csp_hash, policy
from usecases.customers import DEMO_CUSTOMER

router = APIRouter(include_in_schema=False)
STATIC = FilePath(__file__).parent / "static"
WEB = FilePath(__file__).resolve().parent.parent / "web"
# What a file of web/ may be called: a name, no folder, nothing hidden (anything else is not one of its files).
WEB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
# escape=True: any HTML inside an article is shown as text, never run.
render_markdown = mistune.create_markdown(escape=True, plugins=["table"])
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".html": "text/html"}


def _widget_style_hash() -> str:
    """The CSP hash of the `<style>` the widget puts in its shadow root (its `STYLE`, a plain template literal): a
    page that allows it, and scripts from this API, runs the widget without allowing any other inline style."""
    found = re.search(r"const STYLE = `([^`]*)`;", (WEB / "widget.js").read_text(encoding="utf-8"))
    if not found or "\\" in found.group(1) or "${" in found.group(1):
        raise RuntimeError("web/widget.js: STYLE must stay a template literal without escapes or ${...}")
    return csp_hash(found.group(1))


# What each page may load (Content-Security-Policy): exactly what it uses, from this API only, no inline script.
# The pages may be framed only by this site's own pages (clickjacking); the staff pages by none at all.
# The widget (/widget.js) is the one thing other sites load: served to any origin (CORS, CORP), it needs its own
# style allowed on the page that embeds it, as the demo page does (`WIDGET_STYLE_HASH`).
WIDGET_STYLE_HASH = _widget_style_hash()
DEMO_PAGE_POLICY = policy(
    script_src="'self'",
    style_src=f"'self' {WIDGET_STYLE_HASH}",
    img_src="'self' data:",
    connect_src="'self'",
    form_action="'self'",
    frame_ancestors="'self'",
)
STAFF_PAGE_POLICY = policy(
    script_src="'self'",
    style_src="'self'",
    img_src="'self' data:",
    connect_src="'self'",
    form_action="'self'",
    frame_ancestors="'none'",
)
ARTICLE_PAGE_POLICY = policy(style_src="'self'", img_src="'self' data:", frame_ancestors="'self'")


@lru_cache(maxsize=32)
def _compressed(path: FilePath, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), 9, mtime=0)


def gzipped(path: FilePath, media_type: str, headers: dict[str, str]) -> Response:
    """A file gzipped (once for each version of it)."""
    body = _compressed(path, path.stat().st_mtime_ns)
    return Response(body, media_type=media_type, headers={**headers, "Content-Encoding": "gzip"})


def _web_file(name: str, request: Request, cache_seconds: int = 300, headers: dict[str, str] | None = None):
    """A file of web/, gzipped when the browser accepts it (the widget is loaded by every page of a site)."""
    path = WEB / name
    if not WEB_NAME.fullmatch(name) or path.suffix not in MEDIA_TYPES or not path.is_file():
        raise HTTPException(404, f"no file {name[:100]!r}")
    headers = {"Cache-Control": f"public, max-age={cache_seconds}", "Vary": "Accept-Encoding", **(headers or {})}
    if "gzip" in request.headers.get("accept-encoding", ""):
        return gzipped(path, MEDIA_TYPES[path.suffix], headers)
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)


@lru_cache(maxsize=4)
def _demo_html(mtime_ns: int) -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def _demo(signed_in: str = "", script_attributes: str = "") -> HTMLResponse:
    page = _demo_html((STATIC / "index.html").stat().st_mtime_ns)
    page = page.replace("<!-- signed-in -->", signed_in)
    page = page.replace('<script src="/widget.js"', f'<script src="/widget.js"{script_attributes}', 1)
    return HTMLResponse(page, headers={"Cache-Control": "no-store", "Content-Security-Policy": DEMO_PAGE_POLICY})


@router.get("/")
def demo_page(customers: CustomersDep) -> HTMLResponse:
    """A demo shop page that embeds the widget with one script tag, as a customer's site would; with the demo
    customer on (TIERZERO_DEMO_CUSTOMER), a link to the same page signed in."""
    link = (
        '<p class="signed-in"><a href="/demo/signed-in">See the page signed in</a> as a known customer on the '
        "enterprise plan: the widget does not ask for a name or an email, and a request for a person goes to the "
        "key-account team.</p>"
    )
    return _demo(link if customers.demo_enabled else "")


@router.get("/demo/signed-in")
def demo_page_signed_in(customers: CustomersDep) -> HTMLResponse:
    """The demo page as a signed-in customer sees it: the script tag carries a customer token, signed when the page
    is made, for the fixed demo customer only (never anyone a visitor names) and with the demo's own key."""
    token = customers.demo_token()
    if token is None:
        raise HTTPException(404, "the signed-in demo is off: start Tier Zero with TIERZERO_DEMO_CUSTOMER=true")
    who = html.escape(f"{DEMO_CUSTOMER['name']} · {DEMO_CUSTOMER['plan']} plan")
    banner = f'<p class="signed-in">Signed in as <strong>{who}</strong> (<a href="/">sign out</a>).</p>'
    return _demo(banner, f' data-customer-token="{html.escape(token)}"')


@router.get("/widget.js")
def widget(request: Request) -> Response:
    """The chat widget: `<script src="http://HOST:PORT/widget.js" data-lang="ja"></script>` on any site."""
    anywhere = {"Access-Control-Allow-Origin": "*", "Cross-Origin-Resource-Policy": "cross-origin"}
    return _web_file("widget.js", request, headers=anywhere)


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
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/web/article.css">
</head><body><main><p><a href="/">Help center</a></p><article><h1>{html.escape(title)}</h1>{body}</article></main>
</body></html>"""
    return HTMLResponse(page, headers={"Content-Security-Policy": ARTICLE_PAGE_POLICY})
