"""The pages under their Content-Security-Policy in a real browser: each loads everything it needs from the API
itself, nothing from anywhere else, and nothing it needs is blocked (the API docs work offline)."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import screenshot, sign_in

pytestmark = pytest.mark.e2e


def requests_elsewhere(page, base_url: str) -> list[str]:
    """Start noting every request the page makes to anywhere but the API; the list fills as the page loads."""
    elsewhere: list[str] = []
    page.on("request", lambda r: r.url.startswith((base_url, "data:", "blob:")) or elsewhere.append(r.url))
    return elsewhere


def test_the_api_docs_load_from_the_api_itself_and_try_a_call(system, new_page):
    page = new_page()
    elsewhere = requests_elsewhere(page, system.api_url)
    page.goto(system.api_url + "/docs")
    healthz = page.locator("#operations-ops-healthz_healthz_get")
    healthz.locator(".opblock-summary-control").click()
    healthz.get_by_role("button", name="Try it out").click()
    healthz.get_by_role("button", name="Execute").click()
    expect(healthz.locator(".live-responses-table td.response-col_status:not(.col_header)")).to_have_text("200")
    expect(healthz.locator(".live-responses-table")).to_contain_text('"status": "ok"')
    screenshot(page, "api-docs")
    assert elsewhere == [] and page.csp_violations == [] and page.js_errors == []


def test_redoc_renders_the_reference_offline(system, new_page):
    page = new_page()
    elsewhere = requests_elsewhere(page, system.api_url)
    page.goto(system.api_url + "/redoc")
    expect(page.get_by_role("heading", name="Tier Zero (0.1.0)")).to_be_visible()
    expect(page.get_by_role("heading", name="Healthz")).to_be_visible()
    # ReDoc's own "by Redocly" logo is the one thing it fetches from elsewhere: the policy blocks it
    assert [url for url in elsewhere if "redoc" not in url] == []
    assert all("redoc" in violation for violation in page.csp_violations) and page.js_errors == []


def test_the_console_signs_in_under_its_policy(system, new_page):
    page = new_page()
    elsewhere = requests_elsewhere(page, system.api_url)
    sign_in(page, system.api_url + "/console", "Agent token", system.agent_token)
    assert elsewhere == [] and page.csp_violations == [] and page.js_errors == []
