"""Browser tests: Debian's Chromium, driven by Playwright, against the real running system (Rasa + API).

Nothing here downloads a browser: Chromium comes from Debian (`scripts/test.sh` installs it) and is launched by path.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.e2e.conftest import running_system

CHROMIUM = os.environ.get("TIERZERO_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"
# A generous bound for one step that waits on the bot (Rasa and the embedding model share two busy cores).
STEP_MS = 60_000
expect.set_options(timeout=STEP_MS)


@pytest.fixture(scope="session")
def system(tmp_path_factory, demo_index):
    """One real system for every browser test (starting Rasa is the slow part)."""
    with running_system(tmp_path_factory.mktemp("browser"), demo_index) as running:
        yield running


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() and not shutil.which(CHROMIUM):
        pytest.fail(f"Chromium is not installed at {CHROMIUM}: run `apt-get install chromium` (scripts/test.sh does)")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser):
    """Open pages in fresh browser contexts (each its own storage, like a different person's browser)."""
    contexts = []

    def make(locale: str = "en-US", timezone_id: str | None = None):
        context = browser.new_context(locale=locale, timezone_id=timezone_id, viewport={"width": 1100, "height": 800})
        context.set_default_timeout(STEP_MS)
        contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors
        # what a page's Content-Security-Policy blocked (Chromium says so on the console): a page must need nothing
        # its policy leaves out
        blocked: list[str] = []
        page.on("console", lambda message: "Content Security Policy" in message.text and blocked.append(message.text))
        page.csp_violations = blocked
        return page

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    """Save the whole page under test-output/screenshots/ (gitignored), to look at after a run."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


class Widget:
    """The chat widget on the demo page, driven as a customer would (English labels, but for the message box's
    `message_label` in another language)."""

    def __init__(self, page, base_url: str, message_label: str = "Your message") -> None:
        self.page = page
        self.base_url = base_url
        self.message_label = message_label

    def open(self) -> Widget:
        self.page.goto(self.base_url + "/")
        self.page.get_by_role("button", name="Open the support chat").click()
        expect(self.page.get_by_role("dialog", name="Support")).to_be_visible()
        return self

    @property
    def box(self):
        return self.page.get_by_role("textbox", name=self.message_label)

    def say(self, text: str) -> None:
        """Type and send a message, then wait until the bot has answered it."""
        answered = self.page.locator(".msg.bot").count()
        self.box.fill(text)
        self.box.press("Enter")
        expect(self.page.locator(".msg.bot")).not_to_have_count(answered)
        expect(self.page.locator(".typing")).to_have_count(0)

    def last_bot_text(self) -> str:
        return self.page.locator(".msg.bot").last.inner_text()

    @property
    def banner(self):
        return self.page.locator(".banner")


def sign_in(page, url: str, label: str, token: str) -> None:
    """Open a staff page and sign in with a token."""
    page.goto(url)
    page.get_by_label(label).fill(token)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
