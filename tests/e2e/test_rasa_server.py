"""bot.server: `rasa run` with a validator for action responses built once (checking exactly what Rasa checks), the
events since the latest message in action calls, one kept session (connections reused) per endpoint, and the loaded
model out of the garbage collector's reach."""

import subprocess
from pathlib import Path

from api.launcher import find_rasa
from api.rasa_model import ensure_model
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


CALL = """
from rasa.core.actions.action import RemoteAction
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from bot.server import action_call

domain = Domain.load("bot/domain.yml")
tracker = DialogueStateTracker.from_events("c1", [
    ActionExecuted("action_listen"), UserUttered("hi", {"name": "greet", "confidence": 1.0}),
    ActionExecuted("utter_greet"), ActionExecuted("action_listen"),
    UserUttered("Mia", {"name": "inform", "confidence": 0.9}), SlotSet("customer_name", "Mia"),
], domain.slots)
action = RemoteAction("validate_handoff_form", None)
stock, trimmed = action._action_call_format(tracker, domain), action_call(action, tracker, domain)
assert [e["event"] for e in trimmed["tracker"].pop("events")] == ["user", "slot"]
stock["tracker"].pop("events")
assert trimmed == stock, (trimmed, stock)
print("ok")
"""


def test_an_action_call_carries_everything_rasa_sends_but_the_events_before_the_latest_message():
    python = Path(find_rasa()).with_name("python")
    result = subprocess.run([python, "-c", CALL], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


FREEZE = """
import asyncio, gc, sys
from types import SimpleNamespace
import rasa.core.run
from rasa.core.agent import Agent
import bot.server

assert gc.get_freeze_count() == 0
app = SimpleNamespace(ctx=SimpleNamespace())
agent = asyncio.run(bot.server.load_agent_then_freeze(sys.argv[1], None, None, app, None))
assert isinstance(agent, Agent) and agent.is_ready() and app.ctx.agent is agent
assert gc.get_freeze_count() > 100_000, gc.get_freeze_count()  # TensorFlow and the model: several 100k objects
import rasa.__main__
rasa.__main__.main = lambda: None  # the CLI itself is not run here
bot.server.main()
assert rasa.core.run.load_agent_on_start is bot.server.load_agent_then_freeze  # what `rasa run` calls at start
print("ok")
"""


def test_the_server_loads_its_model_then_moves_it_out_of_the_garbage_collectors_reach():
    rasa = find_rasa()
    python = Path(rasa).with_name("python")
    result = subprocess.run(
        [python, "-c", FREEZE, str(ensure_model(rasa))], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]


KEPT = """
import asyncio, socket
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig
from bot.server import kept_session

EndpointConfig.session = kept_session
peers = []

async def answer(request):
    peers.append(request.transport.get_extra_info("peername")[1])
    return web.json_response({"n": (await request.json())["n"]})

async def serve(port):
    app = web.Application()
    app.router.add_post("/webhook", answer)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner

async def main():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook", token="t")
    server = await serve(port)
    assert [await endpoint.request(json={"n": n}) for n in range(3)] == [{"n": 0}, {"n": 1}, {"n": 2}]
    assert len(set(peers)) == 1, peers  # one connection for the three calls
    await server.cleanup()  # the other side restarts: its connections close
    server = await serve(port)
    assert await endpoint.request(json={"n": 3}) == {"n": 3}
    assert len(set(peers)) == 2, peers
    await server.cleanup()

asyncio.run(main())
print("ok")
"""


def test_calls_to_an_endpoint_reuse_one_connection_and_survive_the_other_side_restarting():
    python = Path(find_rasa()).with_name("python")
    result = subprocess.run([python, "-c", KEPT], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip().endswith("ok"), result.stderr[-2000:]
