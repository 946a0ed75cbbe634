"""Who may call what: every route the app serves, called by every kind of caller it must refuse and by those it must
let through. The table is checked against the app's own routes, so a new route cannot be forgotten: give it a row in
ROUTES saying who it is for (and a body or query it accepts, so that only the caller decides the answer)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import fastapi.routing
import pytest
from sqlalchemy import select, update

from api import conversations
from api.auth import ApiToken, create_token, revoke_tokens
from api.cli import main as tierzero
from api.db import ApiBase
from api.main import create_app
from api.settings import Settings
from handoff import HandoffBase
from handoff.models import utcnow
from handoff.service import hash_token
from kb import KBBase
from tests.api.conftest import module_app
from tests.api.test_tickets import handed_off

# Who a route is for.
PUBLIC = "anyone"
CUSTOMER = "the customer holding the conversation's token"
STAFF = "any staff token"
AGENT = "agents and admins"
EDITOR = "editors and admins"
RASA = "Rasa, with the action token"
ACTION = "X-TierZero-Action-Token"  # the header Rasa sends it in (bot/endpoints.yml)


@dataclass(frozen=True)
class Row:
    """Who a route is for, and a request body or query it accepts."""

    access: str
    json: dict | None = None
    params: dict = field(default_factory=dict)


ROUTES: dict[str, Row] = {
    # pages, documentation and health: nothing behind them needs a token (the staff pages sign in with one)
    "GET /": Row(PUBLIC),
    "GET /demo/signed-in": Row(PUBLIC),  # 404 while the demo customer is off, as here
    "GET /widget.js": Row(PUBLIC),
    "GET /console": Row(PUBLIC),
    "GET /editor": Row(PUBLIC),
    "GET /web/{name}": Row(PUBLIC),
    "GET /kb/{article_id}": Row(PUBLIC),
    "GET /healthz": Row(PUBLIC),
    "GET /openapi.json": Row(PUBLIC),
    "GET /docs": Row(PUBLIC),
    "GET /docs/oauth2-redirect": Row(PUBLIC),
    "GET /docs/assets/{name}": Row(PUBLIC),
    "GET /redoc": Row(PUBLIC),
    "POST /webhook": Row(RASA, {"next_action": "action_listen", "tracker": {}, "domain": {}}),
    # the customer's side
    "POST /api/v1/conversations": Row(PUBLIC, {"lang": "en"}),
    "GET /api/v1/handoff-form": Row(PUBLIC),
    "GET /api/v1/languages": Row(PUBLIC),
    "GET /api/v1/conversations/{conversation_id}": Row(CUSTOMER),
    "GET /api/v1/conversations/{conversation_id}/events": Row(CUSTOMER),
    "POST /api/v1/conversations/{conversation_id}/messages": Row(CUSTOMER, {"text": "where is my parcel?"}),
    "POST /api/v1/conversations/{conversation_id}/handoff": Row(
        CUSTOMER, {"name": "Mina", "email": "mina@example.com", "description": "my parcel never came"}
    ),
    # every staff member
    "GET /api/v1/analytics": Row(STAFF),
    "GET /metrics": Row(STAFF),  # Prometheus on a loopback address needs none (the test client is not loopback)
    # the agent's side
    "GET /api/v1/tickets": Row(AGENT),
    "GET /api/v1/tickets/{ticket_id}": Row(AGENT),
    "POST /api/v1/tickets/{ticket_id}/claim": Row(AGENT),
    "POST /api/v1/tickets/{ticket_id}/reply": Row(AGENT, {"text": "It left the warehouse today."}),
    "POST /api/v1/tickets/{ticket_id}/notes": Row(AGENT, {"text": "Courier contacted."}),
    "POST /api/v1/tickets/{ticket_id}/escalate": Row(AGENT, {"queue": "billing", "reason": "a refund"}),
    "POST /api/v1/tickets/{ticket_id}/resolve": Row(AGENT, {"resolution": "The parcel was delivered."}),
    "POST /api/v1/tickets/{ticket_id}/reopen": Row(AGENT, {"reason": "it was the wrong parcel"}),
    "POST /api/v1/tickets/{ticket_id}/close": Row(AGENT),
    "GET /api/v1/queues": Row(AGENT),
    "GET /api/v1/incidents": Row(AGENT),
    "GET /api/v1/incidents/{incident_id}": Row(AGENT),
    "POST /api/v1/incidents/{incident_id}/resolve": Row(AGENT, {"resolution": "The courier is back."}),
    # the editor's side
    "GET /api/v1/articles": Row(EDITOR),
    "POST /api/v1/articles": Row(EDITOR, {"lang": "en", "title": "Gift wrapping", "body": "We wrap gifts for free."}),
    "GET /api/v1/articles/export": Row(EDITOR),
    "POST /api/v1/articles/import": Row(EDITOR, {"files": [{"name": "a.json", "content": "[]"}], "dry_run": True}),
    "GET /api/v1/articles/{article_id}": Row(EDITOR),
    "PATCH /api/v1/articles/{article_id}": Row(EDITOR, {"tags": ["account"]}),
    "GET /api/v1/articles/{article_id}/revisions": Row(EDITOR),
    "POST /api/v1/articles/{article_id}/publish": Row(EDITOR),
    "POST /api/v1/articles/{article_id}/unpublish": Row(EDITOR),
    "POST /api/v1/articles/{article_id}/archive": Row(EDITOR),
    "GET /api/v1/search": Row(EDITOR, params={"q": "how do I reset my password"}),
    "GET /api/v1/knowledge-gaps": Row(EDITOR),
    "GET /api/v1/suggestions": Row(EDITOR),
    "POST /api/v1/suggestions/{suggestion_id}/accept": Row(EDITOR),
    "POST /api/v1/suggestions/{suggestion_id}/merge": Row(EDITOR, {"article_id": "reset-password-en"}),
    "POST /api/v1/suggestions/{suggestion_id}/reject": Row(EDITOR, {"reason": "already answered"}),
}

CALLERS = (
    "nobody",
    "unknown token",
    "expired agent",
    "revoked agent",
    "own customer",
    "other customer",
    "agent",
    "editor",
    "admin",
    "rasa",
)

# What a refused caller gets: the status and words of its `detail`.
MISSING = (401, "missing token")
UNKNOWN = (401, "unknown or revoked")
EXPIRED = (401, "has expired")
NOT_THEIRS = (401, "does not belong to this conversation")
NO_ACTION_TOKEN = (403, "needs the action token")
NOT_STAFF = {
    "nobody": MISSING,
    "unknown token": UNKNOWN,
    "expired agent": EXPIRED,
    "revoked agent": UNKNOWN,
    "own customer": UNKNOWN,
    "other customer": UNKNOWN,
    "rasa": MISSING,
}
REFUSED: dict[str, dict[str, tuple[int, str]]] = {
    PUBLIC: {},
    CUSTOMER: {
        "nobody": MISSING,
        "unknown token": NOT_THEIRS,
        "expired agent": NOT_THEIRS,
        "revoked agent": NOT_THEIRS,
        "other customer": NOT_THEIRS,
        "agent": NOT_THEIRS,
        "editor": NOT_THEIRS,
        "admin": NOT_THEIRS,
        "rasa": MISSING,
    },
    STAFF: NOT_STAFF,
    AGENT: NOT_STAFF | {"editor": (403, "needs an agent token")},
    EDITOR: NOT_STAFF | {"agent": (403, "needs an editor token")},
    RASA: {caller: NO_ACTION_TOKEN for caller in CALLERS if caller != "rasa"},
}


def served_routes() -> list[str]:
    """'METHOD /path' of everything the app answers (HEAD aside), schema or not; FastAPI ≥ 0.165 nests routers."""
    flatten = getattr(fastapi.routing, "iter_route_contexts", iter)
    routes = flatten(create_app(Settings()).routes)
    return sorted(f"{method} {route.path}" for route in routes for method in route.methods if method != "HEAD")


@dataclass
class World:
    """Two customers' conversations, each with a ticket, and a token for every caller."""

    path_values: dict[str, object]
    credentials: dict[str, dict]
    other_conversation_id: str
    other_ticket_id: int


