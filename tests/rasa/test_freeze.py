"""bot.rasa_ext.freeze: the server loads its model as Rasa does, then moves it out of the garbage collector's
reach."""

import asyncio
import gc
from types import SimpleNamespace

from rasa.core.agent import Agent

from bot.rasa_ext.freeze import load_agent_then_freeze


def test_the_server_loads_its_model_then_moves_it_out_of_the_garbage_collectors_reach(model_path):
    before = gc.get_freeze_count()
    app = SimpleNamespace(ctx=SimpleNamespace())
    try:
        agent = asyncio.run(load_agent_then_freeze(model_path, None, None, app, None))
        assert isinstance(agent, Agent) and agent.is_ready() and app.ctx.agent is agent  # what Rasa's does
        # TensorFlow and the model: several 100k objects
        assert gc.get_freeze_count() - before > 100_000, gc.get_freeze_count()
    finally:
        gc.unfreeze()  # the other tests' objects are collected as usual
