"""The API's documentation pages, /docs (Swagger UI) and /redoc, served from files the API ships itself
(the `fastapi-offline` package's copies of Swagger UI and ReDoc), never from a CDN: they work offline.

FastAPI's own pages load their scripts from a CDN and run an inline script; these are FastAPI's pages with the
files served from /docs/assets/, and a Content-Security-Policy that allows exactly those files and the hash of the
inline script each page has.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path as FilePath
from typing import Annotated

import fastapi_offline
from fastapi import APIRouter, HTTPException, Path, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import FileResponse, HTMLResponse, Response

from api.pages import gzipped
from api.security import csp_hash, policy

router = APIRouter(include_in_schema=False)
ASSETS = FilePath(fastapi_offline.__file__).parent / "static"
ASSET_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}
OPENAPI_URL = "/openapi.json"
OAUTH2_REDIRECT_URL = "/docs/oauth2-redirect"
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)
# No online validator badge (Swagger UI would load it from swagger.io).
SWAGGER_UI_PARAMETERS = {"validatorUrl": None}


def _page(html: str, **sources: str) -> HTMLResponse:
    """The page with a policy that allows its inline scripts by their hashes, and `sources`."""
    scripts = " ".join(["'self'", *(csp_hash(script) for script in INLINE_SCRIPT.findall(html))])
    rules = {"script_src": scripts, "img_src": "'self' data:", "frame_ancestors": "'self'", **sources}
    return HTMLResponse(html, headers={"Content-Security-Policy": policy(**rules)})


@cache
def swagger_ui(title: str) -> str:
    return get_swagger_ui_html(
        openapi_url=OPENAPI_URL,
        title=f"{title} - Swagger UI",
        swagger_js_url="/docs/assets/swagger-ui-bundle.js",
        swagger_css_url="/docs/assets/swagger-ui.css",
        swagger_favicon_url="/docs/assets/favicon.png",
        oauth2_redirect_url=OAUTH2_REDIRECT_URL,
        swagger_ui_parameters=SWAGGER_UI_PARAMETERS,
    ).body.decode()


@cache
def redoc(title: str) -> str:
    return get_redoc_html(
        openapi_url=OPENAPI_URL,
        title=f"{title} - ReDoc",
        redoc_js_url="/docs/assets/redoc.standalone.js",
        redoc_favicon_url="/docs/assets/favicon.png",
        with_google_fonts=False,
    ).body.decode()


@router.get("/docs")
def swagger_ui_page(request: Request) -> HTMLResponse:
    """Swagger UI: the API's endpoints, tried from the page."""
    return _page(swagger_ui(request.app.title), style_src="'self'", connect_src="'self'", form_action="'self'")


@router.get(OAUTH2_REDIRECT_URL)
def swagger_ui_redirect() -> HTMLResponse:
    """Where Swagger UI's OAuth2 sign-in returns (the API itself uses bearer tokens)."""
    return _page(get_swagger_ui_oauth2_redirect_html().body.decode())


@router.get("/redoc")
def redoc_page(request: Request) -> HTMLResponse:
    """ReDoc: the API's reference. ReDoc writes its styles into the page (style elements it makes as it renders)
    and searches in a worker it makes from a blob, so its policy allows inline styles and blob: workers, and
    scripts from this API only."""
    return _page(redoc(request.app.title), style_src="'self' 'unsafe-inline'", connect_src="'self'", worker_src="blob:")


@router.get("/docs/assets/{name}")
def asset(name: Annotated[str, Path(max_length=40)], request: Request) -> Response:
    """The documentation pages' scripts, styles and icon."""
    if name not in ASSET_TYPES:
        raise HTTPException(404, f"no file {name!r}")
    path, media_type = ASSETS / name, ASSET_TYPES[name]
    headers = {"Cache-Control": "public, max-age=86400", "Vary": "Accept-Encoding"}
    if media_type.startswith("text/") and "gzip" in request.headers.get("accept-encoding", ""):
        return gzipped(path, media_type, headers)
    return FileResponse(path, media_type=media_type, headers=headers)
