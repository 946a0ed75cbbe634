"""Fitting the answer / clarify thresholds of a DecisionPolicy on labelled questions, for a target wrong-answer rate.

A labelled outcome is what search returned for a question whose right article is known (or that is known to be
out of scope). Per language, the answer threshold and margin are the lowest pair whose answers are wrong no more
often than the target (with a `confidence`, whose wrong rate's upper confidence bound is within the target, so a
small labelled set cannot talk the policy into answering on a lucky streak); the clarify threshold is the lowest
score at which the offered choices still hold the right article often enough to be worth a click. Out-of-scope
questions count as wrong when answered and as useless when offered choices, so a labelled set with out-of-scope
questions also teaches the policy to escalate them. A question whose best article needs an agent (`needs-agent`:
the bot shows it and hands the customer to a person) is a handoff, not an answer: it is never a wrong answer and
does not count as answered, so a knowledge base that lists the requests it cannot serve in such an article can
answer the rest with lower thresholds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.stats import beta

from kb.decision import DecisionPolicy
from kb.results import ArticleView, SearchResult
from kb.search import KnowledgeBase

MARGINS = (0.0, 0.0025, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05)
PROBABILITY_WEIGHTS = (
    0.0,
    0.01,
    0.02,
    0.05,
    0.1,
    0.2,
    0.5,
    1.0,
)  # tried when the outcomes carry the classifier's probabilities
MIN_QUESTIONS_PER_LANGUAGE = 30
ESCALATE_IN_SCOPE = 0.02  # share of in-scope labelled questions the clarify floor may escalate (see _fit_clarify)


@dataclass(frozen=True)
class LabelledOutcome:
    """Search's ranking for one labelled question: article ids and confidences best first, and the right id."""

    lang: str
    ranked: tuple[str, ...]
    confidences: tuple[float, ...]
    expected: str | None  # None: out of scope, the right outcome is to escalate
    handoff: bool = False  # the best article needs an agent: finding it hands the customer to a person
    probabilities: tuple[float, ...] = ()  # the article classifier's, in the same order (none: no classifier)

    def weighted(self, weight: float) -> LabelledOutcome:
        """The outcome scored as a policy with this `probability_weight` scores it (same ranking)."""
        if not weight or not self.probabilities:
            return self
        scores = tuple(c + weight * p for c, p in zip(self.confidences, self.probabilities, strict=True))
        return replace(self, confidences=scores)

    @property
    def best(self) -> float:
        return self.confidences[0] if self.confidences else float("-inf")

    @property
    def gap(self) -> float:
        if len(self.confidences) < 2:
            return float("inf")
        return self.confidences[0] - self.confidences[1]

    @property
    def correct(self) -> bool:
        return self.expected is not None and bool(self.ranked) and self.ranked[0] == self.expected

    @property
    def wrong_if_answered(self) -> bool:
        """Answering this question would tell the customer something wrong (a handoff never does)."""
        return not self.handoff and not self.correct

    def choices_hold_answer(self, floor: float, max_choices: int) -> bool:
        offered = [a for a, c in zip(self.ranked, self.confidences, strict=False) if c >= floor][:max_choices]
        return self.expected is not None and self.expected in offered


@dataclass(frozen=True)
class LanguageFit:
    """What was fitted for one language and how it scored on the labelled set."""

    lang: str
    questions: int
    answer_threshold: float
    margin: float
    clarify_threshold: float
    answered: float
    wrong_among_answered: float
    fitted: bool  # False: too few questions, the base policy's values were kept


def wrong_rate_bound(wrong: np.ndarray, answered: np.ndarray, confidence: float | None) -> np.ndarray:
    """The wrong-answer rate of each (wrong, answered) pair: as observed, or its one-sided Clopper–Pearson upper
    bound at `confidence` (0 wrong of 100 answered: 3.0 % at 0.95)."""
    wrong, answered = np.asarray(wrong, dtype=float), np.asarray(answered, dtype=float)
    if confidence is None:
        return wrong / answered
    with np.errstate(invalid="ignore"):
        bound = beta.ppf(confidence, wrong + 1, answered - wrong)
    return np.where(wrong >= answered, 1.0, bound)


