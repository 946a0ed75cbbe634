"""The handoff policies as one validated config file: queues and business hours, routing and priority rules,
SLA policies, the escalation matrices and reminders.

`load_policies(path)` refuses a bad file with a `PolicyError` naming the line and the reason, so a typo in a queue
name stops the start-up instead of silently sending tickets nowhere.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, date, datetime
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import holidays as holiday_data
import yaml
from holidays import registry as holiday_registry
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from handoff.calendar import BusinessCalendar, public_holidays
from handoff.vocabulary import PRIORITIES, HandoffIntent, Priority, WebhookEventName

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_POLICIES_FILE = Path(__file__).resolve().parent.parent / "config" / "policies.yml"

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")
_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
HOLIDAYS_AHEAD_MONTHS = 12  # a calendar whose holidays end sooner than this is warned about

logger = logging.getLogger(__name__)


class PolicyError(ValueError):
    """A policies file that cannot be used; the message names the file, each bad line and why."""


def _minutes(value: Any) -> int:
    """'1d 2h 30m', '4h', '45m' or a number of minutes → minutes."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number of minutes or text like '4h', '30m', '1d 2h'")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return int(value)
    match = _DURATION.match(str(value))
    if not match or not any(match.groups()):
        raise ValueError(f"{value!r} is not a duration: write e.g. '4h', '30m', '1d 2h' or a number of minutes")
    days, hours, minutes = (int(g or 0) for g in match.groups())
    return days * 1440 + hours * 60 + minutes


Minutes = Annotated[int, BeforeValidator(_minutes)]


def _ranges(value: Any) -> list[tuple[int, int]]:
    """['09:00-12:00', '13:00-18:00'] → minute ranges of the day; 'closed' or [] → none."""
    if value in (None, "closed"):
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise ValueError("opening hours are a list like ['09:00-18:00'] or 'closed'")
    ranges = []
    for item in items:
        match = _HOURS.match(str(item).replace(" ", ""))
        if not match:
            raise ValueError(f"{item!r} is not an opening period: write 'HH:MM-HH:MM', e.g. '09:00-18:00'")
        h1, m1, h2, m2 = (int(g) for g in match.groups())
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if h1 > 23 or m1 > 59 or m2 > 59 or end > 1440 or end <= start:
            raise ValueError(f"{item!r} must run forwards within one day (00:00 to 24:00)")
        ranges.append((start, end))
    return ranges


OpeningHours = Annotated[list[tuple[int, int]], BeforeValidator(_ranges)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _holiday(value: Any) -> date | tuple[int, int]:
    """2025-05-01 (one day) or '12-29' (that day of every year) → a date or (month, day)."""
    if isinstance(value, datetime):
        raise ValueError(f"{value} is a moment: a holiday is a whole day, e.g. 2025-05-01 or '12-29'")
    if isinstance(value, date):
        return value
    text = str(value).strip()
    if match := _MONTH_DAY.match(text):
        month, day = int(match[1]), int(match[2])
        try:
            date(2000, month, day)  # a leap year: 02-29 is a day of the year
        except ValueError:
            raise ValueError(f"{text!r} is not a day of the year: write MM-DD, e.g. '12-29'") from None
        return (month, day)
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{text!r} is not a holiday: write a date (2025-05-01) or a day of every year (12-29)"
        ) from None


Holiday = Annotated[date | tuple[int, int], BeforeValidator(_holiday)]


def _supported_countries() -> dict[str, list[str]]:
    return holiday_data.list_supported_countries(include_aliases=False)


def _country_code(value: Any) -> str:
    """'JP' or 'jp' → 'JP'; a name or a three-letter code is refused with the two-letter code to write."""
    text = str(value).strip()
    code = text.upper()
    if code in _supported_countries():
        return code
    names = {}
    for module, (name, alpha2, *others) in getattr(holiday_registry, "COUNTRIES", {}).items():
        for known in (module.replace("_", " "), re.sub(r"(?<=[a-z])(?=[A-Z])", " ", name), *others):
            names[known.lower()] = alpha2
    if (known := names.get(text.lower()) or names.get(text.lower().replace("_", " "))) is not None:
        raise ValueError(f"write {text!r} as its two-letter code: country: {known}")
    raise ValueError(
        f"unknown country {text!r} for public holidays: write its ISO 3166-1 alpha-2 code, e.g. JP, KR, US, DE "
        "(python -c 'import holidays; print(sorted(holidays.list_supported_countries()))' lists them all)"
    )


