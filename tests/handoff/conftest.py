"""A small sample policy (one office in Tokyo, Mon–Fri 09:00–17:00, one holiday) and helpers to hand off on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from handoff import HandoffRequest, HandoffService, ManualClock, parse_policies
from handoff.service import open_conversation

SAMPLE = """\
default_queue: general
channels: [web, email]
reminder_before: 30m
auto_close_after: 3d
business_hours:
  office:
    timezone: Asia/Tokyo
    weekly: {mon: ["09:00-17:00"], tue: ["09:00-17:00"], wed: ["09:00-17:00"], thu: ["09:00-17:00"],
             fri: ["09:00-17:00"]}
    holidays: [2025-01-13]
queues:
  general: {tier: 1, hours: office, lead: Lead General, escalate_to: experts}
  billing: {tier: 1, hours: office, lead: Lead Billing, escalate_to: experts}
  vip: {tier: 1, hours: office, lead: Lead VIP}
  experts: {tier: 2, hours: office, lead: Lead Experts, escalate_to: engineers}
  engineers: {tier: 3, hours: office, lead: Lead Engineers}
routing:
  - {name: enterprise, queue: vip, customer: {plan: [enterprise]}}
  - {name: korean email, queue: general, languages: [ko], channels: [email]}
  - {name: money, queue: billing, keywords: [refund, invoice, 請求, 결제]}
  - {name: billing topic, queue: billing, topics: [billing]}
  - {name: refund intent, queue: billing, intents: [ask_refund]}
priority:
  - {name: not working, set: urgent, keywords: [not working, 動かない, 작동하지 않]}
  - {name: billing, set: high, queues: [billing]}
  - {name: high value, raise: 1, customer: {lifetime_value: {min: 1000}}}
sla:
  - {name: urgent, priorities: [urgent], first_response: 1h, resolution: 4h}
  - {name: high, priorities: [high], first_response: 2h, resolution: 8h}
  - {name: email, channels: [email], first_response: 8h, resolution: 24h}
  - {name: the rest, first_response: 4h, resolution: 16h}
escalation:
  - {level: 1, after: 0m, notify: [assignee, queue_lead], reassign_to_lead: true}
  - {level: 2, after: 1h, notify: [queue_lead, support_manager], raise_priority: true}
  - {level: 3, after: 2h, notify: [head_of_support], raise_tier: true}
  - {level: 4, after: 4h, notify: [vp], raise_tier: true, raise_priority: true}
"""

# The sample with escalation matrices: billing, urgent, low, high, a resolution breach, and the default; and a rule
# that makes a ticket low.
MATRICES = (
    SAMPLE.replace("priority:\n", "priority:\n  - {name: just asking, set: low, keywords: [just wondering]}\n").split(
        "escalation:\n"
    )[0]
    + """\
escalation:
  - name: billing
    queues: [billing]
    levels:
      - {level: 1, after: 0m, notify: [billing_manager]}
      - {level: 2, after: 1h, notify: [finance_director]}
  - name: urgent
    priorities: [urgent]
    levels:
      - {level: 3, after: 0m, notify: [head_of_support], raise_tier: true}
      - {level: 4, after: 2h, notify: [vp]}
  - name: low
    priorities: [low]
    levels:
      - {level: 1, after: 0m, notify: [queue_lead]}
  - name: high
    priorities: [high]
    levels:
      - {level: 1, after: 0m, notify: [high_desk]}
  - name: late resolution
    breach: resolution
    levels:
      - {level: 2, after: 0m, notify: [support_manager]}
  - name: default
    levels:
      - {level: 1, after: 0m, notify: [assignee, queue_lead], reassign_to_lead: true}
      - {level: 2, after: 1h, notify: [queue_lead, support_manager], raise_priority: true}
      - {level: 3, after: 2h, notify: [head_of_support], raise_tier: true}
      - {level: 4, after: 4h, notify: [vp], raise_tier: true, raise_priority: true}
"""
)

# Friday 10 January 2025, 16:00 in Tokyo: one office hour left before a weekend and a Monday holiday.
FRIDAY_4PM_TOKYO = datetime(2025, 1, 10, 7, 0, tzinfo=UTC)


def tokyo(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in January 2025, Tokyo time (UTC+9, no daylight saving), as UTC."""
    return (
        datetime(2025, 1, day, hour - 9, minute, tzinfo=UTC)
        if hour >= 9
        else datetime(2025, 1, day - 1, hour + 15, minute, tzinfo=UTC)
    )


@pytest.fixture
def policies():
    return parse_policies(SAMPLE, source="sample.yml")


@pytest.fixture
def clock():
    return ManualClock(FRIDAY_4PM_TOKYO)


@pytest.fixture
def hand_off_on(sessions):
    """`hand_off_on(policies, clock)`: a `hand_off` under other policies or on another clock."""

    def on(policies, clock):
        def make(text: str, channel: str = "web", lang: str = "en", attributes: dict | None = None, **request) -> int:
            with sessions() as session:
                conversation, _ = open_conversation(session, lang=lang, channel=channel, customer_attributes=attributes)
                session.commit()
                ticket = HandoffService(policies, clock).hand_off(
                    session,
                    HandoffRequest(
                        conversation_id=conversation.id, reason="asked_for_person", description=text, **request
                    ),
                )
                session.commit()
                return ticket.id

        return make

    return on


@pytest.fixture
def hand_off(hand_off_on, policies, clock):
    """Hand off a new conversation saying `text`; returns the ticket id."""
    return hand_off_on(policies, clock)
