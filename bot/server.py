"""Start the Rasa server: `python -m bot.server run ...` takes the same arguments as `rasa run`.

Six changes to Rasa 3.6, for speed:

- It checks every custom action's response against a JSON schema with `jsonschema.validate`, which first checks the
  schema itself against its meta-schema on every call. That took about 140 ms per action call on two cores, most of
  a conversation turn. The schema never changes, so the validator is built once and reused; responses are checked
  exactly as before and a bad one fails with the same message.
- It sends every event of the conversation's session to the action server on every call (serialised by Rasa,
  parsed by the action server: ~100 KB and ~5 ms of CPU by the twentieth turn). The actions read the slots, the
  latest message and the slots set since it (rasa-sdk's `slots_to_validate`), all still sent: the call carries the
  events from the customer's latest message on.
- It opens a new HTTP session, so a new connection, for every call to the action server (and to any other
  endpoint): set up and torn down by both servers every turn. Under load an action call took p50 29 ms so, 17 ms with
  the connection kept (bench/results/load.md). Each endpoint's session is now made once and kept open, its
  connections reused; a connection the other side closed (the API restarted, say) is replaced on the next call.
- Once the model is loaded, everything the server holds (TensorFlow, the model, the domain) is moved out of the
  garbage collector's reach (`gc.freeze`). Otherwise each full collection walks all of it: 0.2-1 s under load with
  every conversation waiting, the largest part of the slowest replies (bench/results/load.md). A model replaced
  while the server runs (Rasa's `PUT /model`, a model server in endpoints.yml; neither is used here) would stay in
  memory: restart the server to change models.
- Before every prediction it replays the whole session to work out the conversation's states, four times a turn:
  the replay is now kept on the tracker and goes on from where it stopped (bot/states.py), with the same states.
- It runs its model graph through dask's scheduler, built and ordered on every call: the nodes are now called in
  an order worked out once (bot/graph.py), with the same inputs.
"""

from __future__ import annotations

import gc
from asyncio import AbstractEventLoop
from functools import cache
from typing import Any

import aiohttp
import rasa
import rasa.core.run
from jsonschema import ValidationError
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.constants import DOCS_BASE_URL
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa.utils.endpoints import EndpointConfig

from bot import graph
from bot.states import states_for_tracker_history


@cache
def action_response_validator() -> Validator:
    """The validator for Rasa's action-server response format, built once."""
    schema = RemoteAction.action_response_format_spec()
    return validator_for(schema)(schema)


def validate_action_result(action: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the prebuilt validator."""
    try:
        action_response_validator().validate(result)
    except ValidationError as error:
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action endpoint "
            f"is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
        )
        raise
    return True


def since_latest_user_message(events: list[Event]) -> list[Event]:
    """The events from the latest customer message on (all of them if there is none)."""
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            return events[index:]
    return events


def action_call(action: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> dict[str, Any]:
    """`RemoteAction._action_call_format` with the events from the customer's latest message on."""
    state = tracker.current_state(EventVerbosity.NONE)
    state["events"] = [event.as_dict() for event in since_latest_user_message(list(tracker.events))]
    call = {"next_action": action.name(), "sender_id": tracker.sender_id, "tracker": state, "version": rasa.__version__}
    if not action._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(action.name()):
        call["domain"] = domain.as_dict()
    return call


class _Open:
    """`async with` on a session that stays open afterwards."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> aiohttp.ClientSession:
        return self._session

    async def __aexit__(self, *_: object) -> None:
        return None


_new_session = EndpointConfig.session


def kept_session(endpoint: EndpointConfig) -> _Open:
    """`EndpointConfig.session`, made once per endpoint (in the server's one event loop) and kept open."""
    session = endpoint.__dict__.get("_kept_session")
    if session is None or session.closed:
        session = endpoint.__dict__["_kept_session"] = _new_session(endpoint)
    return _Open(session)


_load_agent_on_start = rasa.core.run.load_agent_on_start


async def load_agent_then_freeze(
    model_path: str, endpoints: Any, remote_storage: str | None, app: Any, loop: AbstractEventLoop
) -> Agent:
    """`rasa.core.run.load_agent_on_start`, then what it loaded moved out of the garbage collector's reach."""
    agent = await _load_agent_on_start(model_path, endpoints, remote_storage, app, loop)
    gc.collect()
    gc.freeze()
    return agent


def main() -> None:
    RemoteAction._validate_action_result = validate_action_result
    RemoteAction._action_call_format = action_call
    EndpointConfig.session = kept_session
    rasa.core.run.load_agent_on_start = load_agent_then_freeze
    Domain.states_for_tracker_history = states_for_tracker_history
    DaskGraphRunner.run = graph.run
    from rasa.__main__ import main as rasa_main

    rasa_main()


if __name__ == "__main__":
    main()
