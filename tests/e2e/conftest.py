import shutil
import socket

import httpx
import pytest

from api.auth import create_token
from api.db import create_tables, make_engine, session_factory
from api.launcher import start
from api.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def system(tmp_path_factory, demo_index):
    """The real system: the Rasa server (trained model from the cache) and the API hosting the action webhook."""
    data_dir = tmp_path_factory.mktemp("e2e")
    shutil.copytree(demo_index, data_dir / "index")
    settings = Settings(data_dir=data_dir, port=free_port(), rasa_port=free_port())
    engine = make_engine(settings.db_url)
    create_tables(engine)
    with session_factory(engine)() as session:
        agent = create_token(session, "agent", "e2e-agent")
        session.commit()
    running = start(settings, log_dir=data_dir / "logs")
    running.agent_headers = {"Authorization": f"Bearer {agent}"}
    yield running
    running.stop()


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
