"""A quality target: the accuracy (or perplexity) at which runs are compared.

Schemes differ in how fast and how far they learn, so comparing them at their final
round mixes cost and quality; the paper compares them at equal accuracy instead. A
target is written ``{accuracy: 0.9}`` (reached when a round's test accuracy is at least
0.9; classifiers) or ``{perplexity: 30}`` (reached when a round's held-out perplexity is
at most 30; causal language models). It is the sweep file's ``target`` key and the
``--target-accuracy`` / ``--target-perplexity`` options of ``snakesim compare``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from snakesim.config.strategies import Frozen

Metric = Literal["accuracy", "perplexity"]


class QualityTarget(Frozen):
    """Exactly one of ``accuracy`` (in [0, 1]) or ``perplexity`` (at least 1)."""

    accuracy: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="Reached at the first evaluation whose test accuracy is at least this "
                    "(a fraction in [0, 1]; classifiers).")
    perplexity: float | None = Field(
        default=None, ge=1.0,
        description="Reached at the first evaluation whose held-out perplexity is at most "
                    "this (at least 1, the perplexity of a perfect model; language models).")

    @model_validator(mode="after")
    def _exactly_one(self) -> QualityTarget:
        if (self.accuracy is None) == (self.perplexity is None):
            raise ValueError("give exactly one of accuracy or perplexity")
        return self

    @property
    def metric(self) -> Metric:
        """``"accuracy"`` or ``"perplexity"``: the rounds-table column the target reads."""
        return "accuracy" if self.accuracy is not None else "perplexity"

    @property
    def value(self) -> float:
        """The target value of `metric`."""
        value = self.accuracy if self.accuracy is not None else self.perplexity
        assert value is not None  # _exactly_one
        return value

    def describe(self) -> str:
        """``accuracy >= 0.9`` or ``perplexity <= 30``, for titles and messages."""
        sign = ">=" if self.metric == "accuracy" else "<="
        return f"{self.metric} {sign} {self.value:g}"


def scenario_metric(model_name: str, mode: str) -> Metric | None:
    """The quality metric a run of a scenario measures; None for cost-only runs.

    Causal language models are judged by held-out perplexity, everything else by test
    accuracy (`snakesim.learning.objective`); a cost-only run measures no quality.
    """
    if mode == "cost_only":
        return None
    return "perplexity" if model_name == "causal_lm" else "accuracy"
