"""The decision to answer, clarify or escalate, from the scores of the articles a search found."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

if TYPE_CHECKING:
    from kb.results import Candidate

Decision = Literal["answer", "clarify", "escalate"]
# A policy fitted by `tierzero kb calibrate` is saved beside the index, in the data folder, under this name.
POLICY_FILE = "kb-policy.json"


class DecisionPolicy(BaseModel):
    """When to answer: thresholds on the best article's score, per query language.

    An article's score is its confidence (fused retrieval score, `kb.fusion`) plus `probability_weight` times the
    article classifier's probability that it is the one (`kb.classifier`; 0 when the classifier is off — no
    `RetrievalSettings.classifier_weight` — or not trained yet, e.g. while a large knowledge base retrains it in
    the background after an edit, so the bot then answers less, never more). Cross-lingual matches score lower
    with e5 models, so a match in another language gets `cross_lingual_bonus` added to its confidence. `margin` is
    how far ahead of the runner-up the best article must be to be answered outright rather than offered as one of
    at most `max_choices` choices. A threshold for a language the policy does not list is English's.

    The defaults are the demo knowledge base's fit with the default engine, which `tierzero kb calibrate
    --labelled kb/demo/calibration.jsonl --target-wrong 0.03` reproduces (its questions are not the test suite's;
    the fit also chooses `probability_weight` among `kb.calibrate.PROBABILITY_WEIGHTS`). Another engine or a
    knowledge base of your own wants its own fit, saved as `POLICY_FILE` in the data folder; bench/RESULTS.md
    shows how fitted policies do on the benchmarks.
    """

    model_config = ConfigDict(extra="forbid")

    answer_threshold: dict[str, float] = Field(default_factory=lambda: {"en": 0.944, "ja": 0.963, "ko": 0.964})
    clarify_threshold: dict[str, float] = Field(default_factory=lambda: {"en": 0.894, "ja": 0.904, "ko": 0.964})
    margin: float = Field(default=0.02, ge=0, le=1)
    cross_lingual_bonus: float = Field(default=0.03, ge=0, le=1)
    max_choices: int = Field(default=3, ge=2, le=5)
    probability_weight: float = Field(default=0.05, ge=0, le=1)

    def scores(self, candidates: Sequence[Candidate]) -> list[float]:
        """What the thresholds are compared with, for each candidate."""
        return [c.confidence + self.probability_weight * c.probability for c in candidates]

    def threshold(self, table: dict[str, float], lang: str) -> float:
        return table.get(lang, table.get("en", 0.85))

    def decide(self, scores: list[float], lang: str, handoff: bool = False) -> Decision:
        """Answer, clarify or escalate, from the candidates' scores (in ranking order) for a question in `lang`.

        `handoff`: the best article needs an agent. Showing it hands the customer to a person, which misleads no
        one, so it is answered from the clarify threshold up (still by the margin) rather than offered as one of
        several choices."""
        if not scores:
            return "escalate"
        best = scores[0]
        runner_up = scores[1] if len(scores) > 1 else 0.0
        floor = self.threshold(self.clarify_threshold if handoff else self.answer_threshold, lang)
        if best >= floor and best - runner_up >= self.margin:
            return "answer"
        if best >= self.threshold(self.clarify_threshold, lang):
            return "clarify"
        return "escalate"

    def decide_for(self, candidates: Sequence[Candidate], lang: str) -> Decision:
        """`decide` for ranked candidates: their scores, and whether the best one needs an agent."""
        handoff = bool(candidates) and candidates[0].article.needs_agent
        return self.decide(self.scores(candidates), lang, handoff=handoff)

    def save(self, path: Path) -> None:
        """Write the policy as JSON (what `load` reads back)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.model_dump(), indent=2, sort_keys=True) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> DecisionPolicy:
        """Read a policy file; a file that is not valid JSON or has a bad field is an error naming the file. A file
        written before the classifier's probability counted (no `probability_weight`) has thresholds fitted on the
        confidence alone, so its weight is 0."""
        path = Path(path)
        try:
            fields = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(fields, dict):
                fields.setdefault("probability_weight", 0.0)
            return cls.model_validate(fields)
        except (ValueError, ValidationError) as error:
            raise ValueError(f"{path}: not a valid decision policy ({error})") from error

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> DecisionPolicy:
        """The policy fitted for this installation (`<data_dir>/kb-policy.json`), or the defaults if none was."""
        path = Path(data_dir) / POLICY_FILE
        return cls.load(path) if path.exists() else cls()
