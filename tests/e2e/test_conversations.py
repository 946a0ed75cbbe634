"""Whole conversations through the real Rasa server, the custom actions and the API."""

import json
import stat
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Chat

pytestmark = pytest.mark.e2e


def _ticket(system, reply: dict) -> dict:
    assert reply["ticket"] is not None, reply
    response = httpx.get(f"{system.api_url}/api/v1/tickets/{reply['ticket']['id']}", headers=system.agent_headers)
    assert response.status_code == 200
    return response.json()


def test_english_question_answered_with_the_right_article(system):
    chat = Chat(system, "en")
    reply = chat.say("I forgot my password, how do I get back in?")
    articles = [a for m in reply["messages"] for a in m.get("articles") or []]
    assert [a["id"] for a in articles] == ["reset-password-en"]
    assert articles[0]["url"].endswith("/kb/reset-password-en")
    assert "Forgot password" in chat.texts(reply)
    assert reply["state"] == "bot" and reply["ticket"] is None
    assert httpx.get(articles[0]["url"]).status_code == 200


def test_japanese_question_without_answer_becomes_a_complete_ticket(system):
    chat = Chat(system, "ja")
    question = "ペット用のホテルはありますか？"
    offer = chat.say(question)
    assert "見つかりませんでした" in chat.texts(offer)
    assert [b["payload"] for b in offer["messages"][-1]["buttons"]] == ["/affirm", "/deny"]
    assert "お名前" in chat.texts(chat.say("はい"))
    assert "メールアドレス" in chat.texts(chat.say("山田太郎です"))
    done = chat.say("taro@example.jp")
    assert done["state"] == "waiting_agent"
    assert done["ticket"]["reference"] in chat.texts(done)
    ticket = _ticket(system, done)
    assert ticket["customer"] == {"name": "山田太郎", "email": "taro@example.jp"}
    assert ticket["lang"] == "ja" and ticket["channel"] == "web" and ticket["reason"] == "no_answer"
    assert ticket["question"] == question and ticket["description"] == question
    assert ticket["summary"] and ticket["subject"] and ticket["queue"] and ticket["priority"]
    assert ticket["articles_tried"] and all("score" in a for a in ticket["articles_tried"])
    assert [m["sender"] for m in ticket["transcript"]][:2] == ["customer", "bot"]
    assert ticket["history"][0]["action"] == "created"
    listed = httpx.get(
        f"{system.api_url}/api/v1/tickets", params={"queue": ticket["queue"]}, headers=system.agent_headers
    )
    assert ticket["id"] in [t["id"] for t in listed.json()]
    after = chat.say("まだですか？")
    assert "TZ-" in chat.texts(after) and after["state"] == "waiting_agent"


def test_korean_request_for_a_person_at_the_first_turn(system):
    chat = Chat(system, "ko")
    first = chat.say("상담원 연결해 주세요")
    assert "성함" in chat.texts(first)
    assert "이메일" in chat.texts(chat.say("김민수"))
    assert "도움" in chat.texts(chat.say("minsu@example.kr"))
    done = chat.say("환불이 아직 안 들어왔어요")
    ticket = _ticket(system, done)
    assert ticket["reason"] == "asked_for_person"
    assert ticket["customer"] == {"name": "김민수", "email": "minsu@example.kr"}
    assert ticket["description"] == "환불이 아직 안 들어왔어요"
    assert ticket["queue"] == "billing" and ticket["lang"] == "ko"


def test_a_button_pressed_first_is_answered_in_the_conversations_language(system):
    chat = Chat(system, "ja")
    assert "お名前" in chat.texts(chat.say("/ask_human"))
    assert "メール" in chat.texts(chat.say("田中 美亜"))


