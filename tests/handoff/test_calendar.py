from datetime import UTC, date, datetime

import pytest

from handoff.calendar import BusinessCalendar, public_holidays
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


def test_public_holidays_come_from_the_country_for_any_year_asked_once_each():
    asked = []

    def japan(year):
        asked.append(year)
        return public_holidays("JP")(year)

    office = BusinessCalendar("Asia/Tokyo", {d: [(540, 1020)] for d in range(5)}, public=japan)
    assert office.intervals(date(2027, 1, 11)) == []  # Coming of Age Day, a Monday
    assert office.intervals(date(2027, 2, 11)) == []  # National Foundation Day, a Thursday
    assert office.intervals(date(2031, 11, 3)) == []  # Culture Day, a Monday, five years on: no end date
    assert office.intervals(date(2027, 1, 12)) != []
    # Friday 8 January 2027, 16:00 in Tokyo + 2 h: 1 h on Friday, Monday the 11th is closed, 1 h on Tuesday
    assert office.add(datetime(2027, 1, 8, 7, tzinfo=UTC), 120) == datetime(2027, 1, 12, 1, tzinfo=UTC)
    assert asked == [2027, 2031]  # each year worked out once, when first needed


def test_days_of_every_year_and_single_dates():
    office = BusinessCalendar(
        "Asia/Tokyo", {d: [(540, 1020)] for d in range(7)}, [date(2026, 6, 1)], annual=[(12, 29), (2, 29)]
    )
    assert office.is_holiday(date(2026, 12, 29)) and office.is_holiday(date(2040, 12, 29))
    assert office.is_holiday(date(2028, 2, 29)) and not office.is_holiday(date(2027, 2, 28))
    assert office.is_holiday(date(2026, 6, 1)) and not office.is_holiday(date(2027, 6, 1))


def test_an_unknown_country_or_subdivision_is_refused():
    with pytest.raises(NotImplementedError):
        public_holidays("XX")
    with pytest.raises(NotImplementedError):
        public_holidays("JP", "13")
