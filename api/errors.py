"""The one place where the use cases' refusals become HTTP answers: a status and a message a person can act on."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from usecases.errors import Conflict, Invalid, NotFound, RateLimited, Unauthorized, UseCaseError

STATUS = {NotFound: 404, Unauthorized: 401, Conflict: 409, Invalid: 422, RateLimited: 429}


def status_of(error: UseCaseError) -> int:
    return next((code for kind, code in STATUS.items() if isinstance(error, kind)), 400)


def headers_of(error: UseCaseError) -> dict[str, str]:
    if isinstance(error, Unauthorized):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, RateLimited):
        return {"Retry-After": str(error.retry_after)}
    return {}


def install(app: FastAPI) -> None:
    """Answer every UseCaseError a route lets through with its status, message and headers."""

    @app.exception_handler(UseCaseError)
    async def use_case_error(request: Request, error: UseCaseError) -> JSONResponse:
        return JSONResponse({"detail": error.message}, status_code=status_of(error), headers=headers_of(error))
