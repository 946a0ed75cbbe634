"""usecases.articles: the editor's work on articles, without HTTP; every change the bot answers from is in the
index when the use case returns."""

from __future__ import annotations

import json
from datetime import UTC

import pytest

from kb.articles import ArticleCreate, ArticleUpdate
from usecases.articles import ArticleDesk, ArticleFilter
from usecases.errors import Conflict, Invalid, NotFound

PET_HOTEL = ArticleCreate(
    id="pet-hotel-en",
    lang="en",
    title="Do you offer a pet hotel?",
    body="Yes: Kitsune Pet Stay looks after cats and dogs while you travel. Book it in the app under Services.",
    questions=["can you look after my dog while I travel"],
    tags=["services"],
    product="pet-stay",
)
PET_QUESTION = "can someone take care of my cat when I am away"


@pytest.fixture
def desk(ctx) -> ArticleDesk:
    return ArticleDesk(ctx)


def _top(desk: ArticleDesk, question: str) -> str | None:
    candidates = desk.explain(question).candidates
    return candidates[0]["article_id"] if candidates else None


def test_a_draft_is_not_answered_from_until_published_and_archiving_takes_it_away(desk):
    created = desk.create(PET_HOTEL, "Mina")
    assert (created.status, created.version, created.url) == ("draft", 1, "https://help.example/kb/pet-hotel-en")
    assert _top(desk, PET_QUESTION) != "pet-hotel-en"
    assert desk.publish("pet-hotel-en", "Mina").status == "published"
    assert _top(desk, PET_QUESTION) == "pet-hotel-en"

    edit = ArticleUpdate(title="Pet hotel and plant sitting", questions=["who waters my plants while I am on holiday"])
    assert desk.edit("pet-hotel-en", edit, "Mina").version == 3
    assert _top(desk, "who will water my plants when I go on holiday") == "pet-hotel-en"

    assert desk.archive("pet-hotel-en", "Mina").status == "archived"
    assert _top(desk, PET_QUESTION) != "pet-hotel-en"
    assert desk.get("pet-hotel-en").title == "Pet hotel and plant sitting"  # editors still read it
    revisions = desk.revisions("pet-hotel-en")
    assert [r.change for r in revisions] == ["created", "published", "edited title, questions", "archived"]
    assert all(r.at.tzinfo is not None and r.at.utcoffset() == UTC.utcoffset(None) for r in revisions)


def test_what_cannot_be_done_is_refused_with_the_use_cases_errors(desk):
    desk.create(PET_HOTEL, "Mina")
    with pytest.raises(Conflict, match="already exists"):
        desk.create(PET_HOTEL, "Mina")
    for refused in (
        lambda: desk.get("nope"),
        lambda: desk.revisions("nope"),
        lambda: desk.edit("nope", ArticleUpdate(title="T"), "Mina"),
        lambda: desk.publish("nope", "Mina"),
    ):
        with pytest.raises(NotFound, match="nope"):
            refused()
    with pytest.raises(Invalid, match="empty"):
        desk.explain("   ")


def test_only_a_published_article_has_a_help_center_page(desk):
    desk.create(PET_HOTEL, "Mina")
    with pytest.raises(NotFound):
        desk.published("pet-hotel-en")
    desk.publish("pet-hotel-en", "Mina")
    page = desk.published("pet-hotel-en")
    assert (page.title, page.lang) == ("Do you offer a pet hotel?", "en") and page.body.startswith("Yes: Kitsune")


def test_list_filters_and_export_then_import_round_trip(desk):
    desk.create(PET_HOTEL, "Mina")
    assert [a.id for a in desk.list(ArticleFilter(status="draft"))] == ["pet-hotel-en"]
    assert [a.id for a in desk.list(ArticleFilter(tag="services"))] == ["pet-hotel-en"]
    assert [a.id for a in desk.list(ArticleFilter(query="gift"))] == ["gift-cards-en"]
    assert desk.list(ArticleFilter(tag="serv")) == []
    assert len(desk.list(ArticleFilter(), limit=1)) == 1

    exported = desk.export(ArticleFilter(product="pet-stay"), "csv")
    assert exported.splitlines()[0].startswith("id,") and "pet-hotel-en" in exported
    assert desk.import_files([("export.csv", exported)], "Mina").unchanged == ["pet-hotel-en"]
    as_json = json.loads(desk.export(ArticleFilter(lang="en")))
    assert {a["id"] for a in as_json} == {"pet-hotel-en", "gift-cards-en", "shipping-en"}


def test_an_import_reports_in_a_dry_run_stores_for_real_and_refuses_only_bad_files(desk):
    csv_text = "id,lang,title,body,questions\nbike-en,en,Bicycle repairs,We repair bicycles in store.,fix my bike\n"
    broken = json.dumps([{"id": "broken-en", "lang": "en", "title": "", "body": "x"}])
    files = [("new.csv", csv_text), ("broken.json", broken)]

    dry = desk.import_files(files, "Mina", dry_run=True)
    assert dry.dry_run and dry.created == ["bike-en"] and dry.problems[0].startswith("broken.json:1: field 'title'")
    with pytest.raises(NotFound):
        desk.get("bike-en")

    progress: list[tuple[int, int]] = []
    done = desk.import_files(files, "Mina", progress=lambda done, total: progress.append((done, total)))
    assert done.created == ["bike-en"] and len(done.problems) == 1 and progress[-1][0] == progress[-1][1]
    assert _top(desk, "can you repair my bicycle") == "bike-en"

    with pytest.raises(Invalid, match=r"nothing imported: .*unsupported file type"):
        desk.import_files([("notes.txt", "hello")], "Mina")
