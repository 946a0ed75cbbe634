"""Rate limits, so one client cannot flood the bot or the database: counted per key (a conversation, an address)."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from usecases.errors import RateLimited

MAX_KEYS = 100_000  # past this many keys, idle ones are forgotten so memory stays bounded


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
            if len(self._events) > MAX_KEYS:
                for idle in [k for k, v in self._events.items() if not v]:
                    del self._events[idle]
            return True

    def check(self, key: str, what: str) -> None:
        """RateLimited, saying what and how many, if `key` is over its limit."""
        if not self.allow(key):
            raise RateLimited(
                f"too many {what}: at most {self.limit} per {int(self.window)} seconds; please wait a moment",
                retry_after=int(self.window),
            )


@dataclass(frozen=True)
class Limits:
    """The limits the customer's use cases apply."""

    messages_per_conversation: RateLimiter
    messages_per_address: RateLimiter
    conversations_per_address: RateLimiter

    @classmethod
    def per_minute(cls, per_conversation: int, per_address: int, conversations_per_hour: int) -> Limits:
        return cls(
            RateLimiter(per_conversation, 60), RateLimiter(per_address, 60), RateLimiter(conversations_per_hour, 3600)
        )
