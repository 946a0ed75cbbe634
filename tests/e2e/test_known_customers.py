"""A known customer against the real Rasa and API: the host site's customer token says who they are, so asking for
a person goes straight to the ticket, without the form's name and email questions, and the rules read their plan."""

import pytest

from tests.e2e.conftest import Chat, customer_token
from tests.e2e.test_conversations import _ticket

pytestmark = pytest.mark.e2e


def test_a_known_japanese_customer_asking_for_a_person_is_not_asked_for_name_or_email(system):
    token = customer_token(
        sub="km-jp-2207",
        name="山本 さくら",
        email="sakura.yamamoto@example.jp",
        plan="enterprise",
        lifetime_value=3200,
        attributes={"country": "JP"},
    )
    chat = Chat(system, "ja", customer_token=token)
    message = "先週注文した商品がまだ届きません。担当者と話したいです"
    replies = [chat.say(message)]
    if replies[-1]["state"] != "waiting_agent":  # the form may still ask what the problem is: never who they are
        replies.append(chat.say("注文番号は KM-5521 です。配送状況を確認してください"))
    said = "\n".join(chat.texts(reply) for reply in replies)
    assert "お名前" not in said and "メールアドレス" not in said, said
    done = replies[-1]
    assert done["state"] == "waiting_agent", done
    ticket = _ticket(system, done)
    assert ticket["customer"] == {"name": "山本 さくら", "email": "sakura.yamamoto@example.jp"}
    assert ticket["customer_id"] == "km-jp-2207" and ticket["reason"] == "asked_for_person"
    assert ticket["description"].startswith(message) and ticket["lang"] == "ja"
    assert (ticket["queue"], ticket["routed_by"]) == ("key_accounts", "rule: enterprise customers")
    assert "raised by rule: high-value customer" in ticket["history"][0]["priority_by"]
    transcript = [entry for entry in ticket["transcript"] if entry["sender"] == "bot"]
    assert not [entry for entry in transcript if entry.get("form_field") in ("customer_name", "customer_email")]