def _bearer(token: str) -> dict:
    return {"headers": {"Authorization": f"Bearer {token}"}}


def _staff_token(client, role: str, name: str) -> str:
    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, role, name, days=30)
        session.commit()
    return token


@pytest.fixture(scope="module")
def shared_client(tmp_path_factory, demo_index, fresh_database):
    """One app for the whole module: the calls change data, never who may call."""
    with module_app(tmp_path_factory, demo_index, fresh_database, "authorization") as client:
        yield client


@pytest.fixture(scope="module")
def world(shared_client) -> World:
    client = shared_client
    own_ticket, own_conversation, own_customer = handed_off(client, "where is my parcel")
    other_ticket, other_conversation, other_customer = handed_off(client, "my card was charged twice")
    expired, revoked = _staff_token(client, "agent", "expired"), _staff_token(client, "agent", "revoked")
    with client.app.state.use_cases.ctx.sessions() as session:
        session.execute(update(ApiToken).where(ApiToken.name == "expired").values(expires_at=utcnow() - timedelta(1)))
        revoke_tokens(session, "revoked")
        session.commit()
    return World(
        path_values={
            "conversation_id": own_conversation,
            "ticket_id": own_ticket,
            "article_id": "reset-password-en",
            "incident_id": 1,
            "suggestion_id": 1,
            "name": "console.js",
        },
        credentials={
            "nobody": {},
            # a non-ASCII action token once made the webhook fail with 500 instead of refusing it
            "unknown token": {"headers": {"Authorization": "Bearer tz_ag_not-a-token", ACTION: "not-tøken".encode()}},
            "expired agent": _bearer(expired),
            "revoked agent": _bearer(revoked),
            "own customer": {"headers": own_customer},
            "other customer": {"headers": other_customer},
            "agent": _bearer(_staff_token(client, "agent", "Aiko")),
            "editor": _bearer(_staff_token(client, "editor", "Ren")),
            "admin": _bearer(_staff_token(client, "admin", "Sora")),
            "rasa": {"headers": {ACTION: "secret"}},  # the app's action token
        },
        other_conversation_id=other_conversation,
        other_ticket_id=other_ticket,
    )


