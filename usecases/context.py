"""What every use case works with: the stores, the knowledge base, the policies and the clock.

Built once by the process that serves (api/main.py) or by a command (api/cli.py) and handed to the use cases'
constructors; nothing here is global, so a test builds its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from handoff import Clock, HandoffService, Policies, SystemClock, TicketWorkflow
from kb import KnowledgeBase
from usecases.queue_classifier import QueueClassifier


@dataclass
class Context:
    sessions: Callable[[], Session]
    kb: KnowledgeBase
    policies: Policies
    public_url: str
    clock: Clock = field(default_factory=SystemClock)
    handoff: HandoffService = field(init=False)
    workflow: TicketWorkflow = field(init=False)
    queue_classifier: QueueClassifier = field(init=False)

    def __post_init__(self) -> None:
        # untrained until the start-up trains it (api/main.py); until then routing goes on without it
        self.queue_classifier = QueueClassifier(self.kb, self.policies)
        self.handoff = HandoffService(
            self.policies, self.clock, classify=self.queue_classifier, embed=self.kb.embedder.embed_queries
        )
        self.workflow = TicketWorkflow(self.policies, self.clock)
