"""The widget on a host site's page for a signed-in customer: the script tag's data-customer-token makes the
conversation a known customer's (the bot does not ask who they are); a token the API refuses is reported to the
site's developer in the console, and the customer chats anyway."""

import html
import json
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import Widget, screenshot
from tests.e2e.conftest import customer_token

pytestmark = pytest.mark.e2e


def host_page(page, base_url: str, token: str) -> str:
    """A page of the host site with the widget's tag carrying `token` (served by the browser itself, on the API's
    origin, so the tag's relative src works as on the demo page)."""
    url = base_url + "/shop/account"
    body = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>My account</title></head>
<body><h1>My account</h1>
<script src="/widget.js" data-customer-token="{html.escape(token)}" defer></script></body></html>"""
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=body))
    return url


def test_the_widget_with_a_customer_token_opens_a_known_customers_conversation(system, new_page):
    token = customer_token(
        sub="km-browser-7", name="Aiko Mori", email="aiko.mori@example.com", plan="enterprise", lifetime_value=1500
    )
    page = new_page()
    url = host_page(page, system.api_url, token)
    page.goto(url)
    page.get_by_role("button", name="Open the support chat").click()
    widget = Widget(page, system.api_url)
    with page.expect_response(re.compile(r"/api/v1/conversations$")) as created:
        widget.say("I want to talk to a person")
    assert json.loads(created.value.request.post_data)["customer_token"] == token
    assert created.value.status == 201 and created.value.json()["known"] is True
    asked = widget.last_bot_text()
    assert "name" not in asked.lower() and "email" not in asked.lower(), asked  # only what they need help with
    widget.say("Our team cannot see last month's invoices.")
    expect(widget.banner).to_contain_text(re.compile(r"Ticket TZ-\d+"))
    reference = re.search(r"TZ-\d+", widget.banner.inner_text()).group()
    screenshot(page, "widget-known-customer")

    tickets = httpx.get(f"{system.api_url}/api/v1/tickets", headers=system.agent_headers).json()
    [ticket] = [t for t in tickets if t["reference"] == reference]
    assert ticket["customer_id"] == "km-browser-7" and ticket["queue"] == "key_accounts"
    assert ticket["customer"] == {"name": "Aiko Mori", "email": "aiko.mori@example.com"}

    page.goto(system.api_url + "/")  # the same browser, nobody signed in: the known customer's chat is not taken up
    expect(page.locator(".msg.bot")).to_have_count(1)  # the greeting only
    stored = page.evaluate(f"localStorage.getItem('tierzero:{system.api_url}')")
    assert "id" not in json.loads(stored or "{}")
    expect(page.locator(".msg.customer")).to_have_count(0)
    assert page.js_errors == []


def test_a_refused_customer_token_is_told_in_the_console_and_the_customer_chats_anonymously(system, new_page):
    page = new_page()
    warnings = []
    page.on("console", lambda message: warnings.append(message.text) if message.type == "warning" else None)
    page.goto(host_page(page, system.api_url, "not-a-signed-token"))
    page.get_by_role("button", name="Open the support chat").click()
    widget = Widget(page, system.api_url)
    with page.expect_response(lambda r: r.url.endswith("/api/v1/conversations") and r.status == 201) as created:
        widget.say("I forgot my password")
    assert created.value.json()["known"] is False
    expect(page.locator(".msg.bot").last).to_contain_text("password")
    assert any("customer token" in w and "malformed" in w for w in warnings), warnings
    assert page.js_errors == []
