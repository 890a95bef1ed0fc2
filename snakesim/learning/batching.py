"""Batched client execution: pending slice jobs run together when the first is needed.

A `TrainJob` is a future (DESIGN principle 6): its cost is known when it is made and
its real work runs when its result is first asked for. The fabric tells a job when it
accepts it (`TrainJob.accepted`): from then on the job will run in simulated time, so
its real work may be done at any moment. When one job's result is asked for, the
`ClientBatcher` takes it together with every accepted job not run yet that can share
one vectorised step (same trainable groups and settings, inputs of one shape: a round's
FedAvg clients, the local-only learners) and runs them at once with
`snakesim.learning.vectorised.train_slices`; the others keep their result until they
are asked. Strategies do not change, and nothing simulated does: only when the real
torch work runs, not what the simulation charges for it.

Only accepted jobs join a batch: a job made to check a memory budget and never run
never draws from its node's data-order generator, as on the sequential path. Every job
a batch cannot hold (distillation, half precision, dropout, ...; see `batch_obstacle`
and `model_obstacle` in `snakesim.learning.vectorised`) runs alone, exactly as it does
with batching off, and the reason is counted for the run summary.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from snakesim.learning.models.stack import LayerStack
from snakesim.learning.training import SliceResult, State, TrainConfig
from snakesim.learning.vectorised import (
    RandomOpsInModel,
    SliceTask,
    batch_obstacle,
    model_obstacle,
    train_slices,
)

ALONE = "nothing accepted to batch with when it ran"
"""The reason counted for a batchable job that found no partner."""


@dataclass
class _Pending:
    task: SliceTask
    alone: Callable[[], SliceResult]
    key: tuple[Any, ...] | None  # None: cannot be batched (see obstacle)
    obstacle: str | None
    peak_bytes: int
    accepted: bool = False
    result: SliceResult | None = field(default=None, repr=False)


class ClientBatcher:
    """Runs a run's slice-training jobs, batching those that can share a step.

    Parameters
    ----------
    model
        The run's workspace model.
    enabled
        False runs every job alone, as it comes (``batch_clients: off``); the reason
        given by ``disabled_reason`` is counted for each.
    limit
        At most this many jobs in one batch (None: no cap by count).
    budget_bytes
        At most this much summed predicted peak memory in one batch (None: no cap).
    disabled_reason
        Why batching is off, for the summary.
    """

    def __init__(self, model: LayerStack, *, enabled: bool = True, limit: int | None = None,
                 budget_bytes: int | None = None,
                 disabled_reason: str = "execution.batch_clients is off") -> None:
        self._model = model
        # What the model alone rules out is the same for every job: found once.
        self._model_obstacle = model_obstacle(model)
        self._enabled, self._limit, self._budget = enabled, limit, budget_bytes
        self._disabled = disabled_reason
        self._queue: dict[tuple[Any, ...], dict[int, _Pending]] = {}
        self.batched_jobs = 0
        """Jobs that ran in a batch of two or more."""
        self.batches = 0
        """Batches of two or more jobs run."""
        self.alone: Counter[str] = Counter()
        """Jobs that ran alone, by reason."""

    def work(self, state: State, trainable: Sequence[int], x: torch.Tensor, y: torch.Tensor,
             cfg: TrainConfig, generator: torch.Generator, distill: bool,
             alone: Callable[[], SliceResult], peak_bytes: int,
             ) -> tuple[Callable[[], SliceResult], Callable[[], None]]:
        """A slice job's deferred work and its on-accept hook.

        The job's inputs are `train_slice`'s; ``alone`` runs the job by itself (the
        sequential path); ``peak_bytes`` is its predicted peak memory.
        """
        task = SliceTask(state, tuple(sorted(set(trainable))), x, y, cfg, generator)
        obstacle = batch_obstacle(cfg, distill) or self._model_obstacle
        key = None if obstacle is not None or not self._enabled else (
            task.trainable, task.cfg, tuple(task.x.shape[1:]), task.x.dtype, task.y.dtype,
            task.x.device, tuple(task.state))
        pending = _Pending(task, alone, key, obstacle, peak_bytes)
        return (lambda: self._run(pending)), (lambda: self._accept(pending))

    def summary(self) -> dict[str, Any]:
        """The counts, for the run summary."""
        return counts(self.batched_jobs, self.batches, self.alone)

    def _accept(self, p: _Pending) -> None:
        if p.accepted or p.key is None:
            return
        p.accepted = True
        self._queue.setdefault(p.key, {})[id(p)] = p

    def _run(self, p: _Pending) -> SliceResult:
        if p.result is not None:  # it ran in an earlier batch
            result, p.result = p.result, None
            return result
        if p.key is None:
            self.alone[p.obstacle or self._disabled] += 1
            return p.alone()
        queue = self._queue.get(p.key, {})
        queue.pop(id(p), None)
        members, peak = [p], p.peak_bytes
        for other in list(queue.values()):
            if self._limit is not None and len(members) >= self._limit:
                break
            if self._budget is not None and peak + other.peak_bytes > self._budget:
                break
            members.append(other)
            peak += other.peak_bytes
            del queue[id(other)]
        if len(members) == 1:
            self.alone[ALONE] += 1
            return p.alone()
        try:
            results = train_slices(self._model, [m.task for m in members])
        except RandomOpsInModel as exc:
            # The model draws random numbers (e.g. dropout inside a library's module):
            # generators are as they were, so each job runs alone, as it would unbatched.
            reason = f"random operations in the model ({exc})"
            self.alone[reason] += 1
            for m in members[1:]:
                m.key = None
                m.obstacle = reason
            return p.alone()
        self.batches += 1
        self.batched_jobs += len(members)
        for m, r in zip(members[1:], results[1:], strict=True):
            m.result = r
        return results[0]


def counts(batched_jobs: int = 0, batches: int = 0,
           alone: Counter[str] | None = None) -> dict[str, Any]:
    """A run's batching counts (all 0 for a run without a batcher)."""
    alone = alone or Counter()
    return {"batched_jobs": batched_jobs, "batches": batches,
            "jobs_run_alone": sum(alone.values()),
            "run_alone_because": dict(sorted(alone.items()))}