class PublicHolidays(Strict):
    """A country's public holidays, from the `holidays` package: `country` (ISO 3166-1 alpha-2, e.g. JP) and, for a
    country whose regions keep days of their own, `subdivision` (e.g. US: CA, DE: BY). Any year is known."""

    country: Annotated[str, BeforeValidator(_country_code)]
    subdivision: str | None = None

    @field_validator("subdivision", mode="before")
    @classmethod
    def _known_subdivision(cls, value: Any, info: ValidationInfo) -> str | None:
        country = info.data.get("country")
        if value is None or country is None:  # a bad country is reported on its own
            return value
        text = str(value).strip()
        codes = _supported_countries()[country]
        if not codes:
            raise ValueError(f"{country} has no subdivisions with holidays of their own: leave `subdivision` out")
        with_aliases = holiday_data.list_supported_countries(include_aliases=True)[country]
        found = next((known for known in with_aliases if known.lower() == text.lower()), None)
        if found is None:
            raise ValueError(f"unknown subdivision {text!r} of {country} (subdivisions: {', '.join(codes)})")
        return found

    def source(self) -> Callable[[int], frozenset[date]]:
        return public_holidays(self.country, self.subdivision)


class BusinessHours(Strict):
    """When a team works: a time zone, opening periods per weekday, and the days it is closed: a country's
    `public_holidays`, and `holidays` of its own — dates (2025-05-01) or days of every year ('12-29')."""

    timezone: str
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], OpeningHours]
    public_holidays: PublicHolidays | None = None
    holidays: list[Holiday] = Field(default_factory=list)

    @property
    def dates(self) -> list[date]:
        """The holidays given as dates (one day each)."""
        return [day for day in self.holidays if isinstance(day, date)]

    def calendar(self) -> BusinessCalendar:
        weekly = {WEEKDAYS.index(day): ranges for day, ranges in self.weekly.items()}
        annual = [day for day in self.holidays if isinstance(day, tuple)]
        public = self.public_holidays.source() if self.public_holidays else None
        return BusinessCalendar(self.timezone, weekly, self.dates, annual=annual, public=public)

    def covered_until(self) -> date | None:
        """The last day this calendar knows the holidays of: None when it knows every year (public holidays, or only
        days of every year, or no holidays at all), else its last date."""
        if self.public_holidays is not None or not self.dates:
            return None
        return max(self.dates)


class Queue(Strict):
    """A team's queue: what customers are told it is called, by language; its support tier, its hours, its lead, and
    the queue a tier escalation moves tickets to."""

    name: dict[str, Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]] = Field(
        default_factory=dict
    )
    tier: int = Field(ge=1, le=3)
    hours: str
    lead: str | None = None
    escalate_to: str | None = None
    description: str = ""


class ValueRange(Strict):
    """A numeric customer attribute between `min` and `max` (both inclusive, either optional)."""

    min: float | None = None
    max: float | None = None


class Conditions(Strict):
    """When a rule applies. What the handoff is about — `topics`, `intents`, `keywords` — matches if any of the
    given ones does; `languages`, `channels`, `queues` and `customer` attributes must each hold when given.
    A rule with no conditions matches every handoff."""

    topics: list[str] = Field(default_factory=list)
    intents: list[str] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    customer: dict[str, list[str | int | float | bool] | ValueRange] = Field(default_factory=dict)


class RoutingRule(Conditions):
    """Send a matching handoff to `queue`. Rules are tried in order; the first match wins.

    A rule is hard unless it says `yields: true`: hard rules are tried first, then the queue classifier (when it
    is at least `classifier.min_confidence` sure), then the rules that yield to it. Only a rule on what the
    handoff is about in words (`keywords`, `topics`) may yield: one on customer attributes, intents, channels or
    languages says something the classifier cannot read from the text, so it is always hard."""

    name: str
    queue: str
    yields: bool = False

    @property
    def may_yield(self) -> bool:
        """Whether the rule's conditions allow `yields` (none on customer attributes, intents, channels, languages)."""
        return not (self.customer or self.intents or self.channels or self.languages)


