"""The chat widget in a real browser: answers with article cards, keyboard and languages, markup shown as text,
and agent replies by polling when the live stream is unavailable."""

import json

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Widget, screenshot
from tests.e2e.conftest import Chat

pytestmark = pytest.mark.e2e

XSS = "<img src=x onerror=window.__xss=1>"


def test_a_question_is_answered_with_an_article_card_using_only_the_keyboard(system, new_page):
    page = new_page()
    page.goto(system.api_url + "/")
    launcher = page.get_by_role("button", name="Open the support chat")
    launcher.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Support")).to_be_visible()
    expect(page.get_by_role("textbox", name="Your message")).to_be_focused()

    page.keyboard.type("I forgot my password")
    page.keyboard.press("Enter")
    card = page.get_by_role("log", name="Conversation").get_by_role("link").first
    expect(card).to_contain_text("How do I reset my password?")
    assert card.get_attribute("href").endswith("/kb/reset-password-en")
    assert card.get_attribute("rel") == "noopener noreferrer"
    expect(page.locator(".msg.bot").last).to_contain_text("Forgot password")
    screenshot(page, "widget-article-card")

    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Support")).to_be_hidden()
    expect(launcher).to_be_focused()
    assert page.js_errors == [] and page.csp_violations == []  # the demo page's policy allows the widget's style


def test_the_language_comes_from_the_browser_and_can_be_switched(system, new_page):
    page = new_page(locale="ko-KR")
    page.goto(system.api_url + "/")
    page.get_by_role("button", name="상담 채팅 열기").click()
    expect(page.get_by_role("dialog", name="고객 지원")).to_be_visible()
    expect(page.get_by_role("button", name="상담원 연결")).to_be_visible()
    page.get_by_label("언어").select_option("ja")
    expect(page.get_by_role("dialog", name="サポート")).to_be_visible()
    expect(page.get_by_role("button", name="担当者と話す")).to_be_visible()
    page.reload()  # the choice and the open panel are kept
    expect(page.get_by_role("dialog", name="サポート")).to_be_visible()
    expect(page.get_by_role("textbox", name="メッセージ")).to_be_visible()


def test_without_the_apis_list_of_languages_the_widget_speaks_the_pages_language_only(system, new_page):
    page = new_page(locale="ko-KR")
    page.route("**/api/v1/languages", lambda route: route.fulfill(status=503, body="unavailable"))
    page.goto(system.api_url + "/")  # <html lang="en">
    page.get_by_role("button", name="Open the support chat").click()
    expect(page.get_by_role("dialog", name="Support")).to_be_visible()
    picker = page.locator("#tz-lang")
    expect(picker.locator("option")).to_have_count(1)
    expect(picker).to_have_value("en")
    expect(picker).to_be_hidden()  # one language: nothing to choose
    assert page.js_errors == []


def test_markup_typed_by_a_customer_is_shown_as_text_and_never_runs(system, new_page):
    page = new_page()
    widget = Widget(page, system.api_url).open()
    widget.say(XSS)
    expect(page.locator(".msg.customer p").last).to_have_text(XSS)
    page.reload()  # the transcript read back from the server is shown as text too
    expect(page.locator(".msg.customer p").last).to_have_text(XSS)
    assert page.locator("img").count() == 0
    assert page.evaluate("window.__xss") is None
    screenshot(page, "widget-markup-as-text")


def test_agent_replies_arrive_by_polling_when_the_live_stream_is_blocked(system, new_page):
    chat = Chat(system, "en")
    for text in ("/ask_human", "Sam Lee", "sam@example.com", "My order never arrived"):
        done = chat.say(text)
    ticket = done["ticket"]
    assert ticket is not None, done

    page = new_page()
    page.route("**/events*", lambda route: route.fulfill(status=503, body="no streams here"))
    page.goto(system.api_url + "/")
    stored = {"id": chat.id, "token": chat.headers["Authorization"].removeprefix("Bearer "), "open": True}
    key = f"tierzero:{system.api_url}"  # where the widget keeps its conversation
    page.evaluate("([key, value]) => localStorage.setItem(key, value)", [key, json.dumps(stored)])
    page.reload()
    expect(page.locator(".banner")).to_contain_text(ticket["reference"])
    expect(page.locator(".msg.customer p").last).to_have_text("My order never arrived")

    reply = httpx.post(
        f"{system.api_url}/api/v1/tickets/{ticket['id']}/reply",
        json={"text": "It is at the depot; it will arrive tomorrow."},
        headers=system.agent_headers,
    )
    assert reply.status_code == 200, reply.text
    expect(page.locator(".msg.agent")).to_contain_text("It is at the depot")
