"""The handoff policies as one validated config file: queues and business hours, routing and priority rules,
SLA policies, the escalation matrix and reminders.

`load_policies(path)` refuses a bad file with a `PolicyError` naming the line and the reason, so a typo in a queue
name stops the start-up instead of silently sending tickets nowhere.
"""

from __future__ import annotations

import re
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError

from handoff.calendar import BusinessCalendar
from handoff.vocabulary import PRIORITIES, Priority, WebhookEventName

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_POLICIES_FILE = Path(__file__).resolve().parent.parent / "config" / "policies.yml"

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*$")
_HOURS = re.compile(r"^(\d{2}):(\d{2})-(\d{2}):(\d{2})$")


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


class BusinessHours(Strict):
    """When a team works: a time zone, opening periods per weekday, and holidays (dates) when it is closed."""

    timezone: str
    weekly: dict[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"], OpeningHours]
    holidays: list[date] = Field(default_factory=list)

    def calendar(self) -> BusinessCalendar:
        weekly = {WEEKDAYS.index(day): ranges for day, ranges in self.weekly.items()}
        return BusinessCalendar(self.timezone, weekly, self.holidays)


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
    """Send a matching handoff to `queue`. Rules are tried in order; the first match wins."""

    name: str
    queue: str


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
    """One row of the escalation matrix: `after` a breach, notify these people and make these changes."""

    level: int = Field(ge=1, le=4)
    after: Minutes
    notify: list[str] = Field(min_length=1)
    reassign_to_lead: bool = False
    raise_tier: bool = False
    raise_priority: bool = False


class ClassifierPolicy(Strict):
    """The topic classifier used when no routing rule matches: below `min_confidence` the default queue wins."""

    min_confidence: float = Field(default=0.5, ge=0, le=1)


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
    escalation: list[EscalationLevel] = Field(default_factory=list, max_length=4)
    webhooks: list[Webhook] = Field(default_factory=list)
    incidents: IncidentPolicy = IncidentPolicy()

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

    def level(self, number: int) -> EscalationLevel | None:
        return next((level for level in self.escalation if level.level == number), None)


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
    for i, rule in enumerate(policies.routing):
        unknown_queue(("routing", i, "queue"), rule.queue)
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
    for i, level in enumerate(policies.escalation):
        if level.level != i + 1:
            problems.append(
                (("escalation", i, "level"), f"levels must be numbered 1, 2, 3, 4 in order; got {level.level}")
            )
        elif i and level.after <= policies.escalation[i - 1].after:
            problems.append((("escalation", i, "after"), "each level must come later than the one before"))
    seen_urls: set[str] = set()
    for i, hook in enumerate(policies.webhooks):
        if hook.url in seen_urls:
            problems.append((("webhooks", i, "url"), f"{hook.url!r} is listed twice: merge the two entries' events"))
        seen_urls.add(hook.url)
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


def parse_policies(text: str, source: str = "policies") -> Policies:
    """Validate policies given as YAML text; raises PolicyError with one 'line N: where: reason' per problem."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyError(f"{source} line {line}: not valid YAML: {error.problem or error}") from error
    if not isinstance(data, dict):
        raise PolicyError(f"{source} line 1: the file must be a mapping of sections (queues, routing, sla, …)")
    try:
        policies = Policies.model_validate(data)
    except ValidationError as error:
        lines = [
            f"{source} line {_line(root, tuple(e['loc']))}: {_where(tuple(e['loc']))}: {e['msg']}"
            for e in error.errors()
        ]
        raise PolicyError("\n".join(lines)) from None
    problems = _problems(policies)
    if problems:
        raise PolicyError("\n".join(f"{source} line {_line(root, loc)}: {_where(loc)}: {why}" for loc, why in problems))
    return policies


def load_policies(path: Path = DEFAULT_POLICIES_FILE) -> Policies:
    """Read and validate a policies file (see `config/policies.yml`)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as error:
        raise PolicyError(f"cannot read the policies file {path}: {error.strerror}") from error
    return parse_policies(text, source=str(path))
