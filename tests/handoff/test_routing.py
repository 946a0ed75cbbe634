import pytest

from handoff.routing import RoutingRule, route


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
def test_first_matching_rule_picks_the_queue(text, topic, queue):
    assert route(text, topic, None).queue == queue


def test_rules_are_ordered_first_match_wins():
    rules = [RoutingRule(name="vip", queue="vip", keywords=["refund"]), RoutingRule(name="b", queue="billing")]
    decided = route("refund please", None, None, rules=rules)
    assert (decided.queue, decided.routed_by) == ("vip", "rule: vip")


@pytest.mark.parametrize("text", ["the app is not working", "アプリが動かない", "앱이 작동하지 않아요"])
def test_not_working_is_urgent_in_every_language(text):
    assert route(text, None, None).priority == "urgent"


def test_billing_is_urgent_and_plain_questions_normal():
    assert route("question about my invoice", None, None).priority == "urgent"
    assert route("where is my parcel", None, None).priority == "normal"
