"""The analytics endpoint (staff only, validated windows) and the Prometheus /metrics endpoint."""

import json
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.cli import main
from api.db import create_tables, make_engine, session_factory
from api.settings import Settings
from handoff import HandoffRequest, fire_due_timers
from handoff.service import open_conversation, record_message


def _conversation(client, text: str) -> tuple[str, dict[str, str]]:
    """A customer's conversation with one message (Rasa is down: the API's fallback answers)."""
    created = client.post("/api/v1/conversations", json={"lang": "en"}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    assert client.post(f"/api/v1/conversations/{created['id']}/messages", json={"text": text}, headers=auth).is_success
    return created["id"], auth


def _hand_off(client, conversation_id: str, text: str) -> None:
    with client.app.state.use_cases.ctx.sessions() as session:
        client.app.state.use_cases.ctx.handoff.hand_off(
            session, HandoffRequest(conversation_id=conversation_id, reason="asked_for_person", description=text)
        )
        session.commit()


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def test_the_report_counts_a_deflected_and_an_escalated_conversation(client, staff_token):
    _conversation(client, "I forgot my password")  # the fallback answers with the reset-password article
    escalated, _ = _conversation(client, "where is my parcel")
    _hand_off(client, escalated, "where is my parcel")
    response = client.get("/api/v1/analytics", headers=staff_token("agent"))
    assert response.status_code == 200
    report = response.json()
    assert report["conversations"]["conversations"] == 2
    assert report["conversations"]["deflected"] == {"count": 1, "rate": 0.5}
    assert report["conversations"]["escalated_by_reason"]["asked_for_person"] == {"count": 1, "rate": 0.5}
    assert report["tickets"]["tickets"] == 1 and list(report["by_queue"]) == ["orders"]
    assert len(report["days"]) == 30 and report["days"][-1]["conversations"]["conversations"] == 2
    today = report["days"][-1]["day"]
    one_day = client.get("/api/v1/analytics", params={"since": today, "until": today}, headers=staff_token("editor"))
    assert [d["day"] for d in one_day.json()["days"]] == [today]


BAD_WINDOWS = [
    ({"since": "2025-02-01", "until": "2025-01-01"}, "since (2025-02-01) is after until (2025-01-01)"),
    ({"since": "2024-01-01", "until": "2025-01-01"}, "367 days long; ask for at most 366"),
    ({"since": "2025-13-01"}, "since: Input should be a valid date"),
    ({"tz": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ({"until": "0001-01-05"}, "until (0001-01-05) leaves no room for the default window"),
    ({"since": "9999-12-31", "until": "9999-12-31"}, "outside the dates that can be counted"),
]


def test_bad_windows_get_a_clear_422(client, staff_token):
    agent = staff_token("agent")
    for params, message in BAD_WINDOWS:
        response = client.get("/api/v1/analytics", params=params, headers=agent)
        assert response.status_code == 422 and message in response.json()["detail"], params


def test_analytics_is_for_staff_only(client, staff_token):
    _, customer = _conversation(client, "hello")
    assert client.get("/api/v1/analytics").status_code == 401
    assert client.get("/api/v1/analytics", headers=customer).status_code == 401
    assert client.get("/api/v1/analytics", headers=staff_token("admin")).status_code == 200


def test_metrics_are_prometheus_text_with_live_figures(api, clock, staff_token):
    conversation_id, _ = _conversation(api, "where is my parcel")
    _hand_off(api, conversation_id, "where is my parcel")  # orders, normal
    with api.app.state.use_cases.ctx.sessions() as session:  # a month later both deadlines have passed
        fire_due_timers(session, api.app.state.use_cases.ctx.policies, clock.now() + timedelta(days=30))
    api.get("/no/such/page")
    response = api.get("/metrics", headers=staff_token("agent"))
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain; version=")
    samples = _samples(response.text)
    assert samples[("tierzero_conversations_total", ())] == 1
    assert samples[("tierzero_messages_total", (("sender", "customer"),))] == 1
    assert samples[("tierzero_handoffs_total", (("reason", "asked_for_person"),))] == 1
    assert samples[("tierzero_sla_breaches_total", (("kind", "first_response"),))] == 1
    assert samples[("tierzero_sla_breaches_total", (("kind", "resolution"),))] == 1
    assert sum(v for (name, _), v in samples.items() if name == "tierzero_tickets_open") == 1
    assert samples[("tierzero_kb_articles", (("status", "published"),))] >= 30
    posted = (("method", "POST"), ("route", "/api/v1/conversations/{conversation_id}/messages"), ("status", "2xx"))
    assert samples[("tierzero_http_requests_total", posted)] == 1
    missing = (("method", "GET"), ("route", "unmatched"), ("status", "4xx"))
    assert samples[("tierzero_http_requests_total", missing)] == 1


def test_metrics_need_a_staff_token_unless_asked_from_loopback(client):
    _, customer = _conversation(client, "hello")
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers=customer).status_code == 401
    for address in ("127.0.0.1", "::1"):
        assert TestClient(client.app, client=(address, 50000)).get("/metrics").status_code == 200


def test_the_cli_prints_the_report_as_a_table_or_json(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("TIERZERO_DATA_DIR", str(tmp_path))
    engine = make_engine(Settings().db_url)
    create_tables(engine)
    with session_factory(engine)() as session:
        conversation, _ = open_conversation(session)
        conversation.created_at = datetime(2025, 1, 10, 12, tzinfo=UTC)
        record_message(session, conversation, "bot", "Here is how", {"articles": [{"id": "reset-password-en"}]})
        session.commit()
    one_day = ["analytics", "--since", "2025-01-10", "--until", "2025-01-10"]
    assert main(one_day) == 0
    table = capsys.readouterr().out
    assert "Tier Zero analytics, 2025-01-10 to 2025-01-10 (UTC)" in table
    assert "Conversations 1: answered 1 (100.0%), deflected 1 (100.0%), escalated 0 (0.0%)" in table
    assert main([*one_day, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["conversations"]["deflected"] == {"count": 1, "rate": 1.0}
    assert main(["analytics", "--since", "2025-02-01", "--until", "2025-01-01"]) == 2
    assert "swap them" in capsys.readouterr().err
    assert main(["analytics", "--until", "0001-01-05"]) == 2
    assert "leaves no room for the default window" in capsys.readouterr().err
