"""usecases.suggestions: the editor's review of the learning loop's suggestions, without HTTP."""

from __future__ import annotations

import pytest

from kb.suggestions import Suggestion, suggest_from_resolution
from usecases.articles import ArticleDesk
from usecases.errors import Conflict, Invalid, NotFound
from usecases.suggestions import Suggestions


@pytest.fixture
def suggestions(ctx) -> Suggestions:
    return Suggestions(ctx)


def _suggest(ctx, question: str, ticket: str = "TZ-1001", resolution: str = "Use the gift wrap option.") -> int:
    with ctx.sessions() as session:
        suggestion = suggest_from_resolution(
            ctx.kb, session, ticket=ticket, question=question, resolution=resolution, lang="en"
        )
        session.commit()
        return suggestion.id


def test_accepting_publishes_at_once_and_accepting_again_changes_nothing(ctx, suggestions):
    suggestion_id = _suggest(ctx, "Can you gift wrap an order for my mum's birthday?")
    [pending] = suggestions.pending()
    assert (pending.id, pending.tickets, pending.status) == (suggestion_id, ["TZ-1001"], "pending")
    assert pending.created_at.tzinfo is not None
    accepted = suggestions.accept(suggestion_id, "Mina", title="Gift wrapping")
    assert accepted.status == "accepted" and accepted.decided_by == "Mina"
    assert suggestions.accept(suggestion_id, "Mina").article_id == accepted.article_id
    top = ArticleDesk(ctx).explain("Can you gift wrap an order for my mum's birthday?").candidates[0]
    assert top["article_id"] == accepted.article_id
    assert suggestions.pending() == []


def test_merge_and_reject_and_what_they_refuse(ctx, suggestions):
    first = _suggest(ctx, "Do you sell refurbished phones?", resolution="Not yet.")
    with pytest.raises(NotFound, match="nope"):
        suggestions.merge(first, "nope", "Mina")
    merged = suggestions.merge(first, "shipping-en", "Mina")
    assert merged.status == "merged" and merged.article_id == "shipping-en"
    assert "Do you sell refurbished phones?" in ArticleDesk(ctx).get("shipping-en").questions
    with pytest.raises(Conflict, match="already merged"):
        suggestions.reject(first, "duplicate", "Mina")

    second = _suggest(ctx, "Can I pay in instalments?", ticket="TZ-1002", resolution="Not yet.")
    assert suggestions.reject(second, "we will write it ourselves", "Mina").reason == "we will write it ourselves"
    with pytest.raises(Conflict, match="rejected"):
        suggestions.accept(second, "Mina")
    with pytest.raises(NotFound):
        suggestions.accept(999_999, "Mina")


def test_a_suggestion_that_lacks_a_body_asks_the_editor_for_one(ctx, suggestions):
    suggestion_id = _suggest(ctx, "Do you sell refurbished laptops?", resolution="Not yet.")
    with ctx.sessions() as session:
        suggestion = session.get(Suggestion, suggestion_id)
        suggestion.kind, suggestion.article_id, suggestion.body = "new_article", None, ""
        session.commit()
    with pytest.raises(Invalid, match="give the missing title or body"):
        suggestions.accept(suggestion_id, "Mina")
    assert suggestions.accept(suggestion_id, "Mina", body="Not yet, sorry.").status == "accepted"
