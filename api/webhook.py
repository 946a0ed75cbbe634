"""The Rasa action webhook, hosted in the API so the actions share its embedding model and index.

Rasa's `action_endpoint` points here (bot/endpoints.yml) with a shared token; this is rasa-sdk's own executor
behind a FastAPI route, answering exactly as rasa-sdk's action server would. The executor holds the actions built
over the app's use cases (`bot.actions.actions_for`).
"""

from __future__ import annotations

import hmac
import json
import logging
import zlib

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from rasa_sdk.executor import ActionExecutor
from rasa_sdk.interfaces import ActionExecutionRejection, ActionMissingDomainException, ActionNotFoundException

from api.deps import ExecutorDep, SettingsDep
from bot.actions.actions import actions_for
from usecases import UseCases

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def make_executor(cases: UseCases) -> ActionExecutor:
    executor = ActionExecutor()
    for action in actions_for(cases):
        executor.register_action(action)
    return executor


@router.post("/webhook")
async def webhook(
    request: Request,
    settings: SettingsDep,
    executor: ExecutorDep,
    token: str = Query(default=""),
) -> JSONResponse:
    expected = settings.action_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):  # str raises on non-ASCII
        raise HTTPException(403, "the action webhook needs the action token Rasa was started with")
    raw = await request.body()
    if request.headers.get("Content-Encoding") == "deflate":
        try:
            raw = zlib.decompress(raw)
        except zlib.error as error:
            raise HTTPException(400, "the action call is not valid deflate data") from error
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