def test_korean_live_chat_without_the_bot_then_the_resolution_in_the_widget(system):
    chat = Chat(system, "ko")
    chat.say("상담원 연결해 주세요")
    chat.say("김민수")
    chat.say("minsu@example.kr")
    done = chat.say("주문한 택배가 아직 안 왔어요")
    assert done["state"] == "waiting_agent"
    ticket, reference = _ticket(system, done), done["ticket"]["reference"]
    agent_url = f"{system.api_url}/api/v1/tickets/{ticket['id']}"
    greeting = "안녕하세요, 확인해 드릴게요. 주문 번호를 알려 주시겠어요?"
    replied = httpx.post(f"{agent_url}/reply", json={"text": greeting}, headers=system.agent_headers)
    assert replied.status_code == 200, replied.text
    for text in ("주문 번호는 KM-5521이에요", "지난 월요일에 주문했어요"):  # live with the agent: no bot, no notice
        reply = chat.say(text)
        assert (reply["messages"], reply["state"]) == ([], "agent")
    resolution = "택배를 다시 보내 드렸어요.\n\n내일 오전에 도착합니다"
    httpx.post(f"{agent_url}/notes", json={"text": "택배사 클레임 #88"}, headers=system.agent_headers)
    resolved = httpx.post(f"{agent_url}/resolve", json={"resolution": resolution}, headers=system.agent_headers)
    assert resolved.status_code == 200, resolved.text
    view = httpx.get(f"{system.api_url}/api/v1/conversations/{chat.id}", headers=chat.headers).json()
    assert view["state"] == "resolved"
    after = [(m["sender"], m["text"]) for m in view["transcript"]]
    after = after[after.index(("agent", greeting)) + 1 :]
    assert [sender for sender, _ in after] == ["customer", "customer", "system"]
    assert after[-1][1] == (
        f"티켓 {reference}이(가) 해결되었어요: 택배를 다시 보내 드렸어요. 내일 오전에 도착합니다. "
        "아직 문제가 있으면 여기에 답장해 주세요."
    )
    assert "클레임" not in json.dumps(view, ensure_ascii=False)  # the internal note stays with the team


def test_a_bad_email_is_asked_again_then_skipped_never_looped(system):
    chat = Chat(system, "en")
    chat.say("I want to talk to a real person")
    chat.say("Alex Kim")
    again = chat.say("no idea")
    assert "doesn't look like an email" in chat.texts(again)
    skipped = chat.say("still no")
    assert "without it" in chat.texts(skipped)
    assert "describe" in chat.texts(skipped)
    ticket = _ticket(system, chat.say("My parcel arrived damaged and I need help"))
    assert ticket["customer"] == {"name": "Alex Kim", "email": None}


def test_the_form_can_be_cancelled(system):
    chat = Chat(system, "en")
    chat.say("can I speak to a human agent please")
    cancelled = chat.say("cancel")
    assert "cancelled" in chat.texts(cancelled)
    assert cancelled["ticket"] is None and cancelled["state"] == "bot"


def test_a_name_the_classifier_takes_for_a_cancel_is_still_the_name(system):
    chat = Chat(system, "en")
    chat.say("I want to talk to a person")
    answered = chat.say("Robert")  # near "abort" for the intent classifier
    assert "email" in chat.texts(answered) and "cancelled" not in chat.texts(answered)
    assert "cancelled" in chat.texts(chat.say("stop, I changed my mind"))


def test_a_question_given_for_the_name_is_not_taken_for_one_and_stays_in_the_transcript(system):
    chat = Chat(system, "en")
    assert "name" in chat.texts(chat.say("I want to talk to a real person"))
    again = chat.texts(chat.say("where is my parcel?"))
    assert "didn't catch a name" in again and "email" not in again
    assert "email" in chat.texts(chat.say("Hanako Suzuki"))
    customer_view = httpx.get(f"{system.api_url}/api/v1/conversations/{chat.id}", headers=chat.headers).json()
    stored = [m["text"] for m in customer_view["transcript"] if m["sender"] == "customer"]
    assert stored[1:] == ["where is my parcel?", "[name given in the form]"]