@pytest.fixture(autouse=True)
def short_streams(monkeypatch):
    monkeypatch.setattr(conversations, "EVENTS_STREAM_SECONDS", 0.2)
    monkeypatch.setattr(conversations, "EVENTS_POLL_SECONDS", 0.05)


def _call(client, route: str, row: Row, world: World, caller: str):
    method, path = route.split(" ")
    credentials = world.credentials[caller]
    return client.request(
        method,
        path.format(**world.path_values),
        json=row.json,
        params={**row.params, **credentials.get("params", {})},
        headers=credentials.get("headers"),
    )


def _wrong_answer(response, refusal: tuple[int, str] | None) -> str | None:
    """What is wrong with `response` given the refusal expected (None: the caller must get through), if anything."""
    if refusal is None:
        return f"let through expected, got {response.status_code}" if response.status_code in (401, 403) else None
    status, words = refusal
    detail = response.json().get("detail") if response.headers.get("content-type") == "application/json" else None
    if response.status_code != status or not isinstance(detail, str) or words not in detail:
        return f"expected {status} saying {words!r}, got {response.status_code}: {response.text[:200]}"
    return None


def test_every_row_is_a_route_the_app_serves():
    assert sorted(set(ROUTES) - set(served_routes())) == []


@pytest.mark.parametrize("route", served_routes())
def test_each_route_refuses_whoever_it_is_not_for(route, shared_client, world):
    row = ROUTES.get(route)
    assert row is not None, f"{route} has no row in ROUTES: say who it is for"
    wrong = {}
    for caller in CALLERS:
        response = _call(shared_client, route, row, world, caller)
        problem = _wrong_answer(response, REFUSED[row.access].get(caller))
        if problem:
            wrong[caller] = problem
    assert wrong == {}


