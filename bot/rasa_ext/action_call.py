"""Calls to the action server carry the events from the customer's latest message on, not the whole session.

Rasa: `RemoteAction._action_call_format` sends, with every call to the action server, the tracker's state with
every event of the conversation's session (`EventVerbosity.ALL`): serialised by Rasa and parsed by the action
server on every call, more with every turn (bench/results/load.md).

The patch: the call is built the same way (the same action name, sender, Rasa version, domain when Rasa sends it,
and the same tracker state: slots, latest message, active loop, latest action …) but the state's `events` are the
ones from the latest `UserUttered` on (all of them when there is none). Tier Zero's actions (bot/actions) read the
slots, the latest message and rasa-sdk's `Tracker.slots_to_validate()`, which looks only at the slot events at the
end of the events, after the latest message: what they read is the same. An action that needs earlier events
would not get them; none does, and tests/rasa checks that only `events` differs.
"""

from __future__ import annotations

from typing import Any

import rasa
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity


def since_latest_user_message(events: list[Event]) -> list[Event]:
    """The events from the latest customer message on (all of them if there is none)."""
    for index in range(len(events) - 1, -1, -1):
        if isinstance(events[index], UserUttered):
            return events[index:]
    return events


def action_call(action: RemoteAction, tracker: DialogueStateTracker, domain: Domain) -> dict[str, Any]:
    """`RemoteAction._action_call_format` with the events from the customer's latest message on."""
    state = tracker.current_state(EventVerbosity.NONE)  # all but the events, which are not serialised here
    state["events"] = [event.as_dict() for event in since_latest_user_message(list(tracker.events))]
    call = {"next_action": action.name(), "sender_id": tracker.sender_id, "tracker": state, "version": rasa.__version__}
    if not action._is_selective_domain_enabled() or domain.does_custom_action_explicitly_need_domain(action.name()):
        call["domain"] = domain.as_dict()
    return call


PATCHES = ((RemoteAction, "_action_call_format", action_call),)
