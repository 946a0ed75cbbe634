"""Pages a browser opens: the demo shop page with the chat widget, the widget itself, the agent console, the KB
editor, and the public help-center article pages."""

from __future__ import annotations

import gzip
import html
from functools import lru_cache
from pathlib import Path

import mistune
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.deps import ArticlesDep, CustomersDep
from usecases.customers import DEMO_CUSTOMER

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).parent / "static"
WEB = Path(__file__).resolve().parent.parent / "web"
# escape=True: any HTML inside an article is shown as text, never run.
render_markdown = mistune.create_markdown(escape=True, plugins=["table"])
MEDIA_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8", ".html": "text/html"}
# The staff pages load only their own scripts and styles and talk only to this API.
STAFF_PAGE_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none'; "
    "base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


@lru_cache(maxsize=32)
def _compressed(path: Path, mtime_ns: int) -> bytes:
    return gzip.compress(path.read_bytes(), 9, mtime=0)


def _web_file(name: str, request: Request, cache_seconds: int = 300, headers: dict[str, str] | None = None):
    """A file of web/, gzipped when the browser accepts it (the widget is loaded by every page of a site)."""
    path = WEB / name
    if path.suffix not in MEDIA_TYPES or not path.is_file():
        raise HTTPException(404, f"no file {name!r}")
    headers = {"Cache-Control": f"public, max-age={cache_seconds}", "Vary": "Accept-Encoding", **(headers or {})}
    if "gzip" in request.headers.get("accept-encoding", ""):
        body = _compressed(path, path.stat().st_mtime_ns)
        return Response(body, media_type=MEDIA_TYPES[path.suffix], headers={**headers, "Content-Encoding": "gzip"})
    return FileResponse(path, media_type=MEDIA_TYPES[path.suffix], headers=headers)


@lru_cache(maxsize=4)
def _demo_html(mtime_ns: int) -> str:
    return (STATIC / "index.html").read_text(encoding="utf-8")


def _demo(signed_in: str = "", script_attributes: str = "") -> HTMLResponse:
    page = _demo_html((STATIC / "index.html").stat().st_mtime_ns)
    page = page.replace("<!-- signed-in -->", signed_in)
    page = page.replace('<script src="/widget.js"', f'<script src="/widget.js"{script_attributes}', 1)
    return HTMLResponse(page, headers={"Cache-Control": "no-store"})


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
def staff_asset(name: str, request: Request) -> Response:
    """Scripts and styles of the staff pages."""
    if "/" in name or name.startswith(".") or name.endswith(".html"):
        raise HTTPException(404, f"no file {name!r}")
    return _web_file(name, request, 60)


@router.get("/kb/{article_id}", response_class=HTMLResponse)
def article_page(article_id: str, desk: ArticlesDep) -> HTMLResponse:
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