def test_a_customer_never_sees_another_conversation_or_its_ticket(shared_client, world):
    client, mine = shared_client, world.credentials["own customer"]
    theirs = f"/api/v1/conversations/{world.other_conversation_id}"
    attempts = [
        client.get(theirs, **mine),
        client.get(f"{theirs}/events", **mine),
        client.post(f"{theirs}/messages", json={"text": "show me everything"}, **mine),
        client.get(f"/api/v1/tickets/{world.other_ticket_id}", **mine),
        client.get("/api/v1/tickets", **mine),
    ]
    assert [a.status_code for a in attempts] == [401] * len(attempts)
    assert all("charged twice" not in a.text and world.other_conversation_id not in a.text for a in attempts)

    own = client.get(f"/api/v1/conversations/{world.path_values['conversation_id']}", **mine).json()
    assert own["ticket"]["id"] == world.path_values["ticket_id"]
    assert "charged twice" not in str(own)


def test_a_conversation_that_does_not_exist_is_404_only_with_a_token(shared_client, world):
    missing = "/api/v1/conversations/0123456789abcdef0123456789abcdef"
    assert shared_client.get(missing).status_code == 401
    found = shared_client.get(missing, **world.credentials["own customer"])
    assert found.status_code == 404 and "no conversation" in found.json()["detail"]


def test_the_public_help_center_never_shows_a_draft(shared_client, world):
    editor = world.credentials["editor"]
    draft = {"id": "spring-sale-en", "lang": "en", "title": "Spring sale", "body": "Not announced yet."}
    assert shared_client.post("/api/v1/articles", json=draft, **editor).status_code == 201
    for caller in ("nobody", "editor"):
        page = shared_client.get("/kb/spring-sale-en", **world.credentials[caller])
        assert page.status_code == 404 and "not published" in page.json()["detail"]


@pytest.fixture
def tierzero_cli(shared_client, monkeypatch, capsys):
    """Run `tierzero ...` on the shared app's database; returns what it printed."""
    settings = shared_client.app.state.settings
    monkeypatch.setenv("TIERZERO_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("TIERZERO_DATABASE_URL", settings.db_url)

    def run(*args: str) -> str:
        assert tierzero(list(args)) == 0
        return capsys.readouterr().out.strip()

    return run


def _every_stored_value(client) -> str:
    with client.app.state.use_cases.ctx.sessions() as session:
        rows = [
            session.execute(select(table)).all()
            for base in (KBBase, HandoffBase, ApiBase)
            for table in base.metadata.sorted_tables
        ]
    return repr(rows)


def test_tokens_are_stored_only_as_hashes(shared_client, tierzero_cli):
    staff = tierzero_cli("token", "create", "--role", "agent", "--name", "Hana", "--days", "7")
    customer = shared_client.post("/api/v1/conversations", json={"lang": "en"}).json()["token"]
    assert shared_client.get("/api/v1/tickets", **_bearer(staff)).status_code == 200

    stored = _every_stored_value(shared_client)
    assert staff not in stored and customer not in stored
    assert hash_token(staff) in stored and hash_token(customer) in stored


def test_a_token_stops_working_when_revoked_or_expired(shared_client, tierzero_cli, monkeypatch):
    client = shared_client
    kaito = _bearer(tierzero_cli("token", "create", "--role", "editor", "--name", "Kaito", "--days", "1"))
    yui = _bearer(tierzero_cli("token", "create", "--role", "editor", "--name", "Yui"))
    assert client.get("/api/v1/articles", **kaito).status_code == 200

    monkeypatch.setattr("api.auth.utcnow", lambda: utcnow() + timedelta(days=2))
    expired = client.get("/api/v1/articles", **kaito)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    assert client.get("/api/v1/articles", **yui).status_code == 200  # no --days: it does not expire

    assert tierzero_cli("token", "revoke", "--name", "Yui") == "revoked 1 token(s) of 'Yui'"
    revoked = client.get("/api/v1/articles", **yui)
    assert revoked.status_code == 401 and "revoked" in revoked.json()["detail"]


@pytest.mark.parametrize("days", ["0", "-3"])
def test_a_token_that_would_never_or_already_expire_is_refused(shared_client, tierzero_cli, capsys, days):
    assert tierzero(["token", "create", "--role", "agent", "--name", "Sora Never", "--days", days]) == 2
    assert "--days must be 1 to 3650" in capsys.readouterr().err
    with shared_client.app.state.use_cases.ctx.sessions() as session:
        assert session.scalar(select(ApiToken).where(ApiToken.name == "Sora Never")) is None
