"""bot.rasa_ext.validator: an action server's response passes or fails as with Rasa's own check, with the same
error, through one validator built once."""

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from bot.rasa_ext.validator import action_response_validator, validate_action_result

GOOD = [
    {"events": [{"event": "slot", "name": "lang", "value": "ja"}], "responses": []},
    {"events": [], "responses": [{"text": "hello"}, {"response": "utter_greet"}]},
    {},
]
BAD = [
    {"events": [{"name": "lang"}]},
    {"events": "not a list"},
    {"events": [{"event": "no such event"}]},
    {"events": [{"event": "slot", "name": 1, "value": "x"}]},
    {"responses": [1, "two"]},
    # several errors at once: Rasa raises the best match of them, not the first found
    {"events": [{"event": "slot"}, {"name": "lang"}], "responses": "not a list"},
    {"responses": [3], "events": {"event": "slot"}},
    [],
]


@pytest.fixture
def checks(stock):
    """Rasa's check and the extension's, each as (action, result) -> True or a raised ValidationError."""
    return stock[(RemoteAction, "_validate_action_result")], validate_action_result


@pytest.mark.parametrize("result", GOOD)
def test_a_good_response_passes_both(checks, result):
    action = RemoteAction("action_answer_from_kb", None)
    assert [check(action, result) for check in checks] == [True, True]


@pytest.mark.parametrize("result", BAD)
def test_a_bad_response_fails_both_with_the_same_error(checks, result):
    action = RemoteAction("action_answer_from_kb", None)
    errors = []
    for check in checks:
        with pytest.raises(ValidationError) as error:
            check(action, result)
        errors.append(error.value)
    rasas, ours = errors
    assert ours.message == rasas.message and "Failed to validate Action server response" in ours.message
    assert (list(ours.path), ours.validator, ours.validator_value) == (
        list(rasas.path),
        rasas.validator,
        rasas.validator_value,
    )


def test_the_validator_is_built_once():
    assert action_response_validator() is action_response_validator()
    assert action_response_validator().schema == RemoteAction.action_response_format_spec()
