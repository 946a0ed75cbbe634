"""Per-conversation and per-address rate limits, so one client cannot flood the bot or the database."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from fastapi import HTTPException, Request


class RateLimiter:
    """A sliding-window counter: at most `limit` events per `window` seconds for each key.

    >>> clock = iter([0.0, 1.0, 2.0, 61.5]).__next__
    >>> limiter = RateLimiter(limit=2, window=60, clock=clock)
    >>> [limiter.allow("a") for _ in range(4)]
    [True, True, False, True]
    """

    def __init__(self, limit: int, window: float, clock: Callable[[], float] = time.monotonic) -> None:
        if limit <= 0 or window <= 0:
            raise ValueError("a rate limit needs a positive limit and window")
        self.limit, self.window, self._clock = limit, window, clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        """Record an event for `key` if it is within the limit; False if it is not."""
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            while events and events[0] <= now - self.window:
                events.popleft()
            if len(events) >= self.limit:
                return False
            events.append(now)
            if len(self._events) > 100_000:  # forget idle keys so memory stays bounded
                for idle in [k for k, v in self._events.items() if not v]:
                    del self._events[idle]
            return True

    def check(self, key: str, what: str) -> None:
        """Raise 429 with a message and Retry-After if `key` is over its limit."""
        if not self.allow(key):
            raise HTTPException(
                status_code=429,
                detail=f"too many {what}: at most {self.limit} per {int(self.window)} seconds; please wait a moment",
                headers={"Retry-After": str(int(self.window))},
            )


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
