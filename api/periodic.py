"""A job the API process runs every few seconds in the background (the SLA clock, the webhook sender)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

logger = logging.getLogger(__name__)


class PeriodicJob:
    """Calls `run_once` (in a worker thread) every `interval` seconds between `start()` and `stop()`.

    A failing round is logged and the next one runs as usual, so one bad row never stops the clock.
    Subclasses set `interval` and `job_name` and implement `run_once`; tests call `run_once` directly.
    """

    interval: float
    job_name: str = "periodic job"
    _task: asyncio.Task | None = None

    def run_once(self) -> object:
        raise NotImplementedError

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.run_once)
            except Exception:  # keep running: log and try again next round
                logger.exception("the %s failed; retrying in %.0f s", self.job_name, self.interval)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._loop(), name=self.job_name)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
