"""What the Rasa server loaded at start-up moved out of the garbage collector's reach (`gc.freeze`).

Rasa: `rasa run` loads the model at start-up (`rasa.core.run.load_agent_on_start`, a listener Sanic calls before
the server starts) and from then on every full collection of Python's garbage collector walks every object the
server holds: TensorFlow, the model, the domain. Such a collection stops the one event loop, with every
conversation waiting, and made the largest part of the slowest replies (bench/results/load.md).

The patch: `load_agent_on_start` is Rasa's own, followed by one collection (so that no garbage of the loading is
kept) and `gc.freeze()`, which moves every object alive then into a generation the collector never walks. Nothing
the server computes changes; objects made afterwards are collected as before. The cost: what was frozen stays in
memory for the life of the process, so a model replaced while the server runs (Rasa's `PUT /model`, or a model
server in endpoints.yml; Tier Zero uses neither) would keep the old one too: restart the server to change models.
"""

from __future__ import annotations

import gc
from asyncio import AbstractEventLoop
from typing import Any

import rasa.core.run
from rasa.core.agent import Agent

_load_agent_on_start = rasa.core.run.load_agent_on_start  # Rasa's own, kept before any patch is installed


async def load_agent_then_freeze(
    model_path: str, endpoints: Any, remote_storage: str | None, app: Any, loop: AbstractEventLoop
) -> Agent:
    """`rasa.core.run.load_agent_on_start`, then what it loaded moved out of the garbage collector's reach."""
    agent = await _load_agent_on_start(model_path, endpoints, remote_storage, app, loop)
    gc.collect()
    gc.freeze()
    return agent


# `rasa.core.run.serve_application` looks the function up in its module when it registers the listener.
PATCHES = ((rasa.core.run, "load_agent_on_start", load_agent_then_freeze),)