class PriorityRule(Conditions):
    """Set the priority (`set`, first matching such rule wins) or raise it by `raise` levels (every match applies)."""

    model_config = ConfigDict(populate_by_name=True)

    name: str
    set: Priority | None = None
    raise_by: int | None = Field(default=None, alias="raise", ge=1, le=3)
    queues: list[str] = Field(default_factory=list)


class SlaPolicy(Strict):
    """Targets for the tickets it matches (empty lists match all), counted in the queue's business hours."""

    name: str
    priorities: list[Priority] = Field(default_factory=list)
    queues: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    first_response: Minutes = Field(gt=0)
    resolution: Minutes = Field(gt=0)

    def applies(self, priority: str, queue: str, channel: str) -> bool:
        return (
            (not self.priorities or priority in self.priorities)
            and (not self.queues or queue in self.queues)
            and (not self.channels or channel in self.channels)
        )


class EscalationLevel(Strict):
    """One row of an escalation matrix: `after` a breach, notify these people and make these changes. The level
    (1–4) is how senior the people are: a matrix may skip levels, never go down."""

    level: int = Field(ge=1, le=4)
    after: Minutes
    notify: list[str] = Field(min_length=1)
    reassign_to_lead: bool = False
    raise_tier: bool = False
    raise_priority: bool = False


BREACHES = ("first_response", "resolution")


class EscalationMatrix(Strict):
    """The levels a breach sets off for the tickets it matches: by `priorities`, `queues` and `channels` (empty lists
    match all) and by the deadline missed (`breach`: first_response, resolution or any). Matrices are tried in
    order; the first match wins. `levels: []` means no escalation for those tickets."""

    name: str = Field(min_length=1, max_length=80)
    priorities: list[Priority] = Field(default_factory=list)
    queues: list[str] = Field(default_factory=list)
    channels: list[str] = Field(default_factory=list)
    breach: Literal["first_response", "resolution", "any"] = "any"
    levels: list[EscalationLevel] = Field(max_length=4)

    def applies(self, priority: str, queue: str, channel: str, breach: str) -> bool:
        return (
            (not self.priorities or priority in self.priorities)
            and (not self.queues or queue in self.queues)
            and (not self.channels or channel in self.channels)
            and self.breach in ("any", breach)
        )

    def level(self, number: int) -> EscalationLevel | None:
        return next((level for level in self.levels if level.level == number), None)


DEFAULT_MATRIX = "default"


def _is_single_matrix(value: Any) -> bool:
    """The older form of `escalation`: one list of levels for every ticket (no item names a matrix)."""
    return isinstance(value, list) and not any(
        isinstance(item, dict) and {"name", "levels"} & set(item) for item in value
    )


def _matrices(value: Any) -> Any:
    """`escalation` as a list of matrices; the older single list of levels is one matrix for every ticket."""
    if value and _is_single_matrix(value):
        return [{"name": DEFAULT_MATRIX, "levels": value}]
    return value


class ClassifierPolicy(Strict):
    """The queue classifier, asked when no hard routing rule matches: at `min_confidence` or above its queue wins,
    below it the rules that yield (`yields: true`) are tried, then the default queue. It learns from the knowledge
    base's passages and, once there are at least `min_moved_tickets`, from the tickets agents resolved in another
    queue than the one they were routed to (`usecases.queue_classifier`)."""

    min_confidence: float = Field(default=0.5, ge=0, le=1)
    min_moved_tickets: int = Field(default=20, ge=1)


class IncidentPolicy(Strict):
    """When many similar tickets arrive within `window`, group them under one incident: at least `min_tickets`
    (the new one included) whose text is at least `similarity` alike (0–1). Their priority goes one level up, or
    to `priority` when given (never down)."""

    enabled: bool = True
    window: Minutes = Field(default=30, gt=0)
    min_tickets: int = Field(default=5, ge=2)
    similarity: float = Field(default=0.92, gt=0, le=1)  # cosine; the shipped model's paraphrases
    priority: Priority | None = None