def test_contact_details_from_the_form_reach_the_ticket_fields_but_not_the_transcript(system):
    chat = Chat(system, "en")
    assert "name" in chat.texts(chat.say("I want to talk to a real person"))
    assert "email" in chat.texts(chat.say("Hanako Suzuki"))
    assert "describe" in chat.texts(chat.say("it is hanako.suzuki@example.com"))
    done = chat.say("My parcel arrived damaged. Call me on 090-1234-5678 or write to hanako.suzuki@example.com")
    ticket = _ticket(system, done)
    assert ticket["customer"] == {"name": "Hanako Suzuki", "email": "hanako.suzuki@example.com"}
    assert ticket["description"] == (
        "My parcel arrived damaged. Call me on [phone number removed] or write to [email removed]"
    )
    customer_view = httpx.get(f"{system.api_url}/api/v1/conversations/{chat.id}", headers=chat.headers).json()
    stored = [m["text"] for m in customer_view["transcript"] if m["sender"] == "customer"]
    assert stored[1:3] == ["[name given in the form]", "it is [email removed]"]
    everything = json.dumps([ticket, customer_view, chat.texts(done)], ensure_ascii=False)
    everything = everything.replace('"name": "Hanako Suzuki", "email": "hanako.suzuki@example.com"', "")
    for detail in ("Hanako", "Suzuki", "hanako.suzuki", "1234-5678"):
        assert detail not in everything


def test_the_servers_run_numerical_libraries_on_one_thread_and_rasa_keeps_its_trackers(system):
    for name, process in system.processes.items():
        environ = Path(f"/proc/{process.pid}/environ").read_bytes().split(b"\0")
        assert b"OMP_NUM_THREADS=1" in environ, name
    assert b"TF_INTRA_OP_PARALLELISM_THREADS=1" in Path(f"/proc/{system.processes['rasa'].pid}/environ").read_bytes()
    Chat(system, "en").say("How do I reset my password?")
    assert "Tracker store with type" not in (system.log_dir / "rasa.log").read_text()  # Rasa's silent fallback


def test_rasa_reaches_the_actions_with_the_token_in_a_header_that_no_log_holds(system):
    chat = Chat(system, "en")
    assert "Forgot password" in chat.texts(chat.say("I forgot my password"))  # answered by the custom actions
    logs = {path.name: path.read_text(errors="replace") for path in system.log_dir.glob("*.log")}
    assert '"POST /webhook HTTP/1.1" 200' in logs["api.log"]
    for name, text in logs.items():
        assert system.action_token not in text and "?token=" not in text and "&token=" not in text, name


def test_the_data_folder_databases_and_logs_are_the_owners_only(system):
    Chat(system, "en").say("How do I reset my password?")
    data, logs = system.settings.data_dir, system.log_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700 and stat.S_IMODE(logs.stat().st_mode) == 0o700
    files = [*data.glob("*.db*"), *logs.glob("*.log"), *(data / "index").glob("*")]
    assert {"rasa-tracker.db", "api.log", "rasa.log"} <= {path.name for path in files}  # Rasa's own files too
    assert {path.name: stat.S_IMODE(path.stat().st_mode) for path in files} == {path.name: 0o600 for path in files}


def test_the_running_api_refuses_a_large_body_at_once(system):
    url = f"{system.api_url}/api/v1/conversations"
    for body in (b"x" * (10 << 20), (b"x" * 65536 for _ in range(160))):  # 10 MiB, with a length, then chunked
        began = time.monotonic()
        refused = httpx.post(url, content=body, headers={"Content-Type": "application/json"}, timeout=30)
        assert refused.status_code == 413 and "TIERZERO_MAX_BODY_BYTES" in refused.json()["detail"]
        assert time.monotonic() - began < 5
    assert httpx.get(f"{system.api_url}/healthz").status_code == 200
