"""How an article becomes searchable: its passages, how each is embedded, and what search shows of it."""

from __future__ import annotations

import re

from kb.index import Passage
from kb.models import Article
from kb.results import ArticleView

# Passages that are questions themselves, embedded the way customers' questions are (e5's "query: " side); the rest
# as passages. An alternative question is a customer's question: question-to-question similarity is symmetric and
# matches paraphrases better than question-to-passage. Titles stay passages: embedded as questions, short topic
# titles matched too many unrelated questions, a loss on JSQuAD for no gain on BANKING77 (bench/kb_eval.py).
QUESTION_KINDS = ("question",)


def summarize(body: str, limit: int = 400) -> str:
    """The first paragraph of a Markdown body, as plain text, for the bot's short answer."""
    for paragraph in re.split(r"\n\s*\n", body.strip()):
        text = re.sub(r"[*_`#>]+", "", paragraph).strip()
        if re.search(r"[^\W_]", text):  # a rule (---) or a table's border is no summary
            return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
    return ""


def split_passages(article: Article, max_chars: int = 600) -> list[Passage]:
    """Split an article into passages: its title, each alternative question, and chunks of its body."""
    passages = [Passage(article.id, "title", article.title)]
    passages += [Passage(article.id, "question", q) for q in article.questions if q.strip()]
    chunk = ""
    for paragraph in re.split(r"\n\s*\n", article.body.strip()):
        paragraph = paragraph.strip()
        if chunk and len(chunk) + len(paragraph) > max_chars:
            passages.append(Passage(article.id, "body", f"{article.title}\n{chunk}"))
            chunk = ""
        chunk = f"{chunk}\n{paragraph}".strip()
    if chunk:
        passages.append(Passage(article.id, "body", f"{article.title}\n{chunk}"))
    return passages


def article_view(article: Article) -> ArticleView:
    """What search keeps in memory of a published article."""
    return ArticleView(
        id=article.id,
        group=article.group,
        lang=article.lang,
        title=article.title,
        summary=summarize(article.body) or article.title,  # a body of only markup still says something
        topic=article.topic,
        tags=tuple(article.tags),
    )
