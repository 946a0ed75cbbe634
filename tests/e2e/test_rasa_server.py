"""bot.server: `rasa run` with a validator for action responses built once, checking exactly what Rasa checks."""

import subprocess
from pathlib import Path

from api.launcher import find_rasa
from api.settings import ROOT

CHECK = """
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from bot.server import action_response_validator, validate_action_result

action = RemoteAction("action_answer_from_kb", None)
assert validate_action_result(action, {"events": [{"event": "slot", "name": "lang", "value": "ja"}], "responses": []})
assert action_response_validator() is action_response_validator()
for bad in ({"events": [{"name": "lang"}]}, {"events": "not a list"}):
    try:
        validate_action_result(action, bad)
    except ValidationError as error:
        assert "Failed to validate Action server response" in error.message, error.message
    else:
        raise AssertionError(f"accepted {bad}")
print("ok")
"""


def test_action_responses_are_checked_like_rasa_does_with_one_prebuilt_validator():
    python = Path(find_rasa()).with_name("python")
    result = subprocess.run([python, "-c", CHECK], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]
