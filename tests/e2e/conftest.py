import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt
import pytest

from api.auth import create_token
from api.db import create_tables, make_engine, session_factory
from api.launcher import System, free_port, start
from api.settings import MAX_RASA_PROCESSES, Settings

# Host sites sign customer tokens with this in the e2e and browser tests (`customer_token`).
CUSTOMER_TOKEN_SECRET = "e2e-kitsune-market-" + "0123456789abcdef" * 4


def customer_token(**claims) -> str:
    """A customer token as the host site signs one, for a customer who is signed in there (valid for an hour)."""
    now = int(time.time())
    return jwt.encode({"iat": now, "exp": now + 3600, **claims}, CUSTOMER_TOKEN_SECRET, algorithm="HS256")


@contextmanager
def running_system(data_dir: Path, demo_index: Path, database_url: str | None = None) -> Iterator[System]:
    """Start the real system in `data_dir` with an agent and an editor token (`agent_token`, `editor_token`, and
    `agent_headers` / `editor_headers` for httpx); the browser tests share it."""
    shutil.copytree(demo_index, data_dir / "index")
    settings = Settings(
        data_dir=data_dir,
        port=free_port(),
        rasa_port=free_port(MAX_RASA_PROCESSES),
        database_url=database_url,
        customer_token_secret=CUSTOMER_TOKEN_SECRET,
    )
    engine = make_engine(settings.db_url)
    create_tables(engine)
    with session_factory(engine)() as session:
        agent = create_token(session, "agent", "e2e-agent")
        editor = create_token(session, "editor", "e2e-editor")
        session.commit()
    running = start(settings, log_dir=data_dir / "logs")
    running.agent_token, running.editor_token = agent, editor
    running.agent_headers = {"Authorization": f"Bearer {agent}"}
    running.editor_headers = {"Authorization": f"Bearer {editor}"}
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def system(tmp_path_factory, demo_index, fresh_database):
    """The real system: the Rasa server (trained model from the cache) and the API hosting the action webhook."""
    with running_system(tmp_path_factory.mktemp("e2e"), demo_index, fresh_database()) as running:
        yield running


class Chat:
    """A customer talking to the running system over HTTP, as the widget does."""

    def __init__(self, system, lang: str, customer_token: str | None = None) -> None:
        self.client = httpx.Client(base_url=system.api_url, timeout=60)
        known = {"customer_token": customer_token} if customer_token else {}
        created = self.client.post("/api/v1/conversations", json={"lang": lang, **known})
        assert created.status_code == 201, created.text
        assert created.json()["known"] is bool(customer_token)
        self.id = created.json()["id"]
        self.headers = {"Authorization": f"Bearer {created.json()['token']}"}

    def say(self, text: str) -> dict:
        response = self.client.post(
            f"/api/v1/conversations/{self.id}/messages", json={"text": text}, headers=self.headers
        )
        assert response.status_code == 200, response.text
        return response.json()

    @staticmethod
    def texts(reply: dict) -> str:
        return "\n".join(m["text"] for m in reply["messages"])
