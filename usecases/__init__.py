"""Tier Zero's application layer: the use cases between the adapters (api/ for HTTP, bot/ for Rasa) and the
domain (kb/, handoff/, privacy/).

Each use case has one verb, takes typed inputs, returns typed results and knows nothing of HTTP or Rasa; it refuses
with the errors of `usecases.errors`, which each adapter maps to its own terms in one place. `build` makes them all
from one `Context`; the process that serves holds the result and hands it to the routes and to the bot's actions.
"""

from __future__ import annotations

from dataclasses import dataclass

from usecases.answers import Answers
from usecases.articles import ArticleDesk
from usecases.context import Context
from usecases.conversations import Conversations
from usecases.customers import Customers, CustomerTokenKeys
from usecases.handoff import HandOff, HandoffDetails
from usecases.incidents import Incidents
from usecases.limits import Limits
from usecases.notices import CustomerNotices
from usecases.ports import Assistant
from usecases.reports import Analytics, Reports
from usecases.suggestions import Suggestions
from usecases.tickets import TicketDesk


@dataclass(frozen=True)
class UseCases:
    ctx: Context
    answers: Answers
    hand_off: HandOff
    conversations: Conversations
    customers: Customers
    tickets: TicketDesk
    articles: ArticleDesk
    suggestions: Suggestions
    incidents: Incidents
    analytics: Analytics
    reports: Reports
    notices: CustomerNotices


def build(
    ctx: Context,
    assistant: Assistant,
    limits: Limits,
    *,
    max_message_chars: int,
    assistant_timeout: float,
    customer_keys: CustomerTokenKeys | None = None,
    demo_customer: bool = False,
) -> UseCases:
    """Every use case over `ctx`, the customer's turn answered by `assistant` within `limits`; customer tokens
    checked with `customer_keys` (none: every token is refused), the demo customer's signed when `demo_customer`."""
    answers, hand_off = Answers(ctx), HandOff(ctx)
    customers = Customers(customer_keys or CustomerTokenKeys(), ctx.clock.now, demo=demo_customer)
    conversations = Conversations(
        ctx,
        assistant,
        answers,
        hand_off,
        limits,
        max_message_chars=max_message_chars,
        assistant_timeout=assistant_timeout,
        customers=customers,
    )
    notices = CustomerNotices(ctx)
    return UseCases(
        ctx=ctx,
        answers=answers,
        hand_off=hand_off,
        conversations=conversations,
        customers=customers,
        tickets=TicketDesk(ctx, notices),
        notices=notices,
        articles=ArticleDesk(ctx),
        suggestions=Suggestions(ctx),
        incidents=Incidents(ctx),
        analytics=Analytics(ctx.sessions, ctx.clock),
        reports=Reports(ctx),
    )


__all__ = ["Context", "HandoffDetails", "Limits", "UseCases", "build"]
