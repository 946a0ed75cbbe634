"""A customer asks for a person in the widget; an agent, in the console in another browser, sees the ticket arrive,
reads the handoff and replies; the reply appears in the widget without a reload."""

import re
import shutil
from pathlib import Path

import pytest
from playwright.sync_api import expect

from api.db import create_tables, make_engine
from api.launcher import System, free_port
from api.settings import MAX_RASA_PROCESSES, Settings
from handoff.policies import load_policies
from tests.browser.conftest import Widget, screenshot, sign_in

pytestmark = pytest.mark.e2e


def test_a_handoff_reaches_the_console_and_the_agents_reply_reaches_the_widget(system, new_page):
    agent = new_page()
    sign_in(agent, system.api_url + "/console", "Agent token", system.agent_token)
    expect(agent.get_by_role("heading", name="Queues")).to_be_visible()

    customer = new_page()
    widget = Widget(customer, system.api_url).open()
    customer.get_by_role("button", name="Talk to a person").click()
    expect(customer.locator(".msg.bot").last).to_contain_text("What's your name?")
    customer.get_by_role("button", name="Talk to a person").click()  # pressed again: not taken as the name
    expect(customer.locator(".msg.system").last).to_contain_text("please answer the question above")
    widget.say("Mia Tanaka")
    assert "email" in widget.last_bot_text()
    widget.say("mia@example.com")
    assert "describe" in widget.last_bot_text()
    widget.say("I was charged twice for order 5521")
    expect(widget.banner).to_contain_text("Ticket TZ-")
    reference = re.search(r"TZ-\d+", widget.banner.inner_text()).group()
    assert reference in widget.last_bot_text()
    # when to expect the reply, in any of its phrasings (within N minutes, by a time while the team is away, or by
    # a time later today while it is open: which one depends on the clock)
    assert re.search(r"reply (from our team )?(within|by)", widget.last_bot_text()), widget.last_bot_text()
    screenshot(customer, "widget-handoff")

    customer.reload()  # the same conversation comes back, ticket and all
    expect(widget.banner).to_contain_text(reference)
    expect(customer.locator(".msg.customer p").last).to_have_text("I was charged twice for order 5521")

    ticket_button = agent.get_by_role("button", name=reference)
    expect(ticket_button).to_be_visible()  # arrived by polling, without a reload
    ticket_button.click()
    handoff = agent.locator(".handoff")
    for detail in ("Mia Tanaka", "mia@example.com", "I was charged twice for order 5521", "asked for a person"):
        expect(handoff).to_contain_text(detail)
    transcript = agent.get_by_role("log", name="Conversation with the customer")
    expect(transcript).to_contain_text("[name given in the form]")  # contact details live in their fields only
    expect(transcript).not_to_contain_text("Mia Tanaka")
    screenshot(agent, "console-ticket")

    agent.get_by_role("button", name="Claim").click()
    agent.get_by_role("tab", name="Internal note").click()
    agent.get_by_label("Only agents see it.").fill("Checked the payment provider: two captures.")
    agent.get_by_role("button", name="Add note").click()
    expect(agent.locator(".line.note")).to_contain_text("two captures")
    agent.get_by_role("tab", name="Reply").click()
    agent.get_by_label("Goes to the customer's chat.").fill("Hi Mia, I have refunded the second charge.")
    agent.get_by_role("button", name="Send reply").click()

    expect(customer.locator(".msg.agent")).to_contain_text("I have refunded the second charge")
    expect(customer.get_by_role("log", name="Conversation")).not_to_contain_text("two captures")
    screenshot(customer, "widget-agent-reply")

    agent.get_by_role("tab", name="Resolve").click()
    agent.get_by_label("The resolution").fill("Refunded the duplicate capture.")
    agent.get_by_role("button", name="Resolve").click()
    expect(widget.banner).to_contain_text("resolved")
    assert customer.js_errors == [] and agent.js_errors == []


