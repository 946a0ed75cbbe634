"""The clock inside the API process: every few seconds, fire the SLA reminders, escalations and automatic closes
that are due. The deadlines live in the database, so a restart picks up where the last process stopped, and the
timers are claimed one by one, so nothing fires twice (see `handoff.sla.fire_due_timers`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from sqlalchemy.orm import Session

from handoff import Clock, Policies, fire_due_timers
from handoff.sla import Fired

logger = logging.getLogger(__name__)


class Scheduler:
    """Runs `run_once` every `interval` seconds in the background; tests call `run_once` directly."""

    def __init__(
        self,
        sessions: Callable[[], Session],
        policies: Policies,
        clock: Clock,
        interval: float = 15.0,
    ) -> None:
        if interval <= 0:
            raise ValueError("the scheduler interval must be positive")
        self.sessions, self.policies, self.clock, self.interval = sessions, policies, clock, interval
        self._task: asyncio.Task | None = None

    def run_once(self) -> list[Fired]:
        """Fire everything due now; returns what fired."""
        with self.sessions() as session:
            fired = fire_due_timers(session, self.policies, self.clock.now())
        for item in fired:
            logger.info("ticket %s: %s (%s)", item.ticket_id, item.event, item.kind)
        return fired

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # the clock must keep ticking: log and try again next time
                logger.exception("the SLA scheduler failed; retrying in %.0f s", self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name="sla-scheduler")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
