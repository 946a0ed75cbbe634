"""What a use case refuses, and why: one family of errors that every adapter maps to its own terms in one place
(the API to HTTP statuses in `api/errors.py`, the bot to a polite reply). The message is for the person who sent
the request, so it says what to do."""

from __future__ import annotations


class UseCaseError(Exception):
    """A request the use case cannot carry out; `str(error)` says why and what to do."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(UseCaseError):
    """The thing named does not exist."""


class Unauthorized(UseCaseError):
    """The credentials given do not open this thing."""


class Conflict(UseCaseError):
    """The request clashes with the thing's current state or with an earlier request."""


class Invalid(UseCaseError):
    """A value in the request cannot be used; the message names it."""


class RateLimited(UseCaseError):
    """Too many requests of this kind from this source; try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after
