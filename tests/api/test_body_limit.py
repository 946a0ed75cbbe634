"""Request bodies have a limit on every route (api/middleware.py), larger for the bulk import and Rasa's action
calls: past it the answer is 413 with the limit in words, before the body is read when it says its length, and as
soon as it passes the limit when it streams without one."""

from __future__ import annotations

import asyncio
import json
import zlib

import pytest

from api.auth import create_token
from api.middleware import BodyLimit
from tests.api.conftest import module_app

LIMIT, IMPORT_LIMIT = 4096, 65536


@pytest.fixture(scope="module")
def client(tmp_path_factory, demo_index, fresh_database):
    with module_app(
        tmp_path_factory,
        demo_index,
        fresh_database,
        "body-limit",
        max_body_bytes=LIMIT,
        max_import_body_bytes=IMPORT_LIMIT,
    ) as client:
        yield client


@pytest.fixture(scope="module")
def editor(client):
    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, "editor", "body-limit")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def streamed(data: bytes, chunk: int = 1024):
    """A body without Content-Length (chunked), as a client streaming it sends it."""
    for start in range(0, len(data), chunk):
        yield data[start : start + chunk]


def too_large(response, limit: int, setting: str) -> bool:
    detail = response.json()["detail"]
    return response.status_code == 413 and f"larger than {limit} bytes" in detail and setting in detail


def test_a_body_over_the_limit_gets_413_saying_the_limit_on_every_route(client):
    big = json.dumps({"lang": "en", "padding": "x" * LIMIT}).encode()
    for path in ("/api/v1/conversations", "/api/v1/tickets/1/reply", "/api/v1/articles"):
        said = client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert too_large(said, LIMIT, "TIERZERO_MAX_BODY_BYTES"), (path, said.status_code, said.text)
        assert "(4 KiB)" in said.json()["detail"]
        chunked = client.post(path, content=streamed(big), headers={"Content-Type": "application/json"})
        assert too_large(chunked, LIMIT, "TIERZERO_MAX_BODY_BYTES"), (path, chunked.status_code, chunked.text)
    assert client.post("/api/v1/conversations", json={"lang": "en"}).status_code == 201  # under it: as before


def test_a_site_embedding_the_widget_can_read_the_413(client):
    said = client.post("/api/v1/conversations", content=b"x" * (LIMIT + 1), headers={"Origin": "https://shop.example"})
    assert said.status_code == 413 and said.headers["access-control-allow-origin"] == "*"


def test_the_bulk_import_takes_more_but_not_without_end(client, editor):
    files = [{"name": f"a{n}.json", "content": json.dumps([{"id": f"bulk-{n}", "lang": "en", "title": "Bulk",
              "body": "y" * 1000}])} for n in range(10)]  # fmt: skip
    body = json.dumps({"files": files, "dry_run": True}).encode()
    assert LIMIT < len(body) < IMPORT_LIMIT
    imported = client.post(
        "/api/v1/articles/import", content=body, headers={**editor, "Content-Type": "application/json"}
    )
    assert imported.status_code == 200 and len(imported.json()["created"]) == 10
    huge = json.dumps({"files": [{"name": "big.md", "content": "z" * IMPORT_LIMIT}]}).encode()
    for content in (huge, streamed(huge, 8192)):
        said = client.post("/api/v1/articles/import", content=content, headers=editor)
        assert too_large(said, IMPORT_LIMIT, "TIERZERO_MAX_IMPORT_BODY_BYTES"), said.text


def test_an_action_call_that_inflates_past_the_limit_is_refused(client):
    token = {"X-TierZero-Action-Token": "secret", "Content-Encoding": "deflate", "Content-Type": "application/json"}
    bomb = zlib.compress(b" " * (IMPORT_LIMIT + 1))
    assert len(bomb) < LIMIT
    said = client.post("/webhook", content=bomb, headers=token)
    assert said.status_code == 413 and "TIERZERO_MAX_IMPORT_BODY_BYTES" in said.json()["detail"]
    listen = zlib.compress(json.dumps({"next_action": "action_listen", "tracker": {}, "domain": {}}).encode())
    assert client.post("/webhook", content=listen[:-4], headers=token).status_code == 400  # cut short
    assert client.post("/webhook", content=listen, headers=token).status_code != 413


class Recorder:
    """An ASGI app that reads the whole body, and what the middleware let it see."""

    def __init__(self) -> None:
        self.read = 0

    async def __call__(self, scope, receive, send) -> None:
        while True:
            message = await receive()
            self.read += len(message.get("body", b""))
            if not message.get("more_body"):
                break
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def call(middleware: BodyLimit, headers: list[tuple[bytes, bytes]], chunks: list[bytes]) -> tuple[list[dict], int]:
    """Send `chunks` through the middleware; what it answered and how many chunks it pulled."""
    pulled, sent = 0, []

    async def receive():
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunks[pulled - 1], "more_body": pulled < len(chunks)}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/x", "root_path": "", "headers": headers}
    asyncio.run(middleware(scope, receive, send))
    return sent, pulled


def test_the_middleware_reads_no_byte_past_a_declared_length_and_stops_a_stream_at_the_limit():
    app = Recorder()
    middleware = BodyLimit(app, default=(1000, "TIERZERO_MAX_BODY_BYTES"), limits={})
    sent, pulled = call(middleware, [(b"content-length", b"10000000")], [b"x" * 100] * 100)
    assert sent[0]["status"] == 413 and pulled == 0 and app.read == 0
    assert b"larger than 1000 bytes" in sent[1]["body"]

    sent, pulled = call(middleware, [], [b"x" * 300] * 1000)  # chunked: 300 kB, no length said
    assert sent[0]["status"] == 413 and pulled == 4 and app.read == 900  # the 4th chunk passes 1000 bytes

    sent, pulled = call(middleware, [], [b"x" * 250] * 4)  # exactly the limit
    assert sent[0]["status"] == 200 and app.read == 900 + 1000

    sent, _ = call(middleware, [(b"content-length", b"ten")], [b""])
    assert sent[0]["status"] == 400
