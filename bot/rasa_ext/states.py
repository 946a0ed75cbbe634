"""Rasa's dialogue states of a conversation, worked out once per event instead of once per prediction.

Rasa: before each prediction, its policies ask for the conversation's states (`Domain.states_for_tracker_history`):
every event of the session replayed into a new tracker, one state taken before each action. The rule policy asks
twice per prediction and a turn has two predictions, so every turn replays the whole session several times, more
work with every turn (bench/results/load.md).

The patch: `states_for_tracker_history` runs the stock loop, step for step, but keeps on the tracker the replay as
far as it got (its tracker, the states so far and the loop's two variables, per combination of arguments), and
replays only the events that came since. The tracker store keeps trackers between turns (bot/tracker_store.py), so
a turn replays only its own events. Whenever the events are not the kept ones followed by new ones (a rewind, a
restart, a tracker rebuilt from the database, a form's happy path whose earlier turns Rasa leaves out of the
applied events), the replay starts over. The states are handed out as copies, since callers change them: the
result is the stock states on every call, which tests/rasa checks on random conversations.
"""

from __future__ import annotations

from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION
from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import ActionExecuted, Event
from rasa.shared.core.trackers import DialogueStateTracker

KEPT_ON_TRACKER = "_tierzero_replays"


class _Replay:
    """The stock loop of `Domain.states_for_tracker_history`, stopped after the events replayed so far."""

    def __init__(self, domain: Domain, tracker: DialogueStateTracker, options: tuple[bool, bool, Any]) -> None:
        self.domain, self.options = domain, options
        self.tracker = tracker.init_copy()
        self.events: list[Event] = []
        self.states: list[State] = []
        self.last_ml_action_sub_state: dict[str, Any] | None = None
        self.turn_was_hidden = False

    def extends(self, events: list[Event]) -> bool:
        """Whether `events` are the ones replayed, in order, and maybe more."""
        kept = len(self.events)
        return len(events) >= kept and all(a is b for a, b in zip(self.events, events[:kept], strict=True))

    def replay(self, events: list[Event]) -> None:
        for event in events[len(self.events) :]:
            if isinstance(event, ActionExecuted):
                self._take_state(event.hide_rule_turn)
            self.tracker.update(event)
            self.events.append(event)

    def _take_state(self, hide_rule_turn: bool) -> None:
        """One step of the stock loop, on the replay's tracker as it is now."""
        omit_unset_slots, ignore_rule_only_turns, rule_only_data = self.options
        tracker, domain = self.tracker, self.domain
        if ignore_rule_only_turns:
            if not self.turn_was_hidden:
                self.last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
            if not tracker.followup_action and tracker.latest_action_name != tracker.active_loop_name:
                self.turn_was_hidden = hide_rule_turn
            if self.turn_was_hidden:
                return
        state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
        if ignore_rule_only_turns:
            domain._remove_rule_only_features(state, rule_only_data)
            if self.states:
                domain._substitute_rule_only_user_input(state, self.states[-1])
            if self.last_ml_action_sub_state:
                state[PREVIOUS_ACTION] = self.last_ml_action_sub_state
        self.states.append(domain._clean_state(state))

    def current_states(self) -> list[State]:
        """The states so far and the one after the last event (taken without keeping the loop's variables)."""
        kept = self.states, self.last_ml_action_sub_state, self.turn_was_hidden
        self.states = list(self.states)
        try:
            self._take_state(hide_rule_turn=False)
            return [_copy(state) for state in self.states]
        finally:
            self.states, self.last_ml_action_sub_state, self.turn_was_hidden = kept


def _copy(state: State) -> State:
    return {kind: dict(sub_state) for kind, sub_state in state.items()}


def _options(omit_unset_slots: bool, ignore_rule_only_turns: bool, rule_only_data: dict | None) -> tuple:
    frozen = tuple(sorted((key, tuple(values)) for key, values in rule_only_data.items())) if rule_only_data else None
    return bool(omit_unset_slots), bool(ignore_rule_only_turns), frozen


def states_for_tracker_history(
    domain: Domain,
    tracker: DialogueStateTracker,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """`Domain.states_for_tracker_history`, replaying only the events that came since the last call on `tracker`."""
    key = _options(omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    replays: dict[tuple, _Replay] = tracker.__dict__.setdefault(KEPT_ON_TRACKER, {})
    events = tracker.applied_events()
    replay = replays.get(key)
    if replay is None or replay.domain is not domain or not replay.extends(events):
        replay = replays[key] = _Replay(domain, tracker, (omit_unset_slots, ignore_rule_only_turns, rule_only_data))
    replay.replay(events)
    return replay.current_states()


PATCHES = ((Domain, "states_for_tracker_history", states_for_tracker_history),)
