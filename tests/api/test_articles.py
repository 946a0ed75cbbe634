import json

import pytest

ARTICLE = {
    "id": "pet-hotel-en",
    "lang": "en",
    "title": "Do you offer a pet hotel?",
    "body": "Yes: Kitsune Pet Stay looks after cats and dogs while you travel. Book it in the app under Services.",
    "questions": ["can you look after my dog while I travel"],
    "tags": ["services"],
    "product": "pet-stay",
}
PET_QUESTION = "can someone take care of my cat when I am away"


@pytest.fixture
def editor(staff_token):
    return staff_token("editor")


def _top(client, editor, question):
    candidates = client.get("/api/v1/search", params={"q": question}, headers=editor).json()["candidates"]
    return candidates[0]["article_id"] if candidates else None


def test_publish_edit_and_archive_take_effect_in_search_at_once(client, editor):
    assert client.post("/api/v1/articles", json=ARTICLE, headers=editor).json()["status"] == "draft"
    assert _top(client, editor, PET_QUESTION) != "pet-hotel-en"
    published = client.post("/api/v1/articles/pet-hotel-en/publish", headers=editor)
    assert published.status_code == 200 and published.json()["status"] == "published"
    assert _top(client, editor, PET_QUESTION) == "pet-hotel-en"

    edit = {"title": "Pet hotel and plant sitting", "questions": ["who waters my plants while I am on holiday"]}
    patched = client.patch("/api/v1/articles/pet-hotel-en", json=edit, headers=editor)
    assert patched.status_code == 200 and patched.json()["version"] == 3
    assert _top(client, editor, "who will water my plants when I go on holiday") == "pet-hotel-en"

    assert client.post("/api/v1/articles/pet-hotel-en/archive", headers=editor).json()["status"] == "archived"
    assert _top(client, editor, PET_QUESTION) != "pet-hotel-en"
    history = client.get("/api/v1/articles/pet-hotel-en/revisions", headers=editor).json()
    assert [h["change"] for h in history] == ["created", "published", "edited title, questions", "archived"]


def test_bad_edits_get_a_message(client, editor):
    client.post("/api/v1/articles", json=ARTICLE, headers=editor)
    for bad in ({"title": "  "}, {"lang": "fr"}, {"body": "x" * 50_001}, {"id": "renamed"}):
        response = client.patch("/api/v1/articles/pet-hotel-en", json=bad, headers=editor)
        assert response.status_code == 422 and isinstance(response.json()["detail"], str), bad
    missing = client.patch("/api/v1/articles/nope", json={"title": "T"}, headers=editor)
    assert missing.status_code == 404 and "nope" in missing.json()["detail"]
    assert client.post("/api/v1/articles/nope/publish", headers=editor).status_code == 404
    assert client.patch("/api/v1/articles/pet-hotel-en", json={"title": "T"}).status_code == 401


def test_list_filters_by_status_language_tag_and_product(client, editor):
    client.post("/api/v1/articles", json=ARTICLE, headers=editor)
    other = {
        **ARTICLE,
        "id": "pet-hotel-ja",
        "lang": "ja",
        "title": "ペットホテル",
        "tags": ["ペット"],
        "product": None,
    }
    client.post("/api/v1/articles", json={**other, "status": "published"}, headers=editor)

    def ids(**params):
        response = client.get("/api/v1/articles", params=params, headers=editor)
        assert response.status_code == 200, response.text
        return sorted(a["id"] for a in response.json())

    assert ids(status="draft") == ["pet-hotel-en"]
    assert ids(lang="ja", q="ペット") == ["pet-hotel-ja"]
    assert "pet-hotel-en" not in ids(lang="ja", limit=200)
    assert ids(tag="services") == ["pet-hotel-en"]
    assert ids(tag="ペット") == ["pet-hotel-ja"]
    assert ids(tag="serv") == []
    assert ids(product="pet-stay") == ["pet-hotel-en"]
    assert "pet-hotel-en" not in ids(status="published")
    assert client.get("/api/v1/articles", params={"status": "gone"}, headers=editor).status_code == 422


def test_bulk_import_with_dry_run_then_for_real_and_export(client, editor):
    csv_text = "id,lang,title,body,questions\nbike-en,en,Bicycle repairs,We repair bicycles in store.,fix my bike\n"
    broken = json.dumps([{"id": "broken-en", "lang": "en", "title": "", "body": "x"}])
    files = [{"name": "new.csv", "content": csv_text}, {"name": "broken.json", "content": broken}]

    dry = client.post("/api/v1/articles/import", json={"files": files, "dry_run": True}, headers=editor).json()
    assert dry["dry_run"] and dry["created"] == ["bike-en"]
    assert dry["problems"] and dry["problems"][0].startswith("broken.json:1: field 'title'")
    assert client.get("/api/v1/articles/bike-en", headers=editor).status_code == 404

    done = client.post("/api/v1/articles/import", json={"files": files}, headers=editor).json()
    assert done["created"] == ["bike-en"] and len(done["problems"]) == 1
    assert client.get("/api/v1/articles/broken-en", headers=editor).status_code == 404
    assert _top(client, editor, "can you repair my bicycle") == "bike-en"

    exported = client.get("/api/v1/articles/export", params={"format": "csv", "q": "Bicycle"}, headers=editor)
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    again = [{"name": "export.csv", "content": exported.text}]
    assert client.post("/api/v1/articles/import", json={"files": again}, headers=editor).json()["unchanged"] == [
        "bike-en"
    ]
    as_json = client.get("/api/v1/articles/export", params={"lang": "en"}, headers=editor).json()
    assert "bike-en" in {a["id"] for a in as_json} and {a["lang"] for a in as_json} == {"en"}


def test_an_import_of_only_bad_files_is_refused(client, editor):
    files = [{"name": "notes.txt", "content": "hello"}]
    response = client.post("/api/v1/articles/import", json={"files": files}, headers=editor)
    assert response.status_code == 422 and "unsupported file type" in response.json()["detail"]
    assert client.post("/api/v1/articles/import", json={"files": []}, headers=editor).status_code == 422
