"""Known customers over HTTP: a conversation opened with the host site's signed customer token is that customer's
(not asked for name and email, routed by their plan and value, their earlier tickets shown to agents only); a token
that cannot be trusted is a 401 saying why, bad claims a 422 naming them; no customer token opens a conversation."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta
from pathlib import Path

import jwt
import pytest
from pydantic import ValidationError
from sqlalchemy import func, select

from api.auth import create_token
from api.launcher import System
from api.settings import Settings
from handoff import ManualClock
from handoff.models import Conversation
from tests.api.conftest import FRIDAY_4PM_TOKYO, module_app
from usecases.customers import DEMO_CUSTOMER

SECRET = "kitsune-market-" + "0123456789abcdef" * 4
HELP_SECRET = "kitsune-help-" + "fedcba9876543210" * 4
NEUTRAL = "Where is my parcel? It has not arrived."


@pytest.fixture(scope="module")
def api(tmp_path_factory, demo_index, fresh_database):
    """One app for the module, on the test clock (tokens expire by it), with no Rasa listening, a secret for every
    site, one for the help site, and the demo customer on."""
    clock = ManualClock(FRIDAY_4PM_TOKYO)
    settings = {
        "scheduler_interval_seconds": 3600,
        "customer_token_secret": SECRET,
        "customer_token_secrets": f"help:{HELP_SECRET}",
        "demo_customer": True,
    }
    with module_app(tmp_path_factory, demo_index, fresh_database, "known", clock, **settings) as client:
        yield client


def _now(client) -> datetime:
    return client.app.state.use_cases.ctx.clock.now()


def customer_token(client, key: str = SECRET, algorithm: str = "HS256", **changes) -> str:
    now = _now(client)
    claims = {
        "sub": "cust-1001",
        "name": "Haruto Sato",
        "email": "haruto@example.com",
        "plan": "enterprise",
        "lifetime_value": 1800,
        "attributes": {"country": "JP"},
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=30)).timestamp()),
        **changes,
    }
    return jwt.encode({k: v for k, v in claims.items() if v is not None}, key, algorithm=algorithm)


def _open(client, token: str | None = None, lang: str = "en", **body):
    if token is not None:
        body["customer_token"] = token
    return client.post("/api/v1/conversations", json={"lang": lang, **body})


def _start(client, token: str | None = None, **body):
    created = _open(client, token, **body)
    assert created.status_code == 201, created.text
    return created.json()["id"], {"Authorization": f"Bearer {created.json()['token']}"}, created.json()


def _conversations(client) -> int:
    with client.app.state.use_cases.ctx.sessions() as session:
        return session.scalar(select(func.count()).select_from(Conversation))


def _agent(client):
    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, "agent", "Ren")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def _hand_off(client, conversation_id, auth, **details):
    """Ask for a person with Rasa down: the details form comes, prefilled with what the conversation knows; send it
    as the widget would (its values, the description filled in)."""
    reply = client.post(
        f"/api/v1/conversations/{conversation_id}/messages", json={"text": "I want to talk to a person"}, headers=auth
    )
    assert reply.status_code == 200, reply.text
    [form] = [m["form"] for m in reply.json()["messages"] if m.get("form")]
    values = {f["name"]: f["value"] for f in form["fields"]}
    sent = {k: v for k, v in {**values, "description": NEUTRAL, **details}.items() if v}
    handed = client.post(form["action"], json={**sent, "reason": form["reason"]}, headers=auth)
    assert handed.status_code == 200, handed.text
    return form, handed.json()


# ---- who may be known ----


def test_no_token_is_an_anonymous_customer_as_before(api):
    _, _, created = _start(api)
    assert created["known"] is False


def test_a_good_token_opens_a_known_customers_conversation_holding_its_verified_claims(api):
    conversation_id, _, created = _start(api, customer_token(api), name="Someone Else")
    assert created["known"] is True
    with api.app.state.use_cases.ctx.sessions() as session:
        stored = session.get(Conversation, conversation_id)
        assert (stored.customer_id, stored.customer_site) == ("cust-1001", None)
        assert (stored.customer_name, stored.customer_email) == ("Haruto Sato", "haruto@example.com")  # the token's
        assert stored.customer_attributes == {"country": "JP", "plan": "enterprise", "lifetime_value": 1800}


def test_the_tokens_issuer_picks_its_sites_secret(api):
    _, _, created = _start(api, customer_token(api, HELP_SECRET, iss="help"))
    assert created["known"] is True
    refused = _open(api, customer_token(api, SECRET, iss="help"))
    assert refused.status_code == 401 and "wrong signature" in refused.json()["detail"]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda c: customer_token(c, exp=int((_now(c) - timedelta(hours=1)).timestamp())), "customer_token expired at"),
        (lambda c: customer_token(c, "another-secret-" + "x" * 40), "customer_token has a wrong signature"),
        (lambda c: customer_token(c, algorithm="HS512", key=SECRET * 2), "signed with 'HS512': only HS256"),
        (lambda c: "eyJhbGciOiJub25lIn0." + customer_token(c).split(".")[1] + ".", "signed with 'none': only HS256"),
        (lambda c: "not-a-token", "customer_token is malformed"),
        (lambda c: customer_token(c, sub=None), "no `sub` claim"),
        (lambda c: customer_token(c, exp=None), "no `exp` claim"),
    ],
    ids=["expired", "wrong-secret", "hs512", "alg-none", "malformed", "no-sub", "no-exp"],
)
def test_a_token_that_cannot_be_trusted_is_a_401_saying_why_and_opens_nothing(api, make, says):
    before = _conversations(api)
    refused = _open(api, make(api))
    assert refused.status_code == 401, refused.text
    assert says in refused.json()["detail"]
    assert _conversations(api) == before


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"plan": 3}, "customer_token.plan"),
        ({"lifetime_value": "lots"}, "customer_token.lifetime_value"),
        ({"name": "n" * 200}, "customer_token.name"),
        ({"attributes": {f"a{i}": i for i in range(25)}}, "customer_token.attributes"),
        ({"attributes": {"tags": ["vip"]}}, "customer_token.attributes: tags"),
    ],
)
def test_claims_of_the_wrong_type_or_size_are_a_422_naming_the_claim(api, changes, field):
    refused = _open(api, customer_token(api, **changes))
    assert refused.status_code == 422, refused.text
    assert refused.json()["detail"].startswith(field), refused.json()


def test_a_token_over_the_size_limit_is_a_422_naming_the_field(api):
    refused = _open(api, "x" * 5000)
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["loc"] == ["body", "customer_token"]
    assert refused.json()["detail"].startswith("customer_token:")


# ---- what a known customer gets ----


def test_a_known_customer_is_not_asked_for_name_and_email_and_goes_to_key_accounts_raised(api):
    conversation_id, auth, _ = _start(api, customer_token(api, sub="cust-route"))
    form, handed = _hand_off(api, conversation_id, auth)
    values = {f["name"]: f["value"] for f in form["fields"]}
    assert (values["name"], values["email"]) == ("Haruto Sato", "haruto@example.com")  # filled in, not asked
    assert handed["ticket"]["queue"] == "key_accounts"
    ticket = api.get(f"/api/v1/tickets/{handed['ticket']['id']}", headers=_agent(api)).json()
    assert (ticket["queue"], ticket["routed_by"]) == ("key_accounts", "rule: enterprise customers")
    assert ticket["priority"] == "high"  # normal, raised one level for a lifetime value of 1800
    created = ticket["history"][0]
    assert "raised by rule: high-value customer" in created["priority_by"]
    assert ticket["customer"] == {"name": "Haruto Sato", "email": "haruto@example.com"}
    assert ticket["customer_id"] == "cust-route"
    assert ticket["customer_attributes"]["plan"] == "enterprise"


def test_a_customer_below_the_value_threshold_on_another_plan_is_routed_as_anyone(api):
    conversation_id, auth, _ = _start(api, customer_token(api, sub="cust-small", plan="free", lifetime_value=20))
    _, handed = _hand_off(api, conversation_id, auth, description="My package tracking has not changed for a week.")
    ticket = api.get(f"/api/v1/tickets/{handed['ticket']['id']}", headers=_agent(api)).json()
    assert (ticket["queue"], ticket["priority"]) == ("orders", "normal")


def test_the_agent_sees_the_customers_earlier_tickets_and_conversations(api):
    token = customer_token(api, sub="cust-history")
    first_id, first_auth, _ = _start(api, token)
    _, first = _hand_off(api, first_id, first_auth, description="My invoice is wrong")
    _start(api, token)  # a conversation that never became a ticket
    second_id, second_auth, _ = _start(api, token)
    _, second = _hand_off(api, second_id, second_auth, description="Can I change the colour of my order?")
    _start(api, customer_token(api, sub="someone-else"))

    ticket = api.get(f"/api/v1/tickets/{second['ticket']['id']}", headers=_agent(api)).json()
    history = ticket["customer_history"]
    assert history["matched_by"] == "customer_id"
    assert [t["reference"] for t in history["tickets"]] == [first["ticket"]["reference"]]
    [earlier] = history["tickets"]
    assert (earlier["status"], earlier["queue"], earlier["subject"]) == ("new", "key_accounts", "My invoice is wrong")
    assert datetime.fromisoformat(earlier["created_at"]).utcoffset() == timedelta(0)
    assert (history["tickets_total"], history["conversations"]) == (1, 2)


def test_the_customers_history_never_reaches_the_customer(api):
    token = customer_token(api, sub="cust-private")
    first_id, first_auth, _ = _start(api, token)
    _, first = _hand_off(api, first_id, first_auth, description="I would like to update our company address.")
    second_id, second_auth, _ = _start(api, token)
    _, second = _hand_off(api, second_id, second_auth, description="Please add a colleague to our account.")
    seen = [
        json.dumps(second),
        api.get(f"/api/v1/conversations/{second_id}", headers=second_auth).text,
        api.post(f"/api/v1/conversations/{second_id}/messages", json={"text": "any news?"}, headers=second_auth).text,
    ]
    for text in seen:
        assert "customer_history" not in text and first["ticket"]["reference"] not in text
        assert "customer_attributes" not in text and "enterprise" not in text


def test_anonymous_customers_history_is_matched_by_email_and_says_so(api):
    first_id, first_auth, _ = _start(api)
    gift_card = "The gift card code is rejected at checkout."
    _, first = _hand_off(api, first_id, first_auth, name="Mia", email="Mia.Kato@example.com", description=gift_card)
    second_id, second_auth, _ = _start(api)
    newsletter = "How do I stop the newsletter emails?"
    _, second = _hand_off(api, second_id, second_auth, name="Mia", email="mia.kato@example.com", description=newsletter)
    history = api.get(f"/api/v1/tickets/{second['ticket']['id']}", headers=_agent(api)).json()["customer_history"]
    assert history["matched_by"] == "email"
    assert [t["reference"] for t in history["tickets"]] == [first["ticket"]["reference"]]


# ---- a customer token opens nothing ----


def test_a_customer_token_never_opens_a_conversation(api):
    token = customer_token(api, sub="cust-owner")
    owner_id, owner_auth, _ = _start(api, token)
    assert api.get(f"/api/v1/conversations/{owner_id}", headers=owner_auth).status_code == 200
    as_bearer = {"Authorization": f"Bearer {token}"}
    assert api.get(f"/api/v1/conversations/{owner_id}", headers=as_bearer).status_code == 401
    sent = api.post(f"/api/v1/conversations/{owner_id}/messages", json={"text": "hi"}, headers=as_bearer)
    assert sent.status_code == 401
    # the same customer's next conversation has a key of its own, which does not open the first
    other_id, other_auth, _ = _start(api, token)
    assert other_id != owner_id
    assert api.get(f"/api/v1/conversations/{owner_id}", headers=other_auth).status_code == 401
    # nor does another customer's token with the first one's id
    impostor = customer_token(api, sub="cust-owner", name="Impostor", key="impostor-secret-" + "y" * 40)
    assert _open(api, impostor).status_code == 401


# ---- the demo page ----


def test_the_demo_page_links_the_signed_in_example_whose_token_is_the_demo_customers(api):
    assert 'href="/demo/signed-in"' in api.get("/").text
    page = api.get("/demo/signed-in")
    assert page.status_code == 200 and page.headers["cache-control"] == "no-store"
    [token] = [part.split('"')[0] for part in page.text.split('data-customer-token="')[1:]]
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == DEMO_CUSTOMER["sub"] and claims["iss"] == "tierzero-demo"
    _, _, created = _start(api, token)
    assert created["known"] is True
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, SECRET, algorithms=["HS256"])  # the site's secret signs nothing a visitor can fetch


# ---- the settings ----


def test_site_secrets_are_read_as_a_list_or_json_and_a_short_one_is_refused_without_being_shown(monkeypatch):
    monkeypatch.setenv("TIERZERO_CUSTOMER_TOKEN_SECRETS", f"shop:{SECRET}, help:{HELP_SECRET}")
    listed = Settings().customer_token_secrets
    assert {site: s.get_secret_value() for site, s in listed.items()} == {"shop": SECRET, "help": HELP_SECRET}
    monkeypatch.setenv("TIERZERO_CUSTOMER_TOKEN_SECRETS", json.dumps({"shop": SECRET}))
    assert Settings().customer_token_secrets["shop"].get_secret_value() == SECRET
    assert SECRET not in repr(Settings())
    monkeypatch.setenv("TIERZERO_CUSTOMER_TOKEN_SECRETS", "shop:tooshort")
    with pytest.raises(ValidationError) as refused:
        Settings()
    assert "at least 32 characters" in str(refused.value) and "tooshort" not in str(refused.value)


def test_the_known_customer_settings_given_in_code_reach_the_api_process(tmp_path):
    settings = Settings(
        data_dir=tmp_path,
        customer_token_secret=SECRET,
        customer_token_secrets={"help": HELP_SECRET},
        demo_customer=True,
    )
    _, env = System(settings=settings, rasa_bin="", model=Path(), log_dir=tmp_path)._command("api")
    assert env["TIERZERO_CUSTOMER_TOKEN_SECRET"] == SECRET and env["TIERZERO_DEMO_CUSTOMER"] == "true"
    assert json.loads(env["TIERZERO_CUSTOMER_TOKEN_SECRETS"]) == {"help": HELP_SECRET}
