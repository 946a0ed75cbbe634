"""bot.rasa_ext.action_call: a call to the action server carries everything Rasa's call carries, but its events
start at the customer's latest message."""

import pytest
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.events import ActionExecuted, ActiveLoop, BotUttered, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig

from bot.rasa_ext.action_call import action_call

CONVERSATION = [
    ActionExecuted("action_listen"),
    UserUttered("hi", {"name": "greet", "confidence": 1.0}),
    ActionExecuted("utter_greet"),
    BotUttered("Hello!"),
    ActionExecuted("action_listen"),
    UserUttered("a person please", {"name": "ask_human", "confidence": 0.9}),
    ActionExecuted("handoff_form"),
    ActiveLoop("handoff_form"),
    SlotSet("requested_slot", "customer_name"),
    ActionExecuted("action_listen"),
    UserUttered("Mia", {"name": "inform", "confidence": 0.9}),
    SlotSet("customer_name", "Mia"),
]
ENDPOINTS = {
    "no action endpoint": None,
    "the whole domain": EndpointConfig("http://127.0.0.1:1/webhook"),
    "the domain only when an action needs it": EndpointConfig(
        "http://127.0.0.1:1/webhook", enable_selective_domain=True
    ),
}


@pytest.mark.parametrize("endpoint", ENDPOINTS.values(), ids=ENDPOINTS.keys())
@pytest.mark.parametrize("events", [len(CONVERSATION), 6, 2, 1], ids=lambda n: f"{n} events")
@pytest.mark.parametrize("name", ["validate_handoff_form", "action_answer_from_kb"])
def test_the_call_is_rasas_with_the_events_from_the_latest_message_on(stock, domain, endpoint, events, name):
    tracker = DialogueStateTracker.from_events("c1", CONVERSATION[:events], domain.slots)
    action = RemoteAction(name, endpoint)
    rasas = stock[(RemoteAction, "_action_call_format")](action, tracker, domain)
    ours = action_call(action, tracker, domain)

    rasas_events, our_events = rasas["tracker"].pop("events"), ours["tracker"].pop("events")
    assert ours == rasas
    users = [i for i, event in enumerate(rasas_events) if event["event"] == "user"]
    assert our_events == (rasas_events[users[-1] :] if users else rasas_events)
    if events == len(CONVERSATION):
        assert [event["event"] for event in our_events] == ["user", "slot"]
