"""bot.graph: the trained model's graph, run node after node without dask, gives what Rasa's dask runner gives."""

import subprocess
from pathlib import Path

from api.launcher import find_rasa
from api.rasa_model import ensure_model
from api.settings import ROOT

CHECK = """
import asyncio, sys
from rasa.core.agent import Agent
from rasa.core.channels import UserMessage
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from bot import graph

agent = Agent.load(sys.argv[1])
processor, stock = agent.processor, DaskGraphRunner.run
texts = ["how do I reset my password", "パスワードを忘れました", "배송은 얼마나 걸리나요", "I want to talk to a person",
         "yes", "no thanks", "cancel", "Mia Tanaka", "mia@example.com", '/choose_article{"article_id":"a1"}', "?"]


async def conversation(run):
    DaskGraphRunner.run = run
    tracker = DialogueStateTracker.from_events("c", [ActionExecuted("action_listen")], agent.domain.slots)
    seen = []
    for text in texts:
        parsed = await processor.parse_message(UserMessage(text, metadata={"lang": "ja"}))
        tracker.update(UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed))
        prediction = processor.predict_next_with_tracker(tracker)
        action = prediction["scores"] and max(prediction["scores"], key=lambda s: s["score"])["action"]
        seen.append((parsed["intent"], parsed["intent_ranking"], parsed["entities"], prediction["policy"],
                     prediction["confidence"], [(s["action"], s["score"]) for s in prediction["scores"]]))
        tracker.update(ActionExecuted(action))
        tracker.update(ActionExecuted("action_listen"))
    return seen


ours, theirs = asyncio.run(conversation(graph.run)), asyncio.run(conversation(stock))
assert ours == theirs, [(a, b) for a, b in zip(ours, theirs) if a != b][:1]
runner = processor.graph_runner
assert len(runner.__dict__[graph.ORDERS]) >= 2  # one order per set of targets, worked out once
try:
    graph.run(runner, inputs={"__message__": "run_RegexMessageHandler"}, targets=["run_RegexMessageHandler"])
except GraphRunError as error:
    assert "clashes with a node name" in str(error)
else:
    raise AssertionError("an input named like a node was accepted")
print("ok", len(ours))
"""


def test_the_graph_run_without_dask_gives_what_rasas_runner_gives():
    rasa = find_rasa()
    python = Path(rasa).with_name("python")
    result = subprocess.run(
        [python, "-c", CHECK, str(ensure_model(rasa))], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0 and result.stdout.splitlines()[-1].startswith("ok"), result.stderr[-3000:]
