import socket

import pytest
from fastapi.testclient import TestClient

from api.auth import create_token
from api.main import create_app
from api.settings import Settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def client(data_dir):
    """The real app on a fresh database, with no Rasa server listening (so the degraded path is exercised)."""
    settings = Settings(data_dir=data_dir, rasa_url=f"http://127.0.0.1:{free_port()}", action_token="secret")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def staff_token(client):
    def make(role: str) -> dict[str, str]:
        with client.app.state.sessions() as session:
            token = create_token(session, role, f"test-{role}")
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make
