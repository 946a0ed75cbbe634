"""How the dense and lexical sides' passage hits become ranked articles: score fusion, then the classifier's re-rank.

`Fusion` is pure: it reads hits and what search keeps of each article and returns candidates, so the same hits
always give the same ranking.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kb.index import Passage
from kb.results import ArticleView, Candidate

SearchMode = Literal["hybrid", "dense", "lexical"]
Hits = Sequence[tuple[int, float]]  # (passage id, score), best first


class RetrievalSettings(BaseModel):
    """How passage scores become an article's score.

    Dense similarity understands paraphrase and other languages; shared rare words (BM25, scaled to the best
    lexical hit) add at most `lexical_weight`, enough to break the near-ties of a small embedding model. An
    article's dense score is its best passage's, blended (`support_weight`) with the mean of its best `support`
    passages, so an article that several of its alternative questions match beats one lucky phrasing. `dense_depth`
    is how many passages each side retrieves before they are grouped into articles. The article classifier
    (`kb.classifier`, regularised by `classifier_strength`) re-ranks the candidates by their confidence plus
    `classifier_weight` times its probability relative to its favourite (1 for the article it likes best); 0 turns
    it off. The defaults were tuned on BANKING77's fitting phrasings: `bench/kb_tune.py` retunes them, and
    bench/RESULTS.md and bench/results/tuning-*.json hold the grids it searched.
    """

    model_config = ConfigDict(extra="forbid")

    lexical_weight: float = Field(default=0.03, ge=0, le=1)
    support: int = Field(default=1, ge=1, le=20)
    support_weight: float = Field(default=0.0, ge=0, le=1)
    dense_depth: int = Field(default=50, ge=1, le=10_000)
    classifier_weight: float = Field(default=0.02, ge=0, le=1)
    classifier_strength: float = Field(default=100.0, gt=0, le=1000)


@dataclass(frozen=True)
class Fusion:
    """Fuses one question's hits into candidate articles and ranks them.

    `cross_lingual_bonus` is added to the confidence of an article in another language than the question's (the
    decision policy's: cross-lingual matches score lower with e5 models)."""

    settings: RetrievalSettings
    cross_lingual_bonus: float = 0.0

    def candidates(
        self,
        dense_hits: Hits,
        lexical_hits: Hits,
        passages: Mapping[int, Passage],
        articles: Mapping[str, ArticleView],
        lang: str,
        mode: SearchMode = "hybrid",
    ) -> list[Candidate]:
        """One unranked candidate per article either side found among `articles` (others are ignored), with the
        passage that matched it best (the dense side's when both did). Its `fused` score is the dense one plus the
        lexical one scaled to the best lexical hit, or in "lexical" mode the raw lexical score."""
        dense = self._dense(dense_hits, passages, articles)
        lexical = self._lexical(lexical_hits, passages, articles)
        top_lexical = max((score for score, _ in lexical.values()), default=0.0) or 1.0
        candidates = []
        for article_id in dense.keys() | lexical.keys():
            article = articles[article_id]
            dense_score, passage_id = dense.get(article_id, (0.0, None))
            lexical_score, lexical_passage = lexical.get(article_id, (0.0, None))
            passage = passages[passage_id if passage_id is not None else lexical_passage]
            if mode == "lexical":
                fused = lexical_score
            else:
                fused = dense_score + self.settings.lexical_weight * lexical_score / top_lexical
            bonus = self.cross_lingual_bonus if article.lang != lang else 0.0
            candidates.append(
                Candidate(article, passage.text, passage.kind, dense_score, lexical_score, fused, fused + bonus)
            )
        return candidates

    def _dense(
        self, hits: Hits, passages: Mapping[int, Passage], articles: Mapping[str, ArticleView]
    ) -> dict[str, tuple[float, int]]:
        """Each article's dense score and best passage: its best passage's score, blended with its `support`."""
        settings = self.settings
        support: dict[str, list[float]] = {}
        dense: dict[str, tuple[float, int]] = {}
        for passage_id, score in hits:
            article_id = passages[passage_id].article_id
            if article_id in articles:
                support.setdefault(article_id, []).append(score)
                if article_id not in dense:
                    dense[article_id] = (score, passage_id)
        if settings.support_weight and settings.support > 1 and hits:
            weight, floor = settings.support_weight, hits[-1][1]  # passages not retrieved score below floor
            for article_id, (best, passage_id) in dense.items():
                scores = support[article_id][: settings.support]
                scores += [floor] * (settings.support - len(scores))
                dense[article_id] = ((1 - weight) * best + weight * sum(scores) / len(scores), passage_id)
        return dense

    @staticmethod
    def _lexical(
        hits: Hits, passages: Mapping[int, Passage], articles: Mapping[str, ArticleView]
    ) -> dict[str, tuple[float, int]]:
        """Each article's best lexical hit (a passage removed since the lexical index was built is skipped)."""
        lexical: dict[str, tuple[float, int]] = {}
        for passage_id, score in hits:
            passage = passages.get(passage_id)
            if passage and passage.article_id in articles and passage.article_id not in lexical:
                lexical[passage.article_id] = (score, passage_id)
        return lexical

    def rank(self, candidates: list[Candidate], probabilities: Mapping[str, float] | None) -> list[Candidate]:
        """The candidates best first: by confidence plus `classifier_weight` times the classifier's probability
        relative to its favourite (`probabilities`: the classifier's, None when it is off or not trained on these
        articles), equal scores in article-id order so that every run ranks alike (set order changes with hash
        seeds). Sets each candidate's `probability` and `classifier`."""
        weight = self.settings.classifier_weight
        if probabilities:
            favourite = max(probabilities.values())
            for candidate in candidates:
                candidate.probability = probabilities.get(candidate.article.id, 0.0)
                candidate.classifier = candidate.probability / favourite
        return sorted(candidates, key=lambda c: (-(c.confidence + weight * c.classifier), c.article.id))
