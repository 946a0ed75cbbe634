import pytest
from pydantic import ValidationError

from kb.articles import ArticleConflict, ArticleCreate, ArticleUpdate, create_article, update_article
from kb.importer import ArticleImportError, parse_markdown, read_folder


def _create(session, **fields):
    data = {"lang": "en", "title": "Title", "body": "Body text.", **fields}
    return create_article(session, ArticleCreate(**data), author="editor")


def test_edits_are_versioned_with_who_and_what(sessions):
    with sessions() as session:
        article = _create(session, id="a-1")
        session.commit()
        update_article(session, "a-1", ArticleUpdate(title="New title", tags=["x", "x"]), author="mina")
        update_article(session, "a-1", ArticleUpdate(title="New title"), author="mina")
        session.commit()
        assert article.version == 2
        assert article.tags == ["x"]
        assert [(r.version, r.author, r.change) for r in article.revisions] == [
            (1, "editor", "created"),
            (2, "mina", "edited title, tags"),
        ]


def test_duplicate_id_is_a_conflict(sessions):
    with sessions() as session:
        _create(session, id="dup")
        session.commit()
        with pytest.raises(ArticleConflict, match="already exists"):
            _create(session, id="dup")


@pytest.mark.parametrize(
    "fields",
    [
        {"title": "   "},
        {"lang": "fr"},
        {"body": "x" * 50_001},
        {"id": "Not A Slug"},
        {"unknown": 1},
        {"questions": ["\u0000"]},
        {"tags": ["\u0007 "]},
    ],
)
def test_bad_articles_are_refused(fields):
    with pytest.raises(ValidationError):
        ArticleCreate(**{"lang": "en", "title": "T", "body": "B", **fields})


def test_the_demo_kb_parses():
    articles = read_folder(__import__("pathlib").Path(__file__).parents[2] / "kb" / "demo")
    assert len(articles) >= 30
    assert {a.article.lang for a in articles} == {"en", "ja", "ko"}


def test_import_errors_name_the_file_and_line(tmp_path):
    bad = tmp_path / "bad.md"
    bad.write_text("---\ntitle: [unclosed\nlang: en\n---\nbody", encoding="utf-8")
    with pytest.raises(ArticleImportError, match=r"bad\.md:\d+: the front matter is not valid YAML"):
        parse_markdown(bad)
    missing = tmp_path / "missing.md"
    missing.write_text("---\nlang: en\n---\nbody", encoding="utf-8")
    with pytest.raises(ArticleImportError, match=r"missing\.md: field 'title'"):
        parse_markdown(missing)


def test_control_characters_are_taken_out_of_questions_tags_and_labels():
    article = ArticleCreate(
        lang="en", title="T", body="B", questions=["where\u0000 is it"], tags=["ship\u200bping"], product="App\u0000"
    )
    assert article.questions == ["where is it"] and article.tags == ["shipping"] and article.product == "App"
