"""Schemathesis: requests generated from the OpenAPI schema, valid and invalid, must never get a 5xx."""

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings

from api.auth import create_token
from api.main import create_app
from api.settings import Settings
from tests.api.conftest import free_port

_data = Path(tempfile.mkdtemp(prefix="tierzero-fuzz-"))
atexit.register(shutil.rmtree, _data, ignore_errors=True)
app = create_app(Settings(data_dir=_data, rasa_url=f"http://127.0.0.1:{free_port()}", load_demo_kb=False))
_running = TestClient(app).__enter__()  # runs the lifespan: database, index, bot runtime
atexit.register(_running.__exit__, None, None, None)
with app.state.use_cases.ctx.sessions() as _session:
    ADMIN = {"Authorization": f"Bearer {create_token(_session, 'admin', 'fuzz')}"}
    _session.commit()

schema = schemathesis.openapi.from_asgi("/openapi.json", app)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_request_gets_a_server_error(case):
    for headers in (None, ADMIN):
        response = case.call(headers=headers)
        assert response.status_code < 500, f"{case.method} {case.formatted_path} -> {response.status_code}"
