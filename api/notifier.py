"""The webhook sender inside the API process: every second or so, fan new ticket events out to the configured
webhooks and POST the deliveries that are due, signed, with httpx. Failures are retried with exponential back-off
(`handoff.webhooks.backoff`) up to each webhook's `max_attempts`. The events wait in the database (the outbox is
written with the ticket change), so the chat never waits for a webhook and a restart loses nothing."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
from sqlalchemy.orm import Session

from api.periodic import PeriodicJob
from handoff import Clock, Policies
from handoff.webhooks import SIGNATURE_HEADER, claim_due, dispatch, record_attempt, sign

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Attempt:
    """One POST: which delivery, to where, for which event, its attempt number and what came of it."""

    delivery_id: int
    event_id: str
    event: str
    url: str
    attempt: int
    status_code: int | None
    error: str | None
    outcome: str  # delivered | pending (will retry) | failed (gave up)


class Notifier(PeriodicJob):
    """Runs `run_once` every `interval` seconds in the background; tests call `run_once` directly."""

    job_name = "webhook notifier"

    def __init__(
        self,
        sessions: Callable[[], Session],
        policies: Policies,
        clock: Clock,
        interval: float = 1.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        if interval <= 0:
            raise ValueError("the webhook delivery interval must be positive")
        self.sessions, self.policies, self.clock, self.interval = sessions, policies, clock, interval
        self.hooks = {hook.url: hook for hook in policies.webhooks}
        longest = max((hook.timeout for hook in policies.webhooks), default=10.0)
        self.lease = timedelta(seconds=longest + 30)  # a send that outlives this is assumed lost and retried
        self.client = httpx.Client(transport=transport, follow_redirects=False)

    def _post(
        self, url: str, event_id: str, event: str, delivery_id: int, body: bytes
    ) -> tuple[int | None, str | None]:
        hook = self.hooks.get(url)
        if hook is None:
            return None, "this webhook is no longer configured"
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "TierZero-Webhooks/1",
            SIGNATURE_HEADER: sign(hook.secret, body),
            "X-TierZero-Event": event,
            "X-TierZero-Event-Id": event_id,
            "X-TierZero-Delivery": str(delivery_id),
        }
        try:
            response = self.client.post(url, content=body, headers=headers, timeout=hook.timeout)
        except httpx.HTTPError as error:
            return None, f"{type(error).__name__}: {error}"
        if 200 <= response.status_code < 300:
            return response.status_code, None
        return response.status_code, f"HTTP {response.status_code}: {response.text[:200]}"

    def run_once(self) -> list[Attempt]:
        """Fan out new events and send every delivery due now, once each; returns the attempts made."""
        attempts: list[Attempt] = []
        with self.sessions() as session:
            dispatch(session, self.policies.webhooks, self.clock.now())
            for claimed in claim_due(session, self.clock.now(), self.lease):
                status_code, error = self._post(
                    claimed.url, claimed.event_id, claimed.event, claimed.delivery_id, claimed.body.encode()
                )
                hook = self.hooks.get(claimed.url)
                max_attempts = hook.max_attempts if hook else claimed.attempt
                outcome = record_attempt(session, claimed, self.clock.now(), max_attempts, status_code, error)
                attempts.append(
                    Attempt(
                        claimed.delivery_id,
                        claimed.event_id,
                        claimed.event,
                        claimed.url,
                        claimed.attempt,
                        status_code,
                        error,
                        outcome,
                    )
                )
                log = logger.info if outcome == "delivered" else logger.warning
                log(
                    "webhook %s %s to %s, attempt %d: %s%s",
                    claimed.event,
                    claimed.event_id,
                    claimed.url,
                    claimed.attempt,
                    outcome,
                    f" ({error})" if error else "",
                )
        return attempts

    async def stop(self) -> None:
        await super().stop()
        self.client.close()
