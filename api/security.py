"""Security headers on every response: what a browser may do with it.

Each page sets the Content-Security-Policy that fits it (api/pages.py, api/docs.py: exactly the scripts, styles and
connections it uses); every other response (the API's JSON, errors) gets `API_POLICY`, which lets nothing load or
run and no site frame it. Every response also says `X-Content-Type-Options: nosniff` (a browser takes the
Content-Type as given, never runs a JSON answer or an uploaded text as a script or a page), `Referrer-Policy:
no-referrer` (no page's address goes to another site) and `Cross-Origin-Resource-Policy: same-origin` (no other
site may load it as a script or image), but for what other sites are meant to load (/widget.js says `cross-origin`).
"""

from __future__ import annotations

import base64
import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send


def csp_hash(text: str) -> str:
    """The CSP source that allows one inline `<script>` or `<style>` whose text is exactly `text`."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def policy(**sources: str) -> str:
    """A Content-Security-Policy that allows nothing but `sources` (script_src="'self'" is `script-src 'self'`),
    and never a `<base>` or a plugin."""
    directives = {"default_src": "'none'", "base_uri": "'none'", "object_src": "'none'", **sources}
    return "; ".join(f"{name.replace('_', '-')} {value}" for name, value in directives.items())


# The API's answers are data: nothing in them loads or runs, and no page may frame them.
API_POLICY = policy(frame_ancestors="'none'", form_action="'none'")
DEFAULT_HEADERS = (
    (b"content-security-policy", API_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-resource-policy", b"same-origin"),
)


class SecurityHeaders:
    """Adds each of `DEFAULT_HEADERS` to every HTTP response that does not set it itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(name, value) for name, value in DEFAULT_HEADERS if name not in present]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_headers)
