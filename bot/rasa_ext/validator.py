"""Action servers' responses checked against Rasa's schema by a validator built once.

Rasa: `RemoteAction._validate_action_result` checks every response of the action server with
`jsonschema.validate(result, RemoteAction.action_response_format_spec())`, which on every call picks the validator
class for the schema, checks the schema itself against its meta-schema, builds a validator, and raises the best
match (`jsonschema.exceptions.best_match`) of the response's errors. The schema is a constant, so all but the last
step are the same work every call, a large part of an action call's time (bench/results/load.md).

The patch: the validator is built once, of the same class, after the same check of the schema; each response is
checked by it and the same best match is raised, with the message Rasa adds to it. So a response passes or fails
exactly as with Rasa, with the same error.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.constants import DOCS_BASE_URL


@cache
def action_response_validator() -> Validator:
    """The validator `jsonschema.validate` would build for Rasa's action-response schema, built once."""
    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def validate_action_result(action: RemoteAction, result: dict[str, Any]) -> bool:
    """`RemoteAction._validate_action_result` with the prebuilt validator."""
    error = best_match(action_response_validator().iter_errors(result))
    if error is None:
        return True
    error.message += (
        ". Failed to validate Action server response from API, make sure your response from the Action endpoint "
        f"is valid. For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )
    raise error


PATCHES = ((RemoteAction, "_validate_action_result", validate_action_result),)
