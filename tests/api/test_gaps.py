"""The knowledge-gaps report over HTTP: conversations the bot could not answer become a cluster, articles customers
went past to a person are flagged, and only editors and admins may read it."""

from api.rasa_client import to_messages
from handoff import HandoffRequest
from handoff.service import get_conversation, record_message
from tests.api.test_tickets import agent

NO_ANSWER = [
    {
        "text": "I'm sorry, I couldn't find an answer to that in our help center. Shall I pass your question on?",
        "buttons": [{"title": "Yes, please", "payload": "/affirm"}, {"title": "No, thanks", "payload": "/deny"}],
    }
]
HOW_CAN_I_HELP = [{"text": "Of course. What else can I do for you?"}]
HANDOFF_INTRO = [{"text": "Sure, I'll connect you with our support team."}]


def answer(article_id: str) -> list[dict]:
    return [{"text": "Here is what I found."}, {"custom": {"articles": [{"id": article_id, "title": article_id}]}}]


def conversation(client, exchanges: list[tuple[str, list[dict]]], lang: str = "en") -> str:
    """A conversation stored as the API stores one when Rasa replies: each customer text, then Rasa's replies."""
    conversation_id = client.post("/api/v1/conversations", json={"lang": lang}).json()["id"]
    with client.app.state.use_cases.ctx.sessions() as session:
        stored = get_conversation(session, conversation_id)
        for text, replies in exchanges:
            record_message(session, stored, "customer", text)
            for message in to_messages(replies):
                record_message(
                    session, stored, "bot", message["text"], {k: v for k, v in message.items() if k != "text"}
                )
        session.commit()
    return conversation_id


def hand_off(client, conversation_id: str, reason: str, description: str, question: str | None = None) -> int:
    with client.app.state.use_cases.ctx.sessions() as session:
        ticket = client.app.state.use_cases.ctx.handoff.hand_off(
            session,
            HandoffRequest(conversation_id=conversation_id, reason=reason, description=description, question=question),
        )
        session.commit()
        return ticket.id


def editor(client) -> dict[str, str]:
    from api.auth import create_token

    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, "editor", "Mina")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_questions_the_bot_could_not_answer_make_a_cluster_and_overridden_articles_are_flagged(client):
    conversation(client, [("Can I pay with PayPay?", NO_ANSWER), ("/deny", HOW_CAN_I_HELP)])
    conversation(client, [("PayPayで支払えますか？", NO_ANSWER)], lang="ja")
    accepted = conversation(client, [("Do you accept PayPay?", NO_ANSWER), ("/affirm", HANDOFF_INTRO)])
    paypay_ticket = hand_off(client, accepted, "no_answer", "Do you accept PayPay?", question="Do you accept PayPay?")
    went_past = conversation(client, [("where is my refund", answer("refund-status-en")), ("a person", HANDOFF_INTRO)])
    refund_ticket = hand_off(client, went_past, "asked_for_person", "I was charged twice for order 1234")
    conversation(client, [("where is my refund", answer("refund-status-en")), ("thanks", HOW_CAN_I_HELP)])
    staff = agent(client)
    for ticket_id, resolution, article_id in [
        (paypay_ticket, "We do not take PayPay yet; cards, PayPal and Kitsune Pay work.", None),
        (refund_ticket, "It was a double charge; the second one is refunded.", "double-charge-en"),
    ]:
        body = {"resolution": resolution, "article_id": article_id} if article_id else {"resolution": resolution}
        assert client.post(f"/api/v1/tickets/{ticket_id}/resolve", json=body, headers=staff).status_code == 200
    headers = editor(client)
    suggestion = next(s for s in client.get("/api/v1/suggestions", headers=headers).json() if "PayPay" in s["question"])

    report = client.get("/api/v1/knowledge-gaps", headers=headers)

    assert report.status_code == 200, report.text
    gaps = report.json()
    assert gaps["questions"] == 4 and not gaps["truncated"]  # 3 about PayPay (the handed-off one once) + the refund
    assert len(gaps["clusters"]) == 1  # the refund ticket's question stands alone, under min_count=2
    paypay = gaps["clusters"][0]
    assert paypay["count"] == 3 and paypay["languages"] == {"en": 2, "ja": 1}
    assert paypay["reasons"] == {"no_answer": 3}
    assert paypay["tickets"] == [f"TZ-{1000 + paypay_ticket}"] and paypay["suggestions"] == [suggestion["id"]]
    assert "PayPay" in paypay["title"] and len(paypay["samples"]) == 3
    assert paypay["nearest"]["id"].startswith("payment-methods")
    assert gaps["overridden"] == [
        {
            "article_id": "refund-status-en",
            "title": "Where is my refund?",
            "shown": 2,
            "overridden": 2,
            "escalated": 1,
            "replaced": 1,
            "replaced_by": {"double-charge-en": 1},
        }
    ]
    assert gaps["near_duplicates"] == []  # the demo articles are distinct
    singles = client.get("/api/v1/knowledge-gaps", params={"min_count": 1, "days": 1}, headers=headers).json()
    assert [c["count"] for c in singles["clusters"]] == [3, 1]


def test_contact_details_placeholders_are_not_questions(client):
    form = [{"text": "Please fill in this form.", "form": {"reason": "no_answer"}}]
    stories = [  # as stored when Rasa dies mid-form and the API offers the form
        [("Do you have a pet hotel?", NO_ANSWER), ("/affirm", HOW_CAN_I_HELP), ("[name given in the form]", form)],
        [("[email removed]", form)],
    ]
    conversation_ids = [conversation(client, []) for _ in stories]
    with client.app.state.use_cases.ctx.sessions() as session:
        for conversation_id, exchanges in zip(conversation_ids, stories, strict=True):
            stored = get_conversation(session, conversation_id)
            for text, replies in exchanges:
                record_message(session, stored, "customer", text)
                for reply in replies:
                    payload = {k: v for k, v in reply.items() if k != "text"}
                    record_message(session, stored, "bot", reply["text"], payload)
        session.commit()
    gaps = client.get("/api/v1/knowledge-gaps", params={"min_count": 1}, headers=editor(client)).json()
    assert gaps["questions"] == 1 and gaps["clusters"][0]["samples"] == ["Do you have a pet hotel?"]


def test_only_editors_and_admins_may_read_the_report(client, staff_token):
    created = client.post("/api/v1/conversations", json={"lang": "en"}).json()
    assert client.get("/api/v1/knowledge-gaps").status_code == 401
    customer = {"Authorization": f"Bearer {created['token']}"}
    assert client.get("/api/v1/knowledge-gaps", headers=customer).status_code == 401
    refused = client.get("/api/v1/knowledge-gaps", headers=staff_token("agent"))
    assert refused.status_code == 403 and "editor" in refused.json()["detail"]
    for role in ("editor", "admin"):
        empty = client.get("/api/v1/knowledge-gaps", headers=staff_token(role))
        assert empty.status_code == 200 and empty.json()["clusters"] == [] and empty.json()["questions"] == 0


def test_bad_parameters_get_a_clear_422(client, staff_token):
    headers = staff_token("editor")
    for params, field in [
        ({"days": 0}, "days"),
        ({"days": 366}, "days"),
        ({"days": "a week"}, "days"),
        ({"min_count": 0}, "min_count"),
        ({"similarity": 1.5}, "similarity"),
    ]:
        response = client.get("/api/v1/knowledge-gaps", params=params, headers=headers)
        assert response.status_code == 422, params
        assert field in response.json()["detail"]
