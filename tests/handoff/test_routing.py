import pytest

from handoff import load_policies, parse_policies
from handoff.routing import Facts, route
from tests.handoff.conftest import SAMPLE


@pytest.fixture(scope="module")
def shipped():
    return load_policies()


@pytest.mark.parametrize(
    ("text", "topic", "queue"),
    [
        ("I was charged twice for my order", None, "billing"),
        ("二重に請求されています", None, "billing"),
        ("로그인이 안 돼요", None, "account"),
        ("the app crashes when I open it", None, "technical"),
        ("注文した商品が届かない", None, "orders"),
        ("something else entirely", "account", "account"),
        ("something else entirely", None, "general"),
    ],
)
def test_the_shipped_rules_pick_the_queue(shipped, text, topic, queue):
    assert route(Facts(text, topic=topic), shipped).queue == queue


@pytest.mark.parametrize("text", ["the app is not working", "アプリが動かない", "앱이 작동하지 않아요"])
def test_not_working_is_urgent_in_every_language(shipped, text):
    assert route(Facts(text), shipped).priority == "urgent"


def test_billing_is_urgent_and_plain_questions_normal(shipped):
    assert route(Facts("question about my invoice"), shipped).priority == "urgent"
    assert route(Facts("where is my parcel"), shipped).priority == "normal"


def test_rules_are_ordered_first_match_wins(policies):
    enterprise_refund = route(Facts("refund please", customer={"plan": "Enterprise"}), policies)
    assert (enterprise_refund.queue, enterprise_refund.routed_by) == ("vip", "rule: enterprise")
    assert route(Facts("refund please", customer={"plan": "free"}), policies).queue == "billing"


def test_conditions_on_language_channel_intent_and_topic(policies):
    assert route(Facts("결제 문의", lang="ko", channel="email"), policies).routed_by == "rule: korean email"
    assert route(Facts("결제 문의", lang="ko", channel="web"), policies).queue == "billing"
    assert route(Facts("hello", intent="ask_refund"), policies).routed_by == "rule: refund intent"
    assert route(Facts("hello", topic="billing"), policies).routed_by == "rule: billing topic"
    unmatched = route(Facts("hello"), policies)
    assert (unmatched.queue, unmatched.routed_by, unmatched.tier) == ("general", "default", 1)


def test_priority_rules_set_then_raise_for_high_value_customers(policies):
    assert route(Facts("refund please"), policies).priority == "high"
    rich = route(Facts("refund please", customer={"lifetime_value": 5000}), policies)
    assert (rich.priority, rich.priority_by) == ("urgent", "rule: billing; raised by rule: high value")
    assert route(Facts("hello", customer={"lifetime_value": 1000}), policies).priority == "high"
    assert route(Facts("hello", customer={"lifetime_value": 999}), policies).priority == "normal"
    assert route(Facts("hello", customer={"lifetime_value": "lots"}), policies).priority == "normal"
    capped = route(Facts("動かない", customer={"lifetime_value": 5000}), policies)
    assert capped.priority == "urgent"


def test_a_confident_classifier_routes_what_no_rule_matches(policies):
    confident = route(Facts("hello"), policies, classify=lambda text: ("billing", 0.9))
    assert (confident.queue, confident.routed_by, confident.routing_confidence) == ("billing", "classifier", 0.9)
    unsure = route(Facts("hello"), policies, classify=lambda text: ("billing", 0.2))
    assert (unsure.queue, unsure.routed_by, unsure.routing_confidence) == ("general", "default", 0.2)
    ruled = route(Facts("refund"), policies, classify=lambda text: ("vip", 0.99))
    assert ruled.routed_by == "rule: money" and ruled.routing_confidence is None


YIELDING = parse_policies(
    SAMPLE.split("routing:\n")[0]
    + """\
routing:
  - {name: enterprise, queue: vip, customer: {plan: [enterprise]}}
  - {name: refund intent, queue: billing, intents: [ask_refund]}
  - {name: money, queue: billing, yields: true, keywords: [refund, invoice]}
  - {name: billing topic, queue: billing, yields: true, topics: [billing]}
classifier: {min_confidence: 0.6}
priority:
"""
    + SAMPLE.split("priority:\n")[1],
    source="yielding.yml",
)


def sure(queue: str, confidence: float):
    return lambda text: (queue, confidence)


def test_a_hard_rule_beats_even_a_sure_classifier_which_is_then_not_asked():
    asked = []
    enterprise = route(
        Facts("refund please", customer={"plan": "enterprise"}), YIELDING, lambda text: asked.append(text)
    )
    assert (enterprise.queue, enterprise.routed_by, enterprise.routing_confidence) == ("vip", "rule: enterprise", None)
    by_intent = route(Facts("hello", intent="ask_refund"), YIELDING, sure("general", 0.99))
    assert (by_intent.queue, by_intent.routed_by, by_intent.classified_as) == ("billing", "rule: refund intent", None)
    assert asked == []


def test_a_confident_classifier_beats_a_yielding_keyword_or_topic_rule():
    for facts in (Facts("a refund for the order that never came"), Facts("where is it", topic="billing")):
        decided = route(facts, YIELDING, sure("general", 0.9))
        assert (decided.queue, decided.routed_by, decided.routing_confidence) == ("general", "classifier", 0.9)
        assert decided.tier == 1 and decided.classified_as == "general"
    at_the_threshold = route(Facts("refund please"), YIELDING, sure("vip", 0.6))
    assert (at_the_threshold.queue, at_the_threshold.routed_by) == ("vip", "classifier")


def test_below_min_confidence_the_yielding_rule_wins_and_the_confidence_is_kept():
    decided = route(Facts("refund please"), YIELDING, sure("general", 0.59))
    assert (decided.queue, decided.routed_by, decided.routing_confidence) == ("billing", "rule: money", 0.59)
    assert decided.classified_as == "general"
    assert decided.priority == "high"  # the queue's priority rule follows the queue that won
    earlier = route(Facts("help", context="about my invoice"), YIELDING, sure("general", 0.2))
    assert (earlier.queue, earlier.routed_by) == ("billing", "rule: money")  # the customer's other words, as before


def test_then_the_default_queue():
    unsure = route(Facts("hello"), YIELDING, sure("vip", 0.3))
    assert (unsure.queue, unsure.routed_by, unsure.routing_confidence, unsure.classified_as) == (
        "general",
        "default",
        0.3,
        "vip",
    )
    unknown = route(Facts("hello"), YIELDING, sure("a retired queue", 0.99))
    assert (unknown.queue, unknown.routed_by, unknown.routing_confidence) == ("general", "default", 0.99)
    assert route(Facts("   "), YIELDING, sure("vip", 0.99)).routed_by == "default"  # nothing to classify


def test_without_a_trained_classifier_the_rules_route_as_before():
    for classify in (None, lambda text: None):
        decided = route(Facts("refund please"), YIELDING, classify)
        assert (decided.queue, decided.routed_by, decided.routing_confidence) == ("billing", "rule: money", None)
        assert route(Facts("hello"), YIELDING, classify).routed_by == "default"