def _fit_answer(
    outcomes: Sequence[LabelledOutcome], target_wrong: float, confidence: float | None = None
) -> tuple[float, float, float, float]:
    """(threshold, margin, answered share, wrong share) answering the most questions within the target."""
    best = (float("inf"), MARGINS[0], 0.0, 0.0)
    total = len(outcomes)
    for margin in MARGINS:
        # a question with no candidate is escalated at any threshold: it sets none
        eligible = sorted(
            (o for o in outcomes if o.confidences and o.gap >= margin), key=lambda o: o.best, reverse=True
        )
        if not eligible:
            continue
        scores = np.array([o.best for o in eligible])
        wrong = np.cumsum([o.wrong_if_answered for o in eligible])
        answered = np.cumsum([not o.handoff for o in eligible])
        splits = np.append(scores[1:] != scores[:-1], True)  # a threshold cannot split equal scores
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = wrong_rate_bound(wrong, answered, confidence)
        within = splits & (answered > 0) & (rate <= target_wrong + 1e-12)
        if within.any():
            last = int(np.flatnonzero(within)[-1])
            if answered[last] / total > best[2]:
                best = (
                    float(scores[last]),
                    margin,
                    int(answered[last]) / total,
                    int(wrong[last]) / int(answered[last]),
                )
    return best


def _fit_clarify(
    outcomes: Sequence[LabelledOutcome],
    answer_threshold: float,
    min_useful: float,
    max_choices: int,
    escalate_in_scope: float = 0.0,
) -> float:
    """The lowest threshold at which the questions offered choices (not answered) mostly find their article there,
    raised so that up to `escalate_in_scope` of the in-scope questions score below it.

    At threshold t a question whose best score is in [t, answer threshold) is offered the candidates scoring at
    least t; it is helped if its right article is among them. A labelled set rarely holds the off-topic questions
    a bot meets, and those score below nearly every question the knowledge base answers: the floor escalates them
    at the cost of that small share of in-scope questions. A question with no candidate at all is escalated at
    any threshold, so it sets no level.
    """
    band = sorted(
        (o for o in outcomes if o.confidences and o.best < answer_threshold), key=lambda o: o.best, reverse=True
    )
    levels = sorted({o.best for o in band}, reverse=True)
    if len(levels) > 400:  # a quantile grid is plenty, and keeps this linear in the labelled set's size
        levels = [levels[round(i * (len(levels) - 1) / 399)] for i in range(400)]
    chosen = answer_threshold
    for level in levels:
        members = [o for o in band if o.best >= level]
        useful = sum(o.choices_hold_answer(level, max_choices) for o in members)
        if useful >= min_useful * len(members):
            chosen = level
    in_scope = sorted(o.best for o in outcomes if o.expected is not None and o.confidences)
    below = int(escalate_in_scope * len(in_scope))
    if below and in_scope:
        chosen = max(chosen, in_scope[below])  # the `below` lowest-scoring in-scope questions are escalated
    return min(chosen, answer_threshold)


def fit_policy(
    outcomes: Sequence[LabelledOutcome],
    base: DecisionPolicy | None = None,
    target_wrong: float = 0.03,
    min_useful_clarify: float = 0.5,
    confidence: float | None = None,
    escalate_in_scope: float = ESCALATE_IN_SCOPE,
) -> tuple[DecisionPolicy, list[LanguageFit]]:
    """A policy fitted per language on labelled outcomes, and how each language's fit scores on them.

    `confidence` (e.g. 0.95): answer only where the wrong rate's upper confidence bound meets the target, not just
    the rate observed on the labelled set; stricter, the more so the fewer answers back the threshold. When the
    outcomes carry the article classifier's probabilities, each of `PROBABILITY_WEIGHTS` is fitted and the one that
    answers the most questions within the target is kept (the policy's `probability_weight`), unless a language
    has too few questions to be fitted: it keeps the base policy's thresholds, so the base's weight is kept too.

    >>> right = [LabelledOutcome("en", ("a", "b"), (0.9 - i / 100, 0.5), "a") for i in range(40)]
    >>> wrong = [LabelledOutcome("en", ("b", "a"), (0.555, 0.5), "a") for _ in range(10)]
    >>> policy, fits = fit_policy(right + wrong, target_wrong=0.0)
    >>> round(policy.answer_threshold["en"], 2), fits[0].wrong_among_answered
    (0.56, 0.0)
    """
    if not 0 <= target_wrong < 1 or not 0 <= min_useful_clarify <= 1:
        raise ValueError("target_wrong must be in [0, 1) and min_useful_clarify in [0, 1]")
    if confidence is not None and not 0 < confidence < 1:
        raise ValueError("confidence must be in (0, 1)")
    if not 0 <= escalate_in_scope < 1:
        raise ValueError("escalate_in_scope must be in [0, 1)")
    base = base or DecisionPolicy()
    # thresholds fitted without the classifier's probabilities hold only for scores without them: weight 0
    weights = PROBABILITY_WEIGHTS if any(any(o.probabilities) for o in outcomes) else (0.0,)
    fits = (target_wrong, min_useful_clarify, confidence, escalate_in_scope)
    fitted = [_fit_weighted(outcomes, base, w, *fits) for w in weights]
    if not all(f.fitted for f in fitted[0][1]):  # a language keeps the base thresholds: they suit the base weight
        return _fit_weighted(outcomes, base, base.probability_weight, *fits)

    def answered(fit: tuple[DecisionPolicy, list[LanguageFit]]) -> float:
        return sum(f.answered * f.questions for f in fit[1] if f.fitted)

    return max(fitted, key=answered)  # the first (smallest weight) of equals


