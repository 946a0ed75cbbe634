"""bot.rasa_ext.states: the conversation's dialogue states, replayed only from the last event seen, are Rasa's own
states, on random conversations with every combination of arguments."""

import itertools
import random

import pytest
from conftest import ROOT
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    FollowupAction,
    Restarted,
    SessionStarted,
    SlotSet,
    UserUtteranceReverted,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import states
from bot.rasa_ext.states import states_for_tracker_history

INTENTS = ["greet", "question", "ask_human", "affirm", "deny", "cancel", "inform", "choose_article"]
ACTIONS = ["action_answer_from_kb", "action_start_handoff", "utter_greet", "action_create_ticket", "handoff_form"]
RULE_ONLY = {"slots": ["handoff_offered"], "loops": ["handoff_form"]}
OPTIONS = list(itertools.product([False, True], [False, True], [None, RULE_ONLY]))


def some_events(rng: random.Random) -> list:
    kind = rng.random()
    if kind < 0.3:
        return [ActionExecuted("action_listen"), UserUttered("text", {"name": rng.choice(INTENTS), "confidence": 0.9})]
    if kind < 0.55:
        return [ActionExecuted(rng.choice(ACTIONS), hide_rule_turn=rng.random() < 0.3)]
    if kind < 0.7:
        slot = rng.choice(["handoff_offered", "requested_slot", "customer_name"])
        return [SlotSet(slot, rng.choice([True, None, "customer_email"]))]
    if kind < 0.8:
        return [ActiveLoop(rng.choice(["handoff_form", None]))]
    if kind < 0.85:
        return [FollowupAction("action_create_ticket")]
    if kind < 0.9:
        return [UserUtteranceReverted()]
    if kind < 0.95:
        return [ActionReverted()]
    return [rng.choice([Restarted(), SessionStarted()])]


@pytest.fixture
def replays_started(monkeypatch) -> list:
    """One entry for each replay started from the session's first event."""
    started, start = [], states._Replay.__init__

    def counted(*args):
        started.append(1)
        start(*args)

    monkeypatch.setattr(states._Replay, "__init__", counted)
    return started


def test_states_replayed_from_the_last_event_seen_are_rasas_own(stock, domain, replays_started):
    rasas = stock[(Domain, "states_for_tracker_history")]
    checked = may_start = 0
    for seed in range(12):
        rng = random.Random(seed)
        tracker = DialogueStateTracker.from_events(f"c{seed}", [ActionExecuted("action_listen")], domain.slots)
        seen = {}  # the session's events at the last call with each combination of arguments
        for step in range(60):
            for event in some_events(rng):
                tracker.update(event)
            now = tracker.applied_events()
            for omit, ignore, data in rng.sample(OPTIONS, 4):
                # a replay starts over only on first use, or when the session's events are not the ones it saw and
                # more (a rewind, a restart, or a form's happy path, whose earlier turns Rasa leaves out of them)
                before = seen.get((omit, ignore, data is None))
                may_start += (
                    before is None
                    or len(now) < len(before)
                    or any(a is not b for a, b in zip(before, now, strict=False))
                )
                seen[(omit, ignore, data is None)] = now
                expected = rasas(domain, tracker, omit, ignore, data)
                got = states_for_tracker_history(domain, tracker, omit, ignore, data)
                assert got == expected, (seed, step, omit, ignore, data, got[-3:], expected[-3:])
                for state in got:  # callers change what they get: the next call must not see it
                    state.pop("user", None)
                    for sub_state in state.values():
                        sub_state.clear()
                assert states_for_tracker_history(domain, tracker, omit, ignore, data) == expected
                checked += 1

        rebuilt = DialogueStateTracker.from_events(tracker.sender_id, list(tracker.events), domain.slots)
        assert states_for_tracker_history(domain, rebuilt) == rasas(domain, rebuilt), "a tracker rebuilt from events"
        other = Domain.load(ROOT / "bot" / "domain.yml")
        assert states_for_tracker_history(other, tracker) == rasas(other, tracker), "another domain"
        may_start += 2
    # the replays that did not start over went on from the last call
    assert len(replays_started) <= may_start < checked // 2, (len(replays_started), may_start, checked)
