"""Business time: a queue's weekly opening hours and holidays in its time zone, and SLA arithmetic over them.

A calendar's holidays come from three places: explicit dates (a company's one-off days), days that come back every
year (a company's year-end days), and a country's public holidays from the `holidays` package, asked for one year at
a time as deadlines reach it and kept, so a calendar has no last day.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays as holiday_data

from handoff.clock import as_utc

MAX_DAYS = 3 * 366  # a deadline further than this is a configuration mistake, not a plan


def public_holidays(country: str, subdivision: str | None = None) -> Callable[[int], frozenset[date]]:
    """The public holidays of `country` (ISO 3166-1 alpha-2, e.g. "JP") and, when given, its `subdivision` (a state,
    province or prefecture code), one year at a time: `public_holidays("JP")(2027)` → the dates of 2027.

    Raises NotImplementedError for a country or subdivision the `holidays` package does not know.

    >>> date(2027, 1, 11) in public_holidays("JP")(2027)  # Coming of Age Day
    True
    """
    holiday_data.country_holidays(country, subdiv=subdivision, years=[])  # refuses an unknown one now

    def of_year(year: int) -> frozenset[date]:
        return frozenset(holiday_data.country_holidays(country, subdiv=subdivision, years=year))

    return of_year


class BusinessCalendar:
    """Opening hours per weekday (0 = Monday) as minute ranges of the local day, closed on `holidays` (dates),
    on `annual` days (month, day) of every year, and on the days `public(year)` gives for each year (see
    `public_holidays`); a year's holidays are worked out when first asked for, then kept.

    >>> tokyo = BusinessCalendar("Asia/Tokyo", {d: [(540, 1080)] for d in range(5)}, [date(2025, 1, 6)])
    >>> friday_evening = datetime(2025, 1, 3, 8, 0, tzinfo=UTC)  # 17:00 in Tokyo
    >>> tokyo.add(friday_evening, 120).isoformat()  # 1 h on Friday, Monday is a holiday, 1 h on Tuesday
    '2025-01-07T01:00:00+00:00'
    """

    def __init__(
        self,
        timezone: str,
        weekly: Mapping[int, Iterable[tuple[int, int]]],
        holidays: Iterable[date] = (),
        *,
        annual: Iterable[tuple[int, int]] = (),
        public: Callable[[int], Collection[date]] | None = None,
    ) -> None:
        self.zone = ZoneInfo(timezone)
        self.timezone = timezone
        self.weekly = {day: sorted(ranges) for day, ranges in weekly.items()}
        self.holidays = frozenset(holidays)
        self.annual = frozenset(annual)
        self.public = public
        self._years: dict[int, frozenset[date]] = {}
        if not any(end > start for ranges in self.weekly.values() for start, end in ranges):
            raise ValueError("business hours must be open for some time in the week")

    def holidays_in(self, year: int) -> frozenset[date]:
        """Every day of `year` the calendar is closed on as a holiday (whatever the weekday)."""
        days = self._years.get(year)
        if days is None:
            annual = set()
            for month, day in self.annual:
                try:
                    annual.add(date(year, month, day))
                except ValueError:  # 29 February in a common year
                    continue
            public = self.public(year) if self.public is not None else ()
            days = frozenset({d for d in self.holidays if d.year == year} | annual | set(public))
            self._years[year] = days  # a race only computes the same set twice
        return days

    def is_holiday(self, day: date) -> bool:
        return day in self.holidays_in(day.year)

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open periods of a local day, as UTC datetimes."""
        if self.is_holiday(day):
            return []
        midnight = datetime(day.year, day.month, day.day, tzinfo=self.zone)
        return [
            ((midnight + timedelta(minutes=s)).astimezone(UTC), (midnight + timedelta(minutes=e)).astimezone(UTC))
            for s, e in self.weekly.get(day.weekday(), [])
            if e > s
        ]

    def _days(self, start: datetime, step: int) -> Iterator[date]:
        day = start.astimezone(self.zone).date()
        for _ in range(MAX_DAYS):
            yield day
            day += timedelta(days=step)
        raise ValueError(f"no business hours within {MAX_DAYS} days of {start.isoformat()}")

    def is_open(self, moment: datetime) -> bool:
        """Whether the queue is staffed at `moment`."""
        moment = as_utc(moment)
        return any(s <= moment < e for s, e in self.intervals(moment.astimezone(self.zone).date()))

    def add(self, start: datetime, minutes: float) -> datetime:
        """The moment `minutes` of business time after `start` (0 minutes: the next opening, or `start` if open)."""
        start = as_utc(start)
        left = timedelta(minutes=minutes)
        for day in self._days(start, 1):
            for opens, closes in self.intervals(day):
                if closes <= start:
                    continue
                begin = max(opens, start)
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def subtract(self, end: datetime, minutes: float) -> datetime:
        """The moment `minutes` of business time before `end`."""
        end = as_utc(end)
        left = timedelta(minutes=minutes)
        for day in self._days(end, -1):
            for opens, closes in reversed(self.intervals(day)):
                if opens >= end:
                    continue
                finish = min(closes, end)
                if finish - left >= opens:
                    return finish - left
                left -= finish - opens
        raise AssertionError("unreachable")  # pragma: no cover

    def minutes_between(self, start: datetime, end: datetime) -> float:
        """Business minutes from `start` to `end` (0 if `end` is not after `start`)."""
        start, end = as_utc(start), as_utc(end)
        if end <= start:
            return 0.0
        total = timedelta()
        day = start.astimezone(self.zone).date()
        last = end.astimezone(self.zone).date()
        while day <= last:
            for opens, closes in self.intervals(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total.total_seconds() / 60
