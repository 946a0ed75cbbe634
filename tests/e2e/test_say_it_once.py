"""Say it once, against the real Rasa and API: what the customer told before or together with asking for a person
is the ticket's question and description, the form asks only for what is missing, and the rules see all of it."""

import pytest

from tests.e2e.conftest import Chat
from tests.e2e.test_conversations import _ticket

pytestmark = pytest.mark.e2e

CASES = [
    # (lang, the one message, name, email, queue, priority)
    ("ja", "今朝からアプリが全く動かない。仕事にならないので人と話したい", "佐藤 花子", "hanako@example.jp",
     "technical", "urgent"),
    ("ko", "결제가 두 번 됐어요. 상담원 연결해 주세요", "이지은", "jieun@example.kr", "billing", "urgent"),
    ("en", "My app crashes every time I open my cart, can I talk to a real person?", "Sam Lee", "sam@example.com",
     "technical", "normal"),
]  # fmt: skip
ASKS_NAME = {"ja": "お名前", "ko": "성함", "en": "name"}
ASKS_EMAIL = {"ja": "メール", "ko": "이메일", "en": "email"}


@pytest.mark.parametrize(("lang", "message", "name", "email", "queue", "priority"), CASES, ids=[c[0] for c in CASES])
def test_a_problem_told_with_the_request_for_a_person_is_not_asked_again(
    system, lang, message, name, email, queue, priority
):
    chat = Chat(system, lang)
    assert ASKS_NAME[lang] in chat.texts(chat.say(message))
    assert ASKS_EMAIL[lang] in chat.texts(chat.say(name))
    done = chat.say(email)  # no "how can we help?": the ticket is made with the email
    assert done["state"] == "waiting_agent", done
    ticket = _ticket(system, done)
    assert ticket["description"] == message and ticket["question"] == message
    assert ticket["reason"] == "asked_for_person"
    assert (ticket["queue"], ticket["priority"]) == (queue, priority)
    assert ticket["topic"] is not None and ticket["topic_confidence"] is not None


def test_a_problem_told_before_asking_for_a_person_is_the_tickets_and_the_rules_read_it(system):
    chat = Chat(system, "en")
    chat.say("the app is not working since the update")
    chat.say("I want to talk to a person")
    chat.say("Mia Tanaka")
    done = chat.say("mia@example.com")
    ticket = _ticket(system, done)
    assert ticket["description"] == "the app is not working since the update"
    assert (ticket["queue"], ticket["priority"]) == ("technical", "urgent")
