import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from api.auth import create_token
from api.db import create_tables, make_engine, session_factory
from api.launcher import System, free_port, start
from api.settings import MAX_RASA_PROCESSES, Settings


@contextmanager
def running_system(data_dir: Path, demo_index: Path, database_url: str | None = None) -> Iterator[System]:
    """Start the real system in `data_dir` with an agent and an editor token (`agent_token`, `editor_token`, and
    `agent_headers` / `editor_headers` for httpx); the browser tests share it."""
    shutil.copytree(demo_index, data_dir / "index")
    settings = Settings(
        data_dir=data_dir, port=free_port(), rasa_port=free_port(MAX_RASA_PROCESSES), database_url=database_url
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

    def __init__(self, system, lang: str) -> None:
        self.client = httpx.Client(base_url=system.api_url, timeout=60)
        created = self.client.post("/api/v1/conversations", json={"lang": lang})
        assert created.status_code == 201, created.text
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
