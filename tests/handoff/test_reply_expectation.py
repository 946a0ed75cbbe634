"""What the bot tells the customer about the first reply (bot/actions/texts.py), from the SLA and business hours."""

from handoff import HandoffService, Ticket
from tests.handoff.conftest import tokyo
from usecases.texts import reply_expectation


def _window(sessions, policies, clock, ticket_id):
    with sessions() as session:
        return HandoffService(policies, clock).reply_window(session.get(Ticket, ticket_id))


def test_on_duty_the_customer_hears_how_long(sessions, policies, clock, hand_off):
    clock.set(tokyo(14, 10))  # Tuesday morning
    urgent = _window(sessions, policies, clock, hand_off("the app is not working"))
    assert reply_expectation(urgent, "en") == "Our team will reply within 60 minutes."
    normal = _window(sessions, policies, clock, hand_off("where is my parcel"))
    assert reply_expectation(normal, "ja") == "4時間以内に担当者から返信いたします。"


def test_out_of_hours_the_customer_hears_the_day_and_time(sessions, policies, clock, hand_off):
    clock.set(tokyo(10, 18))  # Friday evening: the office reopens on Tuesday (Monday is a holiday)
    window = _window(sessions, policies, clock, hand_off("where is my parcel"))
    assert not window.open_now
    assert reply_expectation(window, "en") == (
        "Our team is away right now; expect a first reply by Tuesday 14 January, 13:00 (UTC+09:00)."
    )
    assert (
        reply_expectation(window, "ko")
        == "지금은 상담 시간이 아닙니다. 1월 14일(화) 13:00 (UTC+09:00)까지 첫 답변을 드립니다."
    )


def test_a_far_deadline_on_duty_is_given_as_a_time(sessions, policies, clock, hand_off):
    clock.set(tokyo(14, 16))  # 1 office hour left today; an email's 8 h run to Wednesday 16:00
    window = _window(sessions, policies, clock, hand_off("a question", channel="email"))
    assert window.open_now
    assert reply_expectation(window, "ja") == "1月15日(水) 16:00（UTC+09:00）までに担当者から最初の返信をいたします。"
