"""What the custom actions need at run time: the knowledge base, the handoff service and a database session.

The API process hosts the action webhook and calls `configure` at start-up, so the actions share its one copy of
the embedding model and index.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy.orm import Session

from handoff import HandoffService
from kb import KnowledgeBase


@dataclass
class BotRuntime:
    kb: KnowledgeBase
    handoff: HandoffService
    sessions: Callable[[], Session]
    public_url: str


_runtime: BotRuntime | None = None


def configure(runtime: BotRuntime) -> None:
    """Give the actions their services (called once by the process that hosts the action webhook)."""
    global _runtime
    _runtime = runtime


def get_runtime() -> BotRuntime:
    """The configured services; a clear error if the hosting process never configured them."""
    if _runtime is None:
        raise RuntimeError("bot actions are not configured: they run inside the Tier Zero API (api.main)")
    return _runtime
