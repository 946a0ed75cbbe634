"""Choosing the queue and priority of a handoff from the policies: ordered rules, first match wins.

When no routing rule matches, an optional topic classifier (see `handoff.classifier`) may pick the queue if it is
confident enough; otherwise the default queue takes it. Every decision says what made it (`routed_by`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handoff.policies import Conditions, Policies, PriorityRule, ValueRange
from handoff.vocabulary import PRIORITIES

# text → (queue, confidence); a topic classifier trained on past tickets or a labelled data set
Classify = Callable[[str], tuple[str, float]]


@dataclass(frozen=True)
class Facts:
    """What is known about a handoff when it is routed: `text`, what the handoff is about (the question and the
    description); `context`, everything else the customer wrote in the conversation."""

    text: str
    topic: str | None = None
    topic_confidence: float | None = None
    intent: str | None = None
    lang: str = "en"
    channel: str = "web"
    customer: Mapping[str, Any] = field(default_factory=dict)
    context: str = ""


@dataclass(frozen=True)
class Route:
    """Where a handoff goes, at what priority, and why."""

    queue: str
    tier: int
    priority: str
    routed_by: str
    priority_by: str
    routing_confidence: float | None = None


def fold(text: str) -> str:
    """Text as rules compare it: NFKC-normalised and case-folded (full-width and half-width alike)."""
    return unicodedata.normalize("NFKC", text).casefold()


def _attribute_holds(value: Any, wanted: list[Any] | ValueRange) -> bool:
    if isinstance(wanted, ValueRange):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return (wanted.min is None or value >= wanted.min) and (wanted.max is None or value <= wanted.max)
    return value in wanted or (isinstance(value, str) and fold(value) in {fold(str(w)) for w in wanted})


def matches(rule: Conditions, facts: Facts, folded_text: str) -> bool:
    """Whether a rule's conditions hold for these facts (see `Conditions` for the meaning)."""
    about = rule.topics or rule.intents or rule.keywords
    if about and not (
        (facts.topic is not None and facts.topic in rule.topics)
        or (facts.intent is not None and facts.intent in rule.intents)
        or any(fold(k) in folded_text for k in rule.keywords)
    ):
        return False
    if rule.languages and facts.lang not in rule.languages:
        return False
    if rule.channels and facts.channel not in rule.channels:
        return False
    return all(
        name in facts.customer and _attribute_holds(facts.customer[name], wanted)
        for name, wanted in rule.customer.items()
    )


def _priority(facts: Facts, folded: str, queue: str, rules: list[PriorityRule]) -> tuple[str, str]:
    priority, reasons = "normal", []
    applicable = [r for r in rules if (not r.queues or queue in r.queues) and matches(r, facts, folded)]
    first_set = next((r for r in applicable if r.set is not None), None)
    if first_set is not None:
        priority = first_set.set or priority
        reasons.append(f"rule: {first_set.name}")
    for rule in applicable:
        if rule.raise_by:
            priority = PRIORITIES[min(len(PRIORITIES) - 1, PRIORITIES.index(priority) + rule.raise_by)]
            reasons.append(f"raised by rule: {rule.name}")
    return priority, "; ".join(reasons) or "default"


def route(facts: Facts, policies: Policies, classify: Classify | None = None) -> Route:
    """Pick the queue (first matching rule, else a confident classifier, else the default) and the priority.

    The queue follows what the handoff is about: the rules are tried on its `text` first, and on the customer's
    other words only if none matches it (a password question answered earlier does not send an app problem to
    the account team). The priority rules read all the customer's words: "it is not working" said before the
    handoff still makes it urgent.

    >>> from handoff.policies import load_policies
    >>> route(Facts("I was charged twice"), load_policies()).queue
    'billing'
    >>> late = route(Facts("help me", context="the app is not working, I forgot my password"), load_policies())
    >>> late.queue, late.priority
    ('account', 'urgent')
    >>> route(Facts("the app crashes", context="I forgot my password"), load_policies()).queue
    'technical'
    """
    folded = fold(facts.text)
    everything = fold(f"{facts.text} {facts.context}")
    queue, routed_by, confidence = policies.default_queue, "default", None
    rule = next((r for r in policies.routing if matches(r, facts, folded)), None) or next(
        (r for r in policies.routing if facts.context and matches(r, facts, everything)), None
    )
    if rule is not None:
        queue, routed_by = rule.queue, f"rule: {rule.name}"
    elif classify is not None and facts.text.strip():
        predicted, confidence = classify(facts.text)
        if predicted in policies.queues and confidence >= policies.classifier.min_confidence:
            queue, routed_by = predicted, "classifier"
    priority, priority_by = _priority(facts, everything, queue, policies.priority)
    return Route(queue, policies.tier(queue), priority, routed_by, priority_by, confidence)