def test_a_japanese_customer_sees_the_ticket_the_billing_team_and_when_to_expect_a_reply(system, new_page):
    customer = new_page(locale="ja-JP", timezone_id="Asia/Tokyo")
    widget = Widget(customer, system.api_url, message_label="メッセージ")
    customer.goto(system.api_url + "/")
    customer.get_by_role("button", name="サポートチャットを開く").click()
    expect(customer.get_by_role("dialog", name="サポート")).to_be_visible()
    picker = customer.get_by_label("言語")  # the languages the API lists, each named in itself
    expect(picker.locator("option")).to_have_text(["English", "日本語", "한국어"])
    expect(picker).to_have_value("ja")
    widget.say("担当者につないでください")
    assert "お名前" in widget.last_bot_text()
    widget.say("田中美亜です")
    assert "メールアドレス" in widget.last_bot_text()
    widget.say("mia@example.jp")
    assert "お困りの内容" in widget.last_bot_text()
    widget.say("二重に請求されました。返金してください。")

    expect(widget.banner).to_contain_text(re.compile(r"チケット TZ-\d+"))
    reference = re.search(r"TZ-\d+", widget.banner.inner_text()).group()
    assert reference in widget.last_bot_text()
    billing = load_policies().queue_name("billing", "ja")  # config/policies.yml: お支払い担当
    expect(widget.banner).to_contain_text(f"{billing}チーム")
    # the first reply's deadline, in the customer's language and own time zone, the zone named
    due = re.compile(r"^\d+月\d+日\(.\) \d{1,2}:\d{2} JST までに返信予定$")
    expect(widget.banner.locator(".due")).to_have_text(due)
    screenshot(customer, "widget-handoff-ja")
    customer.reload()  # the brief read back from the server says the same
    expect(widget.banner.locator(".due")).to_have_text(due)
    assert customer.js_errors == []


@pytest.fixture(scope="module")
def without_rasa(tmp_path_factory, demo_index):
    """The API alone, its Rasa URL on a port nobody listens on: the bot is unavailable the whole time."""
    data_dir = tmp_path_factory.mktemp("no-rasa")
    shutil.copytree(demo_index, data_dir / "index")
    settings = Settings(data_dir=data_dir, port=free_port(), rasa_port=free_port(MAX_RASA_PROCESSES))
    create_tables(make_engine(settings.db_url))
    running = System(settings=settings, rasa_bin="", model=Path(), log_dir=data_dir)
    running.start_process("api")
    yield running
    running.stop()


def test_with_the_bot_down_the_customer_leaves_details_in_the_form_and_gets_a_ticket(without_rasa, new_page):
    customer = new_page()
    widget = Widget(customer, without_rasa.api_url).open()
    widget.say("Do you have a pet hotel?")
    assert "unavailable" in widget.last_bot_text()
    expect(customer.get_by_label("How can we help?")).to_have_value("Do you have a pet hotel?")
    name = customer.get_by_label("Your name")
    expect(name).to_be_focused()  # the customer was typing: the form takes the keyboard from there
    customer.keyboard.press("Enter")  # nothing filled in yet
    expect(customer.locator(".hf .err").first).to_have_text("Please fill this in.")
    expect(name).to_have_attribute("aria-invalid", "true")
    customer.keyboard.type("Mia Tanaka")
    customer.keyboard.press("Tab")
    customer.keyboard.type("mia-at-example")
    customer.keyboard.press("Enter")
    email = customer.get_by_label("Email address")
    expect(email).to_be_focused()  # the server's 422, shown beside the field it is about
    expect(customer.get_by_text("enter an email address like name@example.com")).to_be_visible()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(name).to_have_attribute("aria-invalid", "false")
    email.fill("mia@example.com")
    email.press("Enter")

    expect(widget.banner).to_contain_text("Ticket TZ-")
    reference = re.search(r"TZ-\d+", widget.banner.inner_text()).group()
    expect(customer.locator(".msg.system").last).to_contain_text(f"as ticket {reference}")
    expect(customer.locator(".hf")).to_have_count(0)
    screenshot(customer, "widget-details-form-ticket")
    customer.reload()  # the ticket is there after a reload, and the answered form does not come back
    expect(widget.banner).to_contain_text(reference)
    expect(customer.locator(".hf")).to_have_count(0)
    assert not customer.js_errors
