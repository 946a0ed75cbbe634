"""Resolving a ticket feeds the knowledge base: a suggestion waits for review, and once accepted the bot answers."""

from tests.api.test_tickets import agent, handed_off


def _editor(client):
    from api.auth import create_token

    with client.app.state.use_cases.ctx.sessions() as session:
        token = create_token(session, "editor", "Mina")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


def test_a_resolved_ticket_becomes_a_suggestion_and_then_an_answer(api):
    question = "Can I collect my order from your Osaka showroom?"
    ticket_id, _, _ = handed_off(api, question, question=question)
    resolution = "Yes: choose 'Showroom pickup' at checkout; orders are ready after 2 business days."
    resolved = api.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": resolution}, headers=agent(api))
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    editor = _editor(api)
    suggestions = api.get("/api/v1/suggestions", headers=editor).json()
    assert [s["tickets"] for s in suggestions] == [[f"TZ-{1000 + ticket_id}"]]
    assert suggestions[0]["question"] == question
    accepted = api.post(f"/api/v1/suggestions/{suggestions[0]['id']}/accept", headers=editor).json()
    best = api.get("/api/v1/search", params={"q": question}, headers=editor).json()["candidates"][0]
    assert best["article_id"] == accepted["article_id"]


def test_resolving_with_a_missing_article_is_refused_and_changes_nothing(api):
    ticket_id, _, _ = handed_off(api, "where is my parcel", question="where is my parcel")
    headers = agent(api)
    missing = api.post(
        f"/api/v1/tickets/{ticket_id}/resolve",
        json={"resolution": "Sent tracking.", "article_id": "gone"},
        headers=headers,
    )
    assert missing.status_code == 404 and "gone" in missing.json()["detail"]
    assert api.get(f"/api/v1/tickets/{ticket_id}", headers=headers).json()["status"] == "new"
    assert (
        api.post(f"/api/v1/tickets/{ticket_id}/resolve", json={"resolution": " "}, headers=headers).status_code == 422
    )
    assert api.get("/api/v1/suggestions", headers=_editor(api)).json() == []
