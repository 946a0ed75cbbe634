"""What a client such as the widget learns from the API instead of keeping its own lists: the languages a
conversation may be in, and, in the ticket brief, the queue's name in the conversation's language and when to
expect the first reply, with its time zone."""

from __future__ import annotations

import re
from datetime import datetime

from kb.lang import SUPPORTED_LANGUAGES
from usecases.texts import LANGUAGE_NAMES

UTC_OFFSET = re.compile(r"(Z|[+-]\d\d:\d\d)$")


def test_the_languages_are_listed_each_named_in_itself(client):
    response = client.get("/api/v1/languages")
    assert response.status_code == 200
    languages = response.json()
    assert [entry["code"] for entry in languages] == list(SUPPORTED_LANGUAGES)
    assert [entry["name"] for entry in languages] == [LANGUAGE_NAMES[c][c] for c in SUPPORTED_LANGUAGES]
    assert {"code": "ja", "name": "日本語"} in languages and {"code": "ko", "name": "한국어"} in languages


def test_the_ticket_brief_names_the_queue_in_the_conversations_language_and_dates_the_reply_with_its_zone(client):
    created = client.post("/api/v1/conversations", json={"lang": "ja"}).json()
    auth = {"Authorization": f"Bearer {created['token']}"}
    details = {"name": "田中美亜", "email": "mia@example.jp", "description": "二重に請求されました。返金してください。"}
    handed = client.post(f"/api/v1/conversations/{created['id']}/handoff", json=details, headers=auth)
    assert handed.status_code == 200, handed.text
    viewed = client.get(f"/api/v1/conversations/{created['id']}", headers=auth).json()
    policies = client.app.state.use_cases.ctx.policies
    for ticket in (handed.json()["ticket"], viewed["ticket"]):
        assert ticket["queue"] == "billing"
        assert ticket["queue_name"] == policies.queue_name("billing", "ja") == "お支払い担当"  # config/policies.yml
        due = ticket["first_response_due"]
        assert UTC_OFFSET.search(due), due  # a moment, not a wall-clock time in an unknown zone
        assert datetime.fromisoformat(due.replace("Z", "+00:00")).utcoffset() is not None
