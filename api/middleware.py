"""ASGI middleware every request goes through: a limit on the request body's size."""

from __future__ import annotations

from collections.abc import Mapping

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def _size(count: int) -> str:
    """1048576 -> '1 MiB', 1536 -> '1.5 KiB'."""
    for unit, size in (("MiB", 1 << 20), ("KiB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f}".removesuffix(".0") + f" {unit}"
    return f"{count} bytes"


class BodyTooLarge(HTTPException):
    """413, with the limit and what to do, in the app's JSON `detail` (api/main.py answers HTTPExceptions)."""

    def __init__(self, path: str, limit: int, setting: str) -> None:
        super().__init__(
            413,
            f"the request body is larger than {limit} bytes ({_size(limit)}), the most {path} accepts: send less "
            f"(split a bulk import into several), or ask the operator to raise {setting}",
            headers={"Connection": "close"},  # the rest of the body is never read
        )


class BodyLimit:
    """Refuses, with 413, a request whose body is over the limit for its path: `limits` maps a path to its limit in
    bytes and the setting behind it (named in the message), `default` is the same for every other path.

    A Content-Length over the limit is refused before any byte of the body is read; a body without one (chunked)
    is counted as it streams in and refused as soon as it passes the limit, so the app never holds more than the
    limit (and one chunk) of it."""

    def __init__(self, app: ASGIApp, default: tuple[int, str], limits: Mapping[str, tuple[int, str]]) -> None:
        self.app, self.default, self.limits = app, default, dict(limits)

    def limit_for(self, scope: Scope) -> tuple[int, str]:
        path, root = scope["path"], scope.get("root_path") or ""
        if root and path.startswith(root):
            path = path[len(root) :]
        return self.limits.get(path, self.default)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit, setting = self.limit_for(scope)
        too_large = BodyTooLarge(scope["path"], limit, setting)
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and not declared.strip().isdigit():
            answer = JSONResponse({"detail": "the Content-Length header is not a number of bytes"}, 400)
            await answer(scope, receive, send)
            return
        if declared is not None and int(declared) > limit:
            await JSONResponse({"detail": too_large.detail}, 413, too_large.headers)(scope, receive, send)
            return

        received, started = 0, False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise too_large  # a route's body reading lets HTTPExceptions through: the app answers 413
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:  # raised where nothing answered it
            if not started:
                await JSONResponse({"detail": too_large.detail}, 413, too_large.headers)(scope, receive, send)