def _fit_weighted(
    outcomes: Sequence[LabelledOutcome],
    base: DecisionPolicy,
    weight: float,
    target_wrong: float,
    min_useful_clarify: float,
    confidence: float | None,
    escalate_in_scope: float,
) -> tuple[DecisionPolicy, list[LanguageFit]]:
    """`fit_policy` for one `probability_weight`."""
    outcomes = [o.weighted(weight) for o in outcomes]
    answer, clarify = dict(base.answer_threshold), dict(base.clarify_threshold)
    margins: list[float] = []
    fits: list[LanguageFit] = []
    for lang in sorted({o.lang for o in outcomes}):
        mine = [o for o in outcomes if o.lang == lang]
        if len(mine) < MIN_QUESTIONS_PER_LANGUAGE:
            fits.append(
                LanguageFit(
                    lang,
                    len(mine),
                    base.threshold(answer, lang),
                    base.margin,
                    base.threshold(clarify, lang),
                    0,
                    0,
                    False,
                )
            )
            continue
        threshold, margin, answered, wrong = _fit_answer(mine, target_wrong, confidence)
        if threshold == float("inf"):
            threshold = max(o.best for o in mine) + 1e-6  # nothing can be answered within the target
        answer[lang] = round(threshold, 6)
        clarify[lang] = round(_fit_clarify(mine, threshold, min_useful_clarify, base.max_choices, escalate_in_scope), 6)
        margins.append(margin)
        fits.append(LanguageFit(lang, len(mine), answer[lang], margin, clarify[lang], answered, wrong, True))
    margin = max(margins, default=base.margin)
    update = {"answer_threshold": answer, "clarify_threshold": clarify, "margin": margin, "probability_weight": weight}
    return base.model_copy(update=update), fits


def outcome(
    result: SearchResult, expected: str | None, key: Callable[[ArticleView], str] | None = None
) -> LabelledOutcome:
    """A search result as a labelled outcome; articles are named by `key` (default: their translation group)."""
    key = key or (lambda article: article.group)
    return LabelledOutcome(
        result.lang,
        tuple(key(c.article) for c in result.candidates),
        tuple(c.confidence for c in result.candidates),
        expected,
        handoff=bool(result.best and result.best.article.needs_agent),
        probabilities=tuple(c.probability for c in result.candidates),
    )


def labelled_outcomes(
    kb: KnowledgeBase, rows: Iterable[dict], progress: Callable[[int, int], None] | None = None
) -> list[LabelledOutcome]:
    """Search each labelled question — rows of `query`, `lang` and the right `group` or `article_id` (null: out of
    scope) — and return its outcome, compared by translation group so that any language version counts."""
    rows = list(rows)
    groups = {view.id: view.group for view in kb.articles.values()}
    outcomes = []
    for done, row in enumerate(rows, 1):
        if "query" not in row:
            raise ValueError(f"labelled question {done} has no 'query'")
        expected = row.get("group") or groups.get(row.get("article_id") or "", row.get("article_id"))
        outcomes.append(outcome(kb.search(row["query"], lang=row.get("lang"), k=10), expected))
        if progress:
            progress(done, len(rows))
    return outcomes
