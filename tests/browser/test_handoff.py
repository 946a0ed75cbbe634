"""A customer asks for a person in the widget; an agent, in the console in another browser, sees the ticket arrive,
reads the handoff and replies; the reply appears in the widget without a reload."""

import re

import pytest
from playwright.sync_api import expect

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
    assert re.search(r"reply (within|by)", widget.last_bot_text()), widget.last_bot_text()
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
    expect(agent.get_by_role("log", name="Conversation with the customer")).to_contain_text("Mia Tanaka")
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
