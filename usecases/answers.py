"""Answering a question from the knowledge base, as the assistant's actions do it.

The turn use case (`Conversations.receive`) calls `prepare` with the text it sends the assistant, before sending
it; the assistant's action calls `search` with the text the assistant received, which is that same text, so the
search finds the question already embedded and runs at once where it is called. Any other question is embedded
in a worker thread, leaving the event loop to other requests meanwhile."""

from __future__ import annotations

import asyncio
from typing import Any

from kb.search import Candidate, SearchResult
from usecases.context import Context


class Answers:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def prepare(self, question: str) -> None:
        """Start embedding `question` for the search the assistant will likely ask for."""
        self.ctx.kb.prepare_search(question)

    async def search(self, question: str, lang: str) -> SearchResult:
        """The knowledge base's result for `question`: candidates and the decision (answer, clarify, escalate)."""
        if self.ctx.kb.search_is_quick(question):
            return self.ctx.kb.search(question, lang=lang)
        return await asyncio.to_thread(self.ctx.kb.search, question, lang=lang)

    def choices(self, result: SearchResult) -> list[Candidate]:
        """The candidates to offer the customer when the decision is to ask which they mean."""
        return result.choices(self.ctx.kb.policy)

    def chosen(self, article_id: str) -> Candidate | None:
        """The published article the customer picked from the offered ones, as a candidate to show; None if it is
        gone."""
        view = self.ctx.kb.articles.get(article_id)
        return None if view is None else Candidate(view, view.summary, "title", 1.0, 0.0, 0.0, 1.0)

    def card(self, candidate: Candidate) -> dict[str, Any]:
        """The article card the customer sees, linking the article's page."""
        return candidate.card(self.ctx.public_url)
