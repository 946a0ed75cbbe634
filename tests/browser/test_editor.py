"""The KB editor in a real browser: an article published there answers the next customer in the widget, and markup
inside an article is shown as text in the editor, the widget and the public page."""

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Widget, screenshot, sign_in

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=window.__xss=1>"


def test_an_article_published_in_the_editor_answers_the_next_customer(system, new_page):
    editor = new_page()
    sign_in(editor, system.api_url + "/editor", "Editor token", system.editor_token)
    expect(editor.locator("#list-count")).to_contain_text("articles")
    editor.get_by_role("button", name="New article").click()
    editor.get_by_label("Title", exact=True).fill("Do you offer gift wrapping?")
    editor.get_by_label("Topic", exact=True).fill("orders")
    editor.get_by_label("Alternative questions").fill("can you gift wrap my order\ngift wrapping service")
    editor.get_by_label("Body (Markdown)").fill(
        "Yes: tick **Gift wrap** at checkout and we wrap each item in washi paper for 300 yen.\n\n"
        "- Add a message card\n- Prices are left off the receipt"
    )
    expect(editor.locator("#preview strong")).to_have_text("Gift wrap")
    expect(editor.locator("#preview li")).to_have_count(2)
    editor.get_by_role("button", name="Save and publish").click()
    expect(editor.locator("#notice")).to_contain_text("Published")

    editor.get_by_label("Question", exact=True).fill("Can you gift wrap my order?")
    editor.get_by_role("button", name="Test", exact=True).click()
    expect(editor.locator(".decision")).to_have_text("answer")
    expect(editor.locator("#test-result tbody tr").first).to_contain_text("Do you offer gift wrapping?")
    screenshot(editor, "editor-published")

    customer = new_page()
    Widget(customer, system.api_url).open().say("Can you gift wrap my order?")
    expect(customer.locator("a.card").last).to_contain_text("Do you offer gift wrapping?")
    screenshot(customer, "widget-new-article")
    assert editor.csp_violations == [] and customer.csp_violations == []


def test_markup_in_an_article_is_shown_as_text_everywhere(system, new_page):
    created = httpx.post(
        f"{system.api_url}/api/v1/articles",
        json={
            "id": "parcel-lockers-en",
            "lang": "en",
            "status": "published",
            "title": f"Parcel lockers {XSS}",
            "body": f"Collect your parcel from a locker near you. {XSS}\n\n[locker map](javascript:window.__xss=2)",
            "questions": ["can I collect my parcel from a locker", "parcel locker pickup"],
        },
        headers=system.editor_headers,
    )
    assert created.status_code == 201, created.text

    editor = new_page()
    sign_in(editor, system.api_url + "/editor#article-parcel-lockers-en", "Editor token", system.editor_token)
    expect(editor.get_by_label("Title", exact=True)).to_have_value(f"Parcel lockers {XSS}")
    expect(editor.locator("#preview")).to_contain_text(XSS)
    expect(editor.locator("#preview a")).to_have_count(0)  # a javascript: link is left as text
    expect(editor.locator("#articles")).to_contain_text(f"Parcel lockers {XSS}")

    customer = new_page()
    Widget(customer, system.api_url).open().say("Can I collect my parcel from a parcel locker?")
    expect(customer.get_by_role("log", name="Conversation")).to_contain_text(f"Parcel lockers {XSS}")

    public = new_page()
    public.goto(f"{system.api_url}/kb/parcel-lockers-en")
    expect(public.get_by_role("heading", level=1)).to_have_text(f"Parcel lockers {XSS}")
    assert public.evaluate("getComputedStyle(document.body).maxWidth") == "704px"  # web/article.css, 44rem
    screenshot(public, "article-page-markup-as-text")
    assert public.csp_violations == []

    for page in (editor, customer, public):
        assert page.locator("img").count() == 0
        assert page.evaluate("window.__xss") is None


def test_an_import_is_tried_as_a_dry_run_before_it_changes_anything(system, new_page):
    article = (
        "---\nid: gift-cards-en\nlang: en\ntitle: Can I buy a gift card?\ntopic: billing\n"
        "questions:\n  - do you sell gift cards\n---\nYes, from 1,000 to 50,000 yen, sent by email.\n"
    )
    broken = "---\nid: broken\nlang: fr\ntitle: Cadeau\n---\nLanguage not supported.\n"
    editor = new_page()
    sign_in(editor, system.api_url + "/editor", "Editor token", system.editor_token)
    editor.get_by_label("Files").set_input_files(
        files=[
            {"name": "gift-cards.md", "mimeType": "text/markdown", "buffer": article.encode()},
            {"name": "broken.md", "mimeType": "text/markdown", "buffer": broken.encode()},
        ]
    )
    editor.get_by_role("button", name="Dry run").click()
    report = editor.locator("#import-result")
    expect(report).to_contain_text("Dry run: nothing was changed.")
    expect(report).to_contain_text("Would create (1)")
    expect(report).to_contain_text("gift-cards-en")
    expect(report).to_contain_text("broken.md")
    stored = httpx.get(f"{system.api_url}/api/v1/articles/gift-cards-en", headers=system.editor_headers)
    assert stored.status_code == 404

    editor.get_by_role("button", name="Import", exact=True).click()
    expect(report).to_contain_text("Created (1)")
    expect(editor.locator("#articles")).to_contain_text("Can I buy a gift card?")
    screenshot(editor, "editor-import")