def _http_url(value: Any) -> str:
    text = str(value).strip()
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{text!r} is not an http(s) URL: write e.g. 'https://helpdesk.example/hooks/tierzero'")
    return text


class Webhook(Strict):
    """Where ticket events are POSTed: JSON signed with `secret` (HMAC-SHA256 in X-TierZero-Signature), retried
    with exponential back-off up to `max_attempts`; `events` picks which ones (empty: all)."""

    url: Annotated[str, BeforeValidator(_http_url)]
    secret: str = Field(min_length=16)
    events: list[WebhookEventName] = Field(default_factory=list)
    max_attempts: int = Field(default=5, ge=1, le=20)
    timeout: float = Field(default=10.0, gt=0, le=120)

    def wants(self, event: str) -> bool:
        return not self.events or event in self.events


class Policies(Strict):
    """Everything that decides where a handoff goes, how urgent it is and how long the team has."""

    default_queue: str
    channels: list[str] = Field(default_factory=lambda: ["web"], min_length=1)
    reminder_before: Minutes = 30
    auto_close_after: Minutes = 7 * 1440
    business_hours: dict[str, BusinessHours] = Field(min_length=1)
    queues: dict[str, Queue] = Field(min_length=1)
    routing: list[RoutingRule] = Field(default_factory=list)
    priority: list[PriorityRule] = Field(default_factory=list)
    classifier: ClassifierPolicy = ClassifierPolicy()
    sla: list[SlaPolicy] = Field(min_length=1)
    escalation: Annotated[list[EscalationMatrix], BeforeValidator(_matrices)] = Field(default_factory=list)
    webhooks: list[Webhook] = Field(default_factory=list)
    incidents: IncidentPolicy = IncidentPolicy()
    lead_takes: list[HandoffIntent] = Field(default_factory=list)

    @cached_property
    def calendars(self) -> dict[str, BusinessCalendar]:
        return {name: hours.calendar() for name, hours in self.business_hours.items()}

    def calendar(self, queue: str) -> BusinessCalendar:
        """The business calendar of `queue` (the default queue's for a queue no longer configured)."""
        known = self.queues.get(queue) or self.queues[self.default_queue]
        return self.calendars[known.hours]

    def queue_name(self, queue: str, lang: str) -> str:
        """What customers writing `lang` are told `queue` is called: its name in `lang`, else in English, else (a queue
        no longer configured, or one given no name) its id in words."""
        names = known.name if (known := self.queues.get(queue)) else {}
        return names.get(lang) or names.get("en") or queue.replace("_", " ")

    def tier(self, queue: str) -> int:
        return (self.queues.get(queue) or self.queues[self.default_queue]).tier

    def sla_for(self, priority: str, queue: str, channel: str) -> SlaPolicy:
        """The first SLA policy that matches (coverage is checked on load, so there always is one)."""
        for policy in self.sla:
            if policy.applies(priority, queue, channel):
                return policy
        return self.sla[-1]

    def escalation_for(self, priority: str, queue: str, channel: str, breach: str) -> EscalationMatrix | None:
        """The first escalation matrix that matches a ticket and the deadline it missed (every ticket matches one,
        checked on load; None only when no escalation is configured)."""
        return next((m for m in self.escalation if m.applies(priority, queue, channel, breach)), None)

    def matrix(self, name: str) -> EscalationMatrix | None:
        return next((m for m in self.escalation if m.name == name), None)

    def warnings(self, today: date) -> list[str]:
        """What is valid but likely wrong as of `today` (the clock's day): each 'where: why'."""
        return [f"{_where(loc)}: {why}" for loc, why in _warnings(self, today)]


def _a_year_after(day: date) -> date:
    try:
        return day.replace(year=day.year + 1)
    except ValueError:  # 29 February
        return day.replace(year=day.year + 1, day=28)


def _warnings(policies: Policies, today: date) -> list[tuple[tuple[Any, ...], str]]:
    """Calendars whose holidays end within the next 12 months: the public holidays after the last date would be
    counted as business days, silently."""
    found: list[tuple[tuple[Any, ...], str]] = []
    horizon = _a_year_after(today)
    for name, hours in policies.business_hours.items():
        last = hours.covered_until()
        if last is not None and last < horizon:
            found.append(
                (
                    ("business_hours", name, "holidays"),
                    f"the holidays end on {last}, less than {HOLIDAYS_AHEAD_MONTHS} months after {today}: every later "
                    "public holiday counts as a business day in SLA deadlines; add `public_holidays: {country: ...}` "
                    "(the country's two-letter code, e.g. JP: every year is known) or the dates to come",
                )
            )
    return found


