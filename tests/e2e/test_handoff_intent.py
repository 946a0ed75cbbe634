"""The handoff's intent, against the real Rasa and API: a customer who asks for someone senior gets the queue's
lead at once (the hierarchical escalation they asked for), in en/ja/ko; a plain request for a person does not."""

import pytest

from tests.e2e.conftest import Chat
from tests.e2e.test_conversations import _ticket

pytestmark = pytest.mark.e2e

CASES = [
    # lang, the request, name, email, the problem when asked, intent, queue
    ("en", "I want to speak with your manager", "Sam Lee", "sam@example.com", "My invoice shows the wrong amount",
     "supervisor", "billing"),
    ("ja", "責任者を出してください", "佐藤 花子", "hanako@example.jp", "注文した商品が届きません",
     "supervisor", "orders"),
    ("ko", "상담원 연결해 주세요", "이지은", "jieun@example.kr", "주문한 상품이 아직 안 왔어요",
     "asked_for_person", "orders"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("lang", "request_", "name", "email", "problem", "intent", "queue"), CASES, ids=[c[0] for c in CASES]
)
def test_the_ticket_says_what_the_customer_wants_of_the_person(
    system, lang, request_, name, email, problem, intent, queue
):
    chat = Chat(system, lang)
    chat.say(request_)
    chat.say(name)
    chat.say(email)
    ticket = _ticket(system, chat.say(problem))
    assert (ticket["reason"], ticket["intent"], ticket["queue"]) == ("asked_for_person", intent, queue)
    assert ticket["intent_confidence"] is not None and 0 < ticket["intent_confidence"] <= 1
    lead = {"billing": "Kenji Sato", "orders": "Yui Suzuki"}[queue]
    if intent == "supervisor":
        assert ticket["assignee"] == lead
        assert [e["action"] for e in ticket["history"]][:2] == ["created", "assigned"]
    else:
        assert ticket["assignee"] is None
