"""Choosing the tier-1 queue and priority for a handoff: ordered rules, first match wins.

The rules are data (`RoutingRule`, `PriorityRule`), so they can come from configuration; `DEFAULT_ROUTING` and
`DEFAULT_PRIORITY` are the built-in sets for the demo queues (billing, technical, account, orders, general).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

PRIORITY_ORDER = ("low", "normal", "high", "urgent")


class RoutingRule(BaseModel):
    """Send a handoff to `queue` when its topic is one of `topics` or its text contains one of `keywords`."""

    model_config = ConfigDict(extra="forbid")

    name: str
    queue: str
    topics: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class PriorityRule(BaseModel):
    """Set a handoff's priority to `priority` when its text contains one of `keywords` or its topic matches."""

    model_config = ConfigDict(extra="forbid")

    name: str
    priority: str
    topics: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class Route:
    """Where a handoff goes and why."""

    queue: str
    topic: str | None
    topic_confidence: float | None
    routed_by: str
    priority: str
    priority_by: str


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).casefold()


def _matches(rule: RoutingRule | PriorityRule, topic: str | None, text: str) -> bool:
    return (topic is not None and topic in rule.topics) or any(_fold(k) in text for k in rule.keywords)


DEFAULT_ROUTING = [
    RoutingRule(
        name="billing words",
        queue="billing",
        keywords=[
            "refund",
            "charge",
            "charged",
            "invoice",
            "payment",
            "billing",
            "返金",
            "請求",
            "支払",
            "決済",
            "領収書",
            "환불",
            "결제",
            "청구",
            "영수증",
        ],
    ),
    RoutingRule(
        name="account words",
        queue="account",
        keywords=[
            "password",
            "log in",
            "login",
            "2fa",
            "two-factor",
            "account",
            "パスワード",
            "ログイン",
            "アカウント",
            "二段階",
            "비밀번호",
            "로그인",
            "계정",
            "인증",
        ],
    ),
    RoutingRule(
        name="app words",
        queue="technical",
        keywords=["app", "crash", "error", "bug", "アプリ", "エラー", "落ち", "앱", "오류", "에러"],
    ),
    RoutingRule(
        name="order words",
        queue="orders",
        keywords=[
            "order",
            "shipping",
            "delivery",
            "package",
            "parcel",
            "return",
            "注文",
            "配送",
            "届",
            "返品",
            "荷物",
            "주문",
            "배송",
            "택배",
            "반품",
        ],
    ),
    RoutingRule(name="billing topic", queue="billing", topics=["billing"]),
    RoutingRule(name="account topic", queue="account", topics=["account"]),
    RoutingRule(name="technical topic", queue="technical", topics=["technical"]),
    RoutingRule(name="orders topic", queue="orders", topics=["orders"]),
]
DEFAULT_QUEUE = "general"

DEFAULT_PRIORITY = [
    PriorityRule(
        name="not working",
        priority="urgent",
        keywords=[
            "not working",
            "doesn't work",
            "does not work",
            "broken",
            "動かない",
            "使えない",
            "작동하지 않",
            "안 돼",
            "안돼",
        ],
    ),
    PriorityRule(
        name="billing and payment",
        priority="urgent",
        topics=["billing"],
        keywords=["charged twice", "double charge", "二重", "이중"],
    ),
]


def route(
    text: str,
    topic: str | None,
    topic_confidence: float | None,
    rules: list[RoutingRule] | None = None,
    priority_rules: list[PriorityRule] | None = None,
    default_queue: str = DEFAULT_QUEUE,
) -> Route:
    """Pick the queue by the first matching routing rule and the priority by the first matching priority rule.

    >>> route("I was charged twice", None, None).queue
    'billing'
    """
    folded = _fold(text)
    queue, routed_by = default_queue, "default"
    for rule in DEFAULT_ROUTING if rules is None else rules:
        if _matches(rule, topic, folded):
            queue, routed_by = rule.queue, f"rule: {rule.name}"
            break
    priority, priority_by = "normal", "default"
    for rule in DEFAULT_PRIORITY if priority_rules is None else priority_rules:
        if _matches(rule, topic, folded) or (rule.topics and queue in rule.topics):
            priority, priority_by = rule.priority, f"rule: {rule.name}"
            break
    return Route(queue, topic, topic_confidence, routed_by, priority, priority_by)
