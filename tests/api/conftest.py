import shutil
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.auth import create_token
from api.launcher import free_port
from api.main import create_app
from api.settings import Settings
from handoff import ManualClock

# Friday 10 January 2025, 16:00 in Tokyo: two office hours before a weekend and a Monday holiday.
FRIDAY_4PM_TOKYO = datetime(2025, 1, 10, 7, 0, tzinfo=UTC)


@contextmanager
def module_app(tmp_path_factory, demo_index, fresh_database, name: str, clock=None, **settings):
    """One real app for a whole test module, built as the `client` fixture builds it (demo index, fresh database,
    no Rasa listening), for modules whose tests only add data."""
    data_dir = tmp_path_factory.mktemp(name)
    shutil.copytree(demo_index, data_dir / "index")
    settings = Settings(
        data_dir=data_dir,
        database_url=fresh_database(),
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_token="secret",
        **settings,
    )
    with TestClient(create_app(settings, clock=clock)) as client:
        yield client


@pytest.fixture
def client(data_dir):
    """The real app on a fresh database, with no Rasa server listening (so the degraded path is exercised)."""
    settings = Settings(data_dir=data_dir, rasa_url=f"http://127.0.0.1:{free_port()}", action_token="secret")
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def staff_token(client):
    def make(role: str) -> dict[str, str]:
        with client.app.state.use_cases.ctx.sessions() as session:
            token = create_token(session, role, f"test-{role}")
            session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


@pytest.fixture
def clock():
    return ManualClock(FRIDAY_4PM_TOKYO)


@pytest.fixture
def start(data_dir, clock):
    """Start the API on the shared data folder and clock; starting it again is a restart."""
    settings = Settings(
        data_dir=data_dir,
        rasa_url=f"http://127.0.0.1:{free_port()}",
        action_token="secret",
        scheduler_interval_seconds=3600,  # the tests run the clock themselves
    )

    @contextmanager
    def running(**overrides):
        with TestClient(create_app(settings.model_copy(update=overrides), clock=clock)) as client:
            yield client

    return running


@pytest.fixture
def api(start):
    with start() as client:
        yield client
