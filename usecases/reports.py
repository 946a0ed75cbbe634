"""Reports for staff, read from the stores and computed on the spot:

- `Analytics`: the analytics report over whole days (`handoff.analytics` has the definitions) and the live figures
  a metrics scrape reads; it needs the database and the clock only, so a command can make one without loading the
  knowledge base;
- `Reports`: the editors' knowledge-gaps report (questions the bot could not answer, clustered by meaning; articles
  that say the same as another; articles customers or agents kept overriding) and the agents' overview of the
  queues.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from handoff import Ticket
from handoff.analytics import DEADLINES, AnalyticsReport, analytics_report, day_window, zone
from handoff.clock import Clock, as_utc
from handoff.models import Conversation, Message, TicketTimer
from handoff.vocabulary import OPEN_TICKET_STATUSES
from kb.gaps import knowledge_gaps, near_duplicate_articles, overridden_articles
from kb.models import Article
from usecases.context import Context
from usecases.errors import Invalid
from usecases.gaps import gather, pending_suggestions_by_ticket
from usecases.tickets import NEXT_DEADLINE

MAX_DAYS = 366
DEFAULT_DAYS = 30
# Every question of the window is embedded for each report: past this many, only the most recent are clustered, so
# that the report's time stays bounded however busy the window was.
MAX_QUESTIONS = 1000
Counted = list[tuple[str, int]]


# --- analytics ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreFigures:
    """Totals read from the database: conversations; messages by sender; tickets by reason, by queue and status,
    and being worked on by queue and priority; SLA breaches by deadline; articles by status."""

    conversations: int
    messages: Counted
    handoffs: Counted
    tickets: list[tuple[str, str, int]]
    open_tickets: list[tuple[str, str, int]]
    breaches: Counted
    articles: Counted


def report_window(since: date | None, until: date | None, tz: str, now: datetime) -> tuple[datetime, datetime]:
    """The whole days asked for, as a window of times: by default the last 30 days up to today (in `tz`).
    Invalid says what is wrong with a backward, too long or out-of-range window or an unknown time zone."""
    try:
        until = until or now.astimezone(zone(tz)).date()
        try:
            since = since or until - timedelta(days=DEFAULT_DAYS - 1)
        except OverflowError as error:
            raise ValueError(f"until ({until}) leaves no room for the default window: give since as well") from error
        if since > until:
            raise ValueError(f"since ({since}) is after until ({until}): swap them")
        if (until - since).days + 1 > MAX_DAYS:
            raise ValueError(
                f"the window is {(until - since).days + 1} days long; ask for at most {MAX_DAYS} at a time"
            )
        return day_window(since, until, tz)
    except ValueError as error:
        raise Invalid(str(error)) from error


class Analytics:
    def __init__(self, sessions: Callable[[], Session], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def report(self, since: date | None = None, until: date | None = None, tz: str = "UTC") -> AnalyticsReport:
        """Conversations, deflection, escalations by reason, SLA breaches and median reply times over whole days
        from `since` to `until` (both included, counted in the time zone `tz`; by default the last 30 days up to
        today), in total, per day, and by language, queue, tag and priority."""
        since_at, until_at = report_window(since, until, tz, self.clock.now())
        with self.sessions() as session:
            return analytics_report(session, since_at, until_at, timezone=tz)

    def figures(self) -> StoreFigures:
        """The totals as the database holds them now, the same whichever process reads them."""
        with self.sessions() as session:
            conversations = session.scalar(select(func.count()).select_from(Conversation)) or 0
            messages = session.execute(select(Message.sender, func.count()).group_by(Message.sender)).all()
            reasons = session.execute(select(Ticket.reason, func.count()).group_by(Ticket.reason)).all()
            tickets = session.execute(
                select(Ticket.queue, Ticket.status, func.count()).group_by(Ticket.queue, Ticket.status)
            ).all()
            open_tickets = session.execute(
                select(Ticket.queue, Ticket.priority, func.count())
                .where(Ticket.status.in_(OPEN_TICKET_STATUSES))
                .group_by(Ticket.queue, Ticket.priority)
            ).all()
            breaches = session.execute(
                select(TicketTimer.kind, func.count())
                .where(TicketTimer.kind.in_([f"{d}_breach" for d in DEADLINES]), TicketTimer.fired_at.is_not(None))
                .group_by(TicketTimer.kind)
            ).all()
            articles = session.execute(select(Article.status, func.count()).group_by(Article.status)).all()
        return StoreFigures(
            conversations=conversations,
            messages=[(sender, count) for sender, count in messages],
            handoffs=[(reason, count) for reason, count in reasons],
            tickets=[(queue, status, count) for queue, status, count in tickets],
            open_tickets=[(queue, priority, count) for queue, priority, count in open_tickets],
            breaches=[(kind.removesuffix("_breach"), count) for kind, count in breaches],
            articles=[(status, count) for status, count in articles],
        )


# --- knowledge gaps -----------------------------------------------------------------------------------------------


class NearestArticleView(BaseModel):
    id: str
    title: str
    lang: str
    similarity: float
    decision: str


class GapClusterView(BaseModel):
    title: str
    count: int
    languages: dict[str, int]
    reasons: dict[str, int]
    samples: list[str]
    tickets: list[str]
    suggestions: list[int]  # pending learning-loop suggestions made from these tickets
    first_seen: datetime
    last_seen: datetime
    cohesion: float
    nearest: NearestArticleView | None


class ArticleRefView(BaseModel):
    id: str
    title: str
    lang: str


class DuplicatePairView(BaseModel):
    first: ArticleRefView
    second: ArticleRefView
    similarity: float
    same_language: bool


class OverriddenArticleView(BaseModel):
    article_id: str
    title: str | None
    shown: int
    overridden: int
    escalated: int
    replaced: int
    replaced_by: dict[str, int]


class KnowledgeGapsView(BaseModel):
    since: datetime
    until: datetime
    min_count: int
    similarity: float
    questions: int
    truncated: bool  # more unanswered questions than MAX_QUESTIONS: only the most recent were clustered
    clusters: list[GapClusterView]
    near_duplicates: list[DuplicatePairView]
    overridden: list[OverriddenArticleView]


# --- queues -------------------------------------------------------------------------------------------------------


class QueueView(BaseModel):
    """A configured queue now: its tier, lead and hours, its tickets being worked on by status, how many of them
    are past a deadline, and the deadline that comes next (with its ticket)."""

    name: str
    tier: int
    lead: str | None
    timezone: str
    open_now: bool
    counts: dict[str, int]
    breached: int
    nearest_deadline: datetime | None
    nearest_deadline_ticket: str | None


class Reports:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def knowledge_gaps(self, days: int, min_count: int, similarity: float) -> KnowledgeGapsView:
        """The knowledge gaps of the `days` up to now: clusters (of at least `min_count` questions alike to
        `similarity`) with their counts, languages, samples, tickets, pending suggestions and nearest article;
        near-duplicate articles; and the articles overridden at least `min_count` times. Embeds the questions
        (`usecases.gaps` says which count)."""
        if days < 1 or min_count < 1:
            raise Invalid("days and min_count must be at least 1")
        kb, now = self.ctx.kb, self.ctx.clock.now()
        since = now - timedelta(days=days)
        with self.ctx.sessions() as session:
            questions, outcomes = gather(session, since)
            suggestion_of = pending_suggestions_by_ticket(session)
        questions.sort(key=lambda q: q.when, reverse=True)
        clusters = knowledge_gaps(kb, questions[:MAX_QUESTIONS], threshold=similarity, min_count=min_count)
        return KnowledgeGapsView(
            since=since,
            until=now,
            min_count=min_count,
            similarity=similarity,
            questions=min(len(questions), MAX_QUESTIONS),
            truncated=len(questions) > MAX_QUESTIONS,
            clusters=[
                GapClusterView.model_validate(
                    {
                        **asdict(cluster),
                        "suggestions": sorted({s for t in cluster.tickets for s in suggestion_of.get(t, [])}),
                    }
                )
                for cluster in clusters
            ],
            near_duplicates=[
                DuplicatePairView.model_validate(pair, from_attributes=True) for pair in near_duplicate_articles(kb)
            ],
            overridden=[
                OverriddenArticleView.model_validate(entry, from_attributes=True)
                for entry in overridden_articles(kb, outcomes, min_count=min_count)
            ],
        )

    def queues(self) -> list[QueueView]:
        """Every configured queue with its tickets being worked on, breaches and the deadline that comes next."""
        policies, now = self.ctx.policies, self.ctx.clock.now()
        with self.ctx.sessions() as session:
            counts: dict[str, dict[str, int]] = {}
            for queue, status, count in session.execute(
                select(Ticket.queue, Ticket.status, func.count())
                .where(Ticket.status.in_(OPEN_TICKET_STATUSES))
                .group_by(Ticket.queue, Ticket.status)
            ):
                counts.setdefault(queue, {})[status] = count
            running = (
                select(Ticket.id, Ticket.queue, NEXT_DEADLINE.label("due"))
                .where(Ticket.status.in_(("new", "open")), Ticket.sla_paused_at.is_(None))
                .order_by(NEXT_DEADLINE)
            )
            nearest: dict[str, tuple[int, datetime]] = {}
            breaches: dict[str, int] = {}
            for ticket_id, queue, due in session.execute(running):
                if due is None:
                    continue
                nearest.setdefault(queue, (ticket_id, as_utc(due)))
                if as_utc(due) < now:
                    breaches[queue] = breaches.get(queue, 0) + 1
        out = []
        for name, queue in policies.queues.items():
            calendar = policies.calendar(name)
            first = nearest.get(name)
            out.append(
                QueueView(
                    name=name,
                    tier=queue.tier,
                    lead=queue.lead,
                    timezone=calendar.timezone,
                    open_now=calendar.is_open(now),
                    counts={status: counts.get(name, {}).get(status, 0) for status in OPEN_TICKET_STATUSES},
                    breached=breaches.get(name, 0),
                    nearest_deadline=first[1] if first else None,
                    nearest_deadline_ticket=f"TZ-{1000 + first[0]}" if first else None,
                )
            )
        return out