def _problems(policies: Policies) -> list[tuple[tuple[Any, ...], str]]:
    """What pydantic cannot see: names that must refer to something defined elsewhere in the file."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    queues = set(policies.queues)

    def unknown_queue(loc: tuple[Any, ...], name: str | None) -> None:
        if name is not None and name not in queues:
            problems.append((loc, f"unknown queue {name!r} (queues: {', '.join(sorted(queues))})"))

    unknown_queue(("default_queue",), policies.default_queue)
    for name, hours in policies.business_hours.items():
        try:
            hours.calendar()
        except (ValueError, KeyError) as error:  # ZoneInfoNotFoundError is a KeyError
            reason = f"unknown time zone {hours.timezone!r}" if isinstance(error, KeyError) else str(error)
            problems.append((("business_hours", name, "timezone"), reason))
    for name, queue in policies.queues.items():
        if queue.hours not in policies.business_hours:
            problems.append(
                (
                    ("queues", name, "hours"),
                    f"unknown business hours {queue.hours!r} (defined: {', '.join(sorted(policies.business_hours))})",
                )
            )
        unknown_queue(("queues", name, "escalate_to"), queue.escalate_to)
        if queue.escalate_to in queues and policies.queues[queue.escalate_to].tier <= queue.tier:
            problems.append((("queues", name, "escalate_to"), "a tier escalation must go to a queue of a higher tier"))
    first_yielding: int | None = None
    for i, rule in enumerate(policies.routing):
        unknown_queue(("routing", i, "queue"), rule.queue)
        if rule.yields and not rule.may_yield:
            problems.append(
                (
                    ("routing", i, "yields"),
                    "a rule on customer attributes, intents, channels or languages is hard: the classifier reads "
                    "only the text, so it cannot overrule it; drop `yields` or those conditions",
                )
            )
        elif rule.yields and first_yielding is None:
            first_yielding = i
        elif not rule.yields and first_yielding is not None:
            problems.append(
                (
                    ("routing", i, "name"),
                    f"the hard rule {rule.name!r} comes after {policies.routing[first_yielding].name!r}, which "
                    "yields: hard rules are tried before the classifier and every yielding rule, so list them first",
                )
            )
    for i, rule in enumerate(policies.priority):
        if (rule.set is None) == (rule.raise_by is None):
            problems.append((("priority", i), "a priority rule needs exactly one of `set` or `raise`"))
        for queue in rule.queues:
            unknown_queue(("priority", i, "queues"), queue)
    for i, policy in enumerate(policies.sla):
        for queue in policy.queues:
            unknown_queue(("sla", i, "queues"), queue)
        for channel in policy.channels:
            if channel not in policies.channels:
                problems.append(
                    (("sla", i, "channels"), f"unknown channel {channel!r} (channels: {policies.channels})")
                )
    uncovered = [
        f"{priority}/{queue}/{channel}"
        for priority in PRIORITIES
        for queue in policies.queues
        for channel in policies.channels
        if not any(p.applies(priority, queue, channel) for p in policies.sla)
    ]
    if uncovered:
        problems.append((("sla",), f"no SLA policy covers {', '.join(uncovered[:5])}: add a catch-all policy last"))
    problems.extend(_escalation_problems(policies))
    seen_urls: set[str] = set()
    for i, hook in enumerate(policies.webhooks):
        if hook.url in seen_urls:
            problems.append((("webhooks", i, "url"), f"{hook.url!r} is listed twice: merge the two entries' events"))
        seen_urls.add(hook.url)
    return problems


def _escalation_problems(policies: Policies) -> list[tuple[tuple[Any, ...], str]]:
    """Each matrix's queues, channels and levels; every ticket and breach matched by some matrix; no matrix unused."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    names: set[str] = set()
    for m, matrix in enumerate(policies.escalation):
        where = ("escalation", m)
        if matrix.name in names:
            problems.append(
                ((*where, "name"), f"two matrices are called {matrix.name!r}: a ticket records which applied")
            )
        names.add(matrix.name)
        for queue in matrix.queues:
            if queue not in policies.queues:
                known = ", ".join(sorted(policies.queues))
                problems.append(((*where, "queues"), f"unknown queue {queue!r} (queues: {known})"))
        for channel in matrix.channels:
            if channel not in policies.channels:
                problems.append(((*where, "channels"), f"unknown channel {channel!r} (channels: {policies.channels})"))
        for i, level in enumerate(matrix.levels):
            before = matrix.levels[i - 1] if i else None
            if before is not None and level.level <= before.level:
                problems.append(
                    (
                        (*where, "levels", i, "level"),
                        f"levels must go up (1 to 4; a matrix may skip some); got {level.level} after {before.level}",
                    )
                )
            elif before is not None and level.after <= before.after:
                problems.append(((*where, "levels", i, "after"), "each level must come later than the one before"))
    if not policies.escalation:
        return problems
    cases = [
        (priority, queue, channel, breach)
        for priority in PRIORITIES
        for queue in policies.queues
        for channel in policies.channels
        for breach in BREACHES
    ]
    chosen = {case: policies.escalation_for(*case) for case in cases}
    uncovered = [f"{p}/{q}/{c} on a {b.replace('_', ' ')} breach" for (p, q, c, b), m in chosen.items() if m is None]
    if uncovered:
        problems.append(
            (("escalation",), f"no escalation matrix covers {', '.join(uncovered[:3])}: add a catch-all matrix last")
        )
    used = {id(m) for m in chosen.values() if m is not None}
    for m, matrix in enumerate(policies.escalation):
        if id(matrix) not in used:
            problems.append(
                (
                    ("escalation", m, "name"),
                    f"the matrix {matrix.name!r} never applies: the ones before it match every ticket it would",
                )
            )
    return problems


