"""usecases.said: what the customer has already told, so that nothing is asked twice."""

from datetime import UTC, datetime

import pytest

from usecases.said import customer_words, handoff_intent, problem_told, stated_problem


@pytest.mark.parametrize(
    "text",
    [
        "今朝からアプリが全く動かない。仕事にならないので人と話したい",
        "注文した商品が届かないので担当者と話したい",
        "결제가 두 번 됐어요. 상담원 연결해 주세요",
        "로그인이 안 되는데 담당자 연결해 주세요",
        "My parcel never arrived and I want to talk to a person",
        "I was charged twice, get me an agent",
    ],
)
def test_a_problem_told_with_the_request_is_the_message_itself(text):
    assert stated_problem(text) == text


@pytest.mark.parametrize(
    "text",
    ["担当者と話したい", "こんにちは、オペレーターにつないでください", "상담원 연결해 주세요",
     "안녕하세요, 상담원 연결해 주세요", "I want to talk to a human", "hi, a real person please", "/ask_human"],
)  # fmt: skip
def test_a_bare_request_for_a_person_states_no_problem(text):
    assert stated_problem(text) is None


def test_the_problem_told_is_the_latest_that_says_more_than_a_request():
    assert problem_told(["where is my parcel", "I want to talk to a human"]) == "where is my parcel"
    assert problem_told(["where is my parcel", "I was charged twice, let me talk to someone"]) == (
        "I was charged twice, let me talk to someone"
    )
    assert problem_told(["担当者と話したい"]) is None
    assert problem_told([]) is None


def test_customer_words_leave_out_buttons_contact_answers_other_senders_and_an_earlier_tickets_words():
    at = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)

    def entry(sender, text, minute):
        return {"sender": sender, "text": text, "at": at.replace(minute=minute).isoformat()}

    entries = [
        entry("customer", "my old problem", 0),
        entry("system", "ticket TZ-1001", 1),
        entry("customer", "/affirm", 2),
        entry("customer", "the app crashes", 3),
        entry("bot", "Sorry to hear that", 4),
    ]
    assert customer_words(entries) == ["my old problem", "the app crashes"]
    assert customer_words(entries, since=at.replace(minute=1)) == ["the app crashes"]


@pytest.mark.parametrize(
    ("words", "reason", "intent"),
    [
        (["I want to speak with your supervisor"], "asked_for_person", "supervisor"),
        (["責任者を出してください"], "asked_for_person", "supervisor"),
        (["매니저랑 얘기할게요"], "asked_for_person", "supervisor"),
        (["This is unacceptable, my refund is three weeks late", "a person please"], "asked_for_person", "complaint"),
        (["二回も請求されて最悪です"], "no_answer", "complaint"),
        (["이거 정말 어이없네요, 환불 언제 돼요"], "no_answer", "complaint"),
        (["상담원 연결해 주세요"], "asked_for_person", "asked_for_person"),
        (["do you have a pet hotel"], "no_answer", None),
    ],
)
def test_the_handoff_intent_is_read_from_all_the_customers_words(words, reason, intent):
    assert handoff_intent(words, reason) == intent


@pytest.mark.parametrize("text", ["Agent please", "担当の方につないでください", "팀장님 바꿔 주세요", "get me someone"])
def test_a_request_the_rules_do_not_know_is_no_problem_when_the_bot_read_a_request(text):
    assert stated_problem(text) is None
    assert problem_told([text], latest_asks=True) is None
    assert problem_told(["my parcel is late", text], latest_asks=True) == "my parcel is late"
