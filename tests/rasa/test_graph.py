"""bot.rasa_ext.graph: the trained model's graph, run node after node without dask, gives what Rasa's dask runner
gives, parse after parse and prediction after prediction."""

import asyncio

import pytest
from rasa.core.agent import Agent
from rasa.core.channels import UserMessage
from rasa.engine.exceptions import GraphRunError
from rasa.engine.runner.dask import DaskGraphRunner
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.rasa_ext import graph

TEXTS = [
    "how do I reset my password",
    "パスワードを忘れました",
    "배송은 얼마나 걸리나요",
    "I want to talk to a person",
    "yes",
    "no thanks",
    "cancel",
    "Mia Tanaka",
    "mia@example.com",
    '/choose_article{"article_id":"a1"}',
    "?",
]


@pytest.fixture(scope="module")
def agent(model_path) -> Agent:
    return Agent.load(model_path)


def conversation(agent: Agent, run) -> list:
    """Every parse and prediction of one conversation, with `run` as the graph runner's `run`."""
    DaskGraphRunner.run = run  # put back after the test (conftest)
    processor = agent.processor
    tracker = DialogueStateTracker.from_events("c", [ActionExecuted("action_listen")], agent.domain.slots)
    seen = []
    for text in TEXTS:
        parsed = asyncio.run(processor.parse_message(UserMessage(text, metadata={"lang": "ja"})))
        tracker.update(UserUttered(text, parsed["intent"], parsed["entities"], parse_data=parsed))
        prediction = processor.predict_next_with_tracker(tracker)
        action = prediction["scores"] and max(prediction["scores"], key=lambda s: s["score"])["action"]
        seen.append(
            (
                parsed["intent"],
                parsed["intent_ranking"],
                parsed["entities"],
                prediction["policy"],
                prediction["confidence"],
                [(s["action"], s["score"]) for s in prediction["scores"]],
            )
        )
        tracker.update(ActionExecuted(action))
        tracker.update(ActionExecuted("action_listen"))
    return seen


def test_the_graph_run_without_dask_gives_what_rasas_runner_gives(agent, stock):
    ours = conversation(agent, graph.run)
    rasas = conversation(agent, stock[(DaskGraphRunner, "run")])
    assert len(ours) == len(TEXTS)
    assert ours == rasas, [(a, b) for a, b in zip(ours, rasas, strict=True) if a != b][:1]
    assert len(agent.processor.graph_runner.__dict__[graph.ORDERS]) >= 2  # one order per set of targets, kept


@pytest.mark.parametrize("run", ["ours", "rasas"])
def test_an_input_named_like_a_node_is_refused_as_rasa_refuses_it(agent, stock, run):
    runner = agent.processor.graph_runner
    function = graph.run if run == "ours" else stock[(DaskGraphRunner, "run")]
    with pytest.raises(GraphRunError, match="clashes with a node name"):
        function(runner, inputs={"__message__": "run_RegexMessageHandler"}, targets=["run_RegexMessageHandler"])
