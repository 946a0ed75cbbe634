"""The clock inside the API process: every few seconds, fire the SLA reminders, escalations and automatic closes
that are due, and tell the customer of what concerns them (`usecases.notices`: an escalation to another team) in
the same transaction. The deadlines live in the database, so a restart picks up where the last process stopped, and
the timers are claimed one by one, so nothing fires twice (see `handoff.sla.fire_due_timers`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from api.periodic import PeriodicJob
from handoff import Clock, Policies, fire_due_timers
from handoff.sla import Fired, OnFired

logger = logging.getLogger(__name__)


class Scheduler(PeriodicJob):
    """Runs `run_once` every `interval` seconds in the background; tests call `run_once` directly."""

    job_name = "SLA scheduler"

    def __init__(
        self,
        sessions: Callable[[], Session],
        policies: Policies,
        clock: Clock,
        interval: float = 15.0,
        on_fired: OnFired | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("the scheduler interval must be positive")
        self.sessions, self.policies, self.clock, self.interval = sessions, policies, clock, interval
        self.on_fired = on_fired

    def run_once(self) -> list[Fired]:
        """Fire everything due now; returns what fired."""
        with self.sessions() as session:
            fired = fire_due_timers(session, self.policies, self.clock.now(), on_fired=self.on_fired)
        for item in fired:
            logger.info("ticket %s: %s (%s)", item.ticket_id, item.event, item.kind)
        return fired