def _line(root: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """The line (1-based) of the deepest node of `loc` present in the YAML tree."""
    node, line = root, (root.start_mark.line + 1 if root else 1)
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if match is None:
                break
            line, node = match[0].start_mark.line + 1, match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _where(loc: tuple[Any, ...]) -> str:
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "file"


def parse_policies(text: str, source: str = "policies", today: date | None = None) -> Policies:
    """Validate policies given as YAML text; raises PolicyError with one 'line N: where: reason' per problem.

    What is valid but likely wrong on `today` (the clock's day; the system's when not given) is logged as a
    warning with its line, and `Policies.warnings(today)` tells it again."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyError(f"{source} line {line}: not valid YAML: {error.problem or error}") from error
    if not isinstance(data, dict):
        raise PolicyError(f"{source} line 1: the file must be a mapping of sections (queues, routing, sla, …)")
    single = bool(data.get("escalation")) and _is_single_matrix(data.get("escalation"))

    def located(loc: tuple[Any, ...]) -> tuple[Any, ...]:
        """Where in the file: a single list of levels is read as one matrix, but the file has no matrix around it."""
        if single and loc[:2] == ("escalation", 0):
            return ("escalation", *loc[3:])
        return loc

    try:
        policies = Policies.model_validate(data)
    except ValidationError as error:
        found = [(located(tuple(e["loc"])), e["msg"]) for e in error.errors()]
        lines = [f"{source} line {_line(root, loc)}: {_where(loc)}: {why}" for loc, why in found]
        raise PolicyError("\n".join(lines)) from None
    problems = [(located(loc), why) for loc, why in _problems(policies)]
    if problems:
        raise PolicyError("\n".join(f"{source} line {_line(root, loc)}: {_where(loc)}: {why}" for loc, why in problems))
    for loc, why in _warnings(policies, today or datetime.now(UTC).date()):
        logger.warning("%s line %d: %s: %s", source, _line(root, loc), _where(loc), why)
    return policies


def load_policies(path: Path = DEFAULT_POLICIES_FILE, today: date | None = None) -> Policies:
    """Read and validate a policies file (see `config/policies.yml`); `today` as for `parse_policies`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"cannot read the policies file {path}: {error.strerror}") from error
    return parse_policies(text, source=str(path), today=today)
