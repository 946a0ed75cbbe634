"""Choosing the queue and priority of a handoff from the policies: ordered rules, first match wins.

The queue is decided in three steps: the hard routing rules (customer attributes, intents, channels, and any rule
not marked `yields`), then an optional queue classifier (see `handoff.classifier`) when it is at least
`classifier.min_confidence` sure, then the rules that yield to it (`yields: true`: keywords and topics); the default
queue takes what is left. Every decision says what made it (`routed_by`) and, when the classifier was asked, how
sure it was (`routing_confidence`).
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from handoff.policies import Conditions, Policies, PriorityRule, RoutingRule, ValueRange
from handoff.vocabulary import PRIORITIES

# text → (queue, confidence), or None when there is no classifier to ask (not trained, or nothing to learn from)
Classify = Callable[[str], tuple[str, float] | None]


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
    """Where a handoff goes, at what priority, and why: `routed_by` is "rule: NAME", "classifier" or "default";
    `routing_confidence` and `classified_as` are the classifier's probability and queue whenever it was asked (no
    hard rule matched), also when it was too unsure and a yielding rule or the default decided; None when not."""

    queue: str
    tier: int
    priority: str
    routed_by: str
    priority_by: str
    routing_confidence: float | None = None
    classified_as: str | None = None


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


def _first_match(rules: list[RoutingRule], facts: Facts, folded: str, everything: str) -> RoutingRule | None:
    """The first rule matching the handoff's text, else the first matching the customer's other words too."""
    return next((r for r in rules if matches(r, facts, folded)), None) or next(
        (r for r in rules if facts.context and matches(r, facts, everything)), None
    )


def route(facts: Facts, policies: Policies, classify: Classify | None = None) -> Route:
    """Pick the queue and the priority. The queue: the first matching hard rule; else the classifier's queue if it is
    at least `classifier.min_confidence` sure; else the first matching rule that yields to it; else the default.

    The queue follows what the handoff is about: the rules of each step are tried on its `text` first, and on the
    customer's other words only if none matches it (a password question answered earlier does not send an app
    problem to the account team); the classifier reads the `text`. The priority rules read all the customer's
    words: "it is not working" said before the handoff still makes it urgent.

    >>> from handoff.policies import load_policies
    >>> route(Facts("I was charged twice"), load_policies()).queue
    'billing'
    >>> late = route(Facts("help me", context="the app is not working, I forgot my password"), load_policies())
    >>> late.queue, late.priority
    ('account', 'urgent')
    >>> route(Facts("the app crashes", context="I forgot my password"), load_policies()).queue
    'technical'

    A rule that yields (the shipped topic rules) gives way to a confident classifier; a hard one (the shipped
    customer-attribute and keyword rules) does not:

    >>> shipped = load_policies()
    >>> yielding = shipped.model_copy(update={"routing": [
    ...     r.model_copy(update={"yields": True}) if r.name == "billing words" else r for r in shipped.routing]})
    >>> sure = lambda text: ("orders", 0.9)
    >>> decided = route(Facts("I want a refund"), yielding, sure)
    >>> decided.queue, decided.routed_by, decided.routing_confidence
    ('orders', 'classifier', 0.9)
    >>> unsure = route(Facts("I want a refund"), yielding, lambda text: ("orders", 0.3))
    >>> unsure.queue, unsure.routed_by, unsure.routing_confidence
    ('billing', 'rule: billing words', 0.3)
    >>> route(Facts("I want a refund"), shipped, sure).routed_by
    'rule: billing words'
    >>> route(Facts("a refund for my order", customer={"plan": "enterprise"}), load_policies(), sure).routed_by
    'rule: enterprise customers'
    """
    folded = fold(facts.text)
    everything = fold(f"{facts.text} {facts.context}")
    queue, routed_by, confidence, classified_as = policies.default_queue, "default", None, None
    rule = _first_match([r for r in policies.routing if not r.yields], facts, folded, everything)
    if rule is None and classify is not None and facts.text.strip():
        guess = classify(facts.text)
        if guess is not None:
            classified_as, confidence = guess
            if classified_as in policies.queues and confidence >= policies.classifier.min_confidence:
                queue, routed_by = classified_as, "classifier"
    if rule is None and routed_by != "classifier":
        rule = _first_match([r for r in policies.routing if r.yields], facts, folded, everything)
    if rule is not None:
        queue, routed_by = rule.queue, f"rule: {rule.name}"
    priority, priority_by = _priority(facts, everything, queue, policies.priority)
    return Route(queue, policies.tier(queue), priority, routed_by, priority_by, confidence, classified_as)
