"""The Rasa action webhook, hosted in the API so the actions share its embedding model and index.

Rasa's `action_endpoint` points here (bot/endpoints.yml) with a shared token in the `X-TierZero-Action-Token` header
(never in the URL, which access logs keep: a token in the query is refused); this is rasa-sdk's own executor
behind a FastAPI route, answering exactly as rasa-sdk's action server would. The executor holds the actions built
over the app's use cases (`bot.actions.actions_for`).
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import zlib

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from api.deps import ExecutorDep, SettingsDep
from bot.actions.actions import actions_for
from usecases import UseCases

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
TOKEN_HEADER = "X-TierZero-Action-Token"


class RedactQueryTokens(logging.Filter):
    """Blanks `token=…` in the URLs an access log line holds (uvicorn's: the path is one of the record's args), so a
    caller that still puts a token in the query (an old endpoints.yml, refused) leaves no usable token in the log."""

    TOKEN_IN_QUERY = re.compile(r"([?&][a-z_]*token=)[^&\s]*", re.IGNORECASE)

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                self.TOKEN_IN_QUERY.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg for arg in record.args
            )
        if isinstance(record.msg, str):
            record.msg = self.TOKEN_IN_QUERY.sub(r"\1[redacted]", record.msg)
        return True


def redact_tokens_in_access_log(logger_name: str = "uvicorn.access") -> None:
    """Install `RedactQueryTokens` on the access logger, once however many apps are made."""
    access = logging.getLogger(logger_name)
    if not any(isinstance(f, RedactQueryTokens) for f in access.filters):
        access.addFilter(RedactQueryTokens())


def make_executor(cases: UseCases) -> ActionExecutor:
    executor = ActionExecutor()
    for action in actions_for(cases):
        executor.register_action(action)
    return executor


def _inflate(raw: bytes, limit: int) -> bytes:
    """A deflated action call, refused (413) past `limit` bytes inflated, as a larger body would be."""
    inflater = zlib.decompressobj()
    try:
        inflated = inflater.decompress(raw, limit + 1)
    except zlib.error as error:
        raise HTTPException(400, "the action call is not valid deflate data") from error
    if len(inflated) > limit or inflater.unconsumed_tail:
        raise HTTPException(
            413, f"the action call inflates to more than {limit} bytes, the limit (TIERZERO_MAX_IMPORT_BODY_BYTES)"
        )
    if not inflater.eof:
        raise HTTPException(400, "the action call is not valid deflate data (it ends early)")
    return inflated


@router.post("/webhook")
async def webhook(
    request: Request,
    settings: SettingsDep,
    executor: ExecutorDep,
) -> JSONResponse:
    if "token" in request.query_params:  # an endpoints.yml from before the header: fail loudly, not silently
        raise HTTPException(
            403,
            f"the action webhook needs the action token in the {TOKEN_HEADER} header, never in the URL (access "
            f"logs keep URLs): in bot/endpoints.yml, replace `token:` by "
            f"`headers: {{{TOKEN_HEADER}: ${{TIERZERO_ACTION_TOKEN}}}}`",
        )
    token, expected = request.headers.get(TOKEN_HEADER, ""), settings.action_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):  # str raises on non-ASCII
        raise HTTPException(403, f"the action webhook needs the action token Rasa was started with, in {TOKEN_HEADER}")
    raw = await request.body()
    if request.headers.get("Content-Encoding") == "deflate":
        raw = _inflate(raw, settings.max_import_body_bytes)
    try:
        action_call = json.loads(raw)
    except ValueError as error:
        raise HTTPException(400, "the action call is not valid JSON") from error
    try:
        result = await executor.run(action_call)
    except ActionExecutionRejection as error:
        return JSONResponse({"error": error.message, "action_name": error.action_name}, status_code=400)
    except ActionNotFoundException as error:
        logger.error("unknown action: %s", error)
        return JSONResponse({"error": error.message, "action_name": error.action_name}, status_code=404)
    except ActionMissingDomainException as error:
        return JSONResponse({"error": error.message, "action_name": error.action_name}, status_code=449)
    return JSONResponse(result.model_dump() if result else None)
