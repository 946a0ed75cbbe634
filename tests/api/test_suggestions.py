from kb.suggestions import Suggestion, suggest_from_resolution


def _suggest(client, question, article_id=None):
    app = client.app
    with app.state.use_cases.ctx.sessions() as session:
        suggestion = suggest_from_resolution(
            app.state.use_cases.ctx.kb,
            session,
            ticket="TZ-1001",
            question=question,
            resolution="Use the gift wrap option.",
            lang="en",
            article_id=article_id,
        )
        session.commit()
        return suggestion.id


def test_editor_reviews_suggestions_and_the_bot_learns(client, staff_token):
    editor = staff_token("editor")
    suggestion_id = _suggest(client, "Can you gift wrap an order for my mum's birthday?")
    listed = client.get("/api/v1/suggestions", headers=editor).json()
    assert [s["id"] for s in listed] == [suggestion_id]
    assert listed[0]["kind"] in ("new_article", "alt_question") and listed[0]["tickets"] == ["TZ-1001"]
    accepted = client.post(
        f"/api/v1/suggestions/{suggestion_id}/accept", json={"title": "Gift wrapping"}, headers=editor
    )
    assert accepted.status_code == 200 and accepted.json()["status"] == "accepted"
    again = client.post(f"/api/v1/suggestions/{suggestion_id}/accept", headers=editor).json()
    assert again["article_id"] == accepted.json()["article_id"]
    search = client.get(
        "/api/v1/search", params={"q": "Can you gift wrap an order for my mum's birthday?"}, headers=editor
    )
    assert search.json()["candidates"][0]["article_id"] == accepted.json()["article_id"]
    assert client.get("/api/v1/suggestions", headers=editor).json() == []


def test_review_errors_are_clear(client, staff_token):
    editor = staff_token("editor")
    suggestion_id = _suggest(client, "Do you sell refurbished phones?")
    assert client.post("/api/v1/suggestions/999999/accept", headers=editor).status_code == 404
    missing = client.post(f"/api/v1/suggestions/{suggestion_id}/merge", json={"article_id": "nope"}, headers=editor)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert (
        client.post(f"/api/v1/suggestions/{suggestion_id}/reject", json={"reason": ""}, headers=editor).status_code
        == 422
    )
    assert (
        client.post(f"/api/v1/suggestions/{suggestion_id}/reject", json={"reason": "dup"}, headers=editor).status_code
        == 200
    )
    conflict = client.post(f"/api/v1/suggestions/{suggestion_id}/accept", headers=editor)
    assert conflict.status_code == 409 and "rejected" in conflict.json()["detail"]
    assert client.get("/api/v1/suggestions", headers=staff_token("agent")).status_code == 403


def _as_new_article(client, suggestion_id, body):
    with client.app.state.use_cases.ctx.sessions() as session:
        suggestion = session.get(Suggestion, suggestion_id)
        suggestion.kind, suggestion.article_id, suggestion.body = "new_article", None, body
        session.commit()


def test_edits_that_leave_nothing_readable_are_refused_and_nothing_is_published(client, staff_token):
    editor = staff_token("editor")
    suggestion_id = _suggest(client, "Do you sell refurbished phones?")
    _as_new_article(client, suggestion_id, "Not yet.")
    url = f"/api/v1/suggestions/{suggestion_id}/accept"
    for edit in ({"title": "   "}, {"title": "\u0000\u0000"}, {"body": "\u0000"}, {"question": "\u0007"}):
        refused = client.post(url, json=edit, headers=editor)
        assert refused.status_code == 422, edit
        assert refused.json()["detail"].startswith(next(iter(edit)))  # names the field
    assert [s["id"] for s in client.get("/api/v1/suggestions", headers=editor).json()] == [suggestion_id]
    accepted = client.post(url, json={"title": "Refurbished\u0000 phones"}, headers=editor)
    assert accepted.status_code == 200
    article = client.get(f"/api/v1/articles/{accepted.json()['article_id']}", headers=editor).json()
    assert article["title"] == "Refurbished phones"


def test_a_suggestion_without_a_body_asks_the_editor_for_one(client, staff_token):
    editor = staff_token("editor")
    suggestion_id = _suggest(client, "Do you sell refurbished phones?")
    _as_new_article(client, suggestion_id, "")
    url = f"/api/v1/suggestions/{suggestion_id}/accept"
    refused = client.post(url, headers=editor)
    assert refused.status_code == 422 and "give the missing title or body" in refused.json()["detail"]
    assert client.post(url, json={"body": "Not yet, sorry."}, headers=editor).status_code == 200
