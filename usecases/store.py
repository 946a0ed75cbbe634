"""Writing under concurrency: a transaction that loses a race to a concurrent one is run again."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from sqlalchemy.exc import IntegrityError

T = TypeVar("T")
# A concurrent request may take the same key, message number or ticket first: look again, then give up.
STORE_ATTEMPTS = 3


def retrying(store: Callable[[], T]) -> T:
    """Run `store` (one transaction) again when a concurrent one takes a unique key it needs first."""
    for _ in range(STORE_ATTEMPTS - 1):
        try:
            return store()
        except IntegrityError:
            pass
    return store()
