from datetime import UTC, date, datetime

from handoff.calendar import BusinessCalendar
from tests.handoff.conftest import tokyo

OFFICE = BusinessCalendar("Asia/Tokyo", {d: [(540, 1020)] for d in range(5)}, [date(2025, 1, 13)])


def test_adding_business_time_skips_the_weekend_and_the_holiday():
    assert OFFICE.add(tokyo(10, 16), 60) == tokyo(10, 17)
    assert OFFICE.add(tokyo(10, 16), 61) == tokyo(14, 9, 1)  # Sat, Sun and Monday the 13th are closed
    assert OFFICE.add(tokyo(11, 12), 30) == tokyo(14, 9, 30)  # starting on a Saturday
    assert OFFICE.add(tokyo(10, 20), 0) == tokyo(14, 9)  # zero minutes out of hours: the next opening


def test_subtracting_and_measuring_business_time_mirror_adding():
    assert OFFICE.subtract(tokyo(14, 9, 10), 30) == tokyo(10, 16, 40)
    assert OFFICE.minutes_between(tokyo(10, 16), tokyo(14, 10)) == 120
    assert OFFICE.minutes_between(tokyo(14, 10), tokyo(10, 16)) == 0


def test_open_hours():
    assert OFFICE.is_open(tokyo(10, 16, 59))
    assert not OFFICE.is_open(tokyo(10, 17))
    assert not OFFICE.is_open(tokyo(13, 10))  # the holiday
    assert not OFFICE.is_open(datetime(2025, 1, 11, 3, tzinfo=UTC))  # Saturday noon in Tokyo


def test_split_shifts_and_naive_times():
    lunch_break = BusinessCalendar("UTC", {0: [(540, 720), (780, 1020)]})
    monday = datetime(2025, 1, 6, 11, 0)  # naive: taken as UTC
    assert lunch_break.add(monday, 90) == datetime(2025, 1, 6, 13, 30, tzinfo=UTC)
    assert lunch_break.add(monday, 8 * 60) == datetime(2025, 1, 13, 12, 0, tzinfo=UTC)
