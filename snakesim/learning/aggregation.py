"""Aggregation of model states: pure functions over state dicts.

`RunningAverage` keeps one accumulator the size of the model, so averaging 1,000
client updates holds one extra model, not 1,000 (DESIGN.md principle 5).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

State = dict[str, torch.Tensor]


class RunningAverage:
    """A weighted mean of state dicts, accumulated one state at a time.

    Floating-point entries are averaged with the given weights; integer entries (e.g.
    BatchNorm's batch counters) take the value of the last state added.
    """

    def __init__(self) -> None:
        self._sum: State = {}
        self._weight = 0.0

    def add(self, state: State, weight: float) -> None:
        """Add ``state`` with ``weight`` (> 0)."""
        if weight <= 0:
            raise ValueError("weight must be > 0")
        for key, value in state.items():
            if not value.is_floating_point():
                self._sum[key] = value.clone()
            elif key in self._sum:
                self._sum[key].add_(value, alpha=weight)
            else:
                self._sum[key] = value.detach().to(torch.float64) * weight
        self._weight += weight

    @property
    def count_weight(self) -> float:
        """Sum of the weights added so far."""
        return self._weight

    def result(self, like: State | None = None) -> State:
        """The weighted mean, cast back to the dtypes of ``like`` (default float32)."""
        if self._weight == 0:
            raise ValueError("nothing to average")
        out: State = {}
        for key, value in self._sum.items():
            dtype = like[key].dtype if like is not None else torch.float32
            out[key] = (value / self._weight).to(dtype) if value.is_floating_point() else value
        return out


def weighted_average(states: Sequence[State], weights: Sequence[float]) -> State:
    """The weighted mean of ``states`` (FedAvg's aggregation rule)."""
    if len(states) != len(weights) or not states:
        raise ValueError("need one weight per state and at least one state")
    acc = RunningAverage()
    for state, weight in zip(states, weights, strict=False):
        acc.add(state, weight)
    return acc.result(like=states[0])
