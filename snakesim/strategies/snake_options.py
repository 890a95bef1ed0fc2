"""Snake Learning's options for non-IID data: what changes from hop to hop.

The paper leaves open how a single lineage should cope with label skew (see
`snakesim.config.strategies.SnakeStrategy` and the README's Snake Learning section).
This module turns the options into each hop's training settings, so the Snake
process stays one sequential lineage in which every node trains only its groups:

- ``head``: the output head's loss at a node (FedRS's restricted softmax, the
  logit-adjusted loss) from the node's own label counts, or which nodes train it;
- ``lr_schedule``, ``local_epochs``: the learning rate of pass ``r`` and the epochs
  of every hop;
- ``distill_weight_schedule``, ``distill_temperature_schedule``: the KD weight and
  temperature of pass ``r``;
- ``distill_target``: the logits (Hinton KD) or the output of the last body group the
  node trains (feature distillation, mean squared error; FitNets, Romero et al., ICLR
  2015);
- ``distill_teacher: pass``: the teacher is the model as it was at the start of the
  pass (`pass_teacher`), not as the node received it.

Nothing here averages models: every setting only changes one node's local loss or
optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from snakesim.config.strategies import Schedule, SnakeStrategy
from snakesim.learning.schedules import schedule_factor
from snakesim.strategies.base import Context

ABSENT_COUNT = 0.5
"""The count a class a node lacks gets in its prior (logit adjustment): half a sample,
so ``log(prior)`` stays finite."""
MIN_TEMPERATURE = 0.01
"""A scheduled KD temperature never falls below this (the schema's minimum)."""


def factor(schedule: Schedule, round: int, rounds: int) -> float:
    """`schedule_factor` of a scenario's ``Schedule`` for pass ``round`` of ``rounds``."""
    return schedule_factor(schedule.kind, round, rounds, every=schedule.every,
                           gamma=schedule.gamma, final=schedule.final)


def num_classes(ctx: Context) -> int:
    """Width of the model's output (its class logits), from one test sample's forward."""
    with torch.no_grad():
        return int(ctx.model(ctx.test[0][:1]).shape[-1])


def label_counts(ctx: Context, node: str, classes: int) -> np.ndarray:
    """Training samples per class at ``node``."""
    return np.bincount(ctx.local_data[node][1].cpu().numpy(), minlength=classes)[:classes]


def label_distributions(ctx: Context, nodes: Sequence[str]) -> list[list[float]]:
    """Each node's label distribution (for the ``label_diversity`` route order)."""
    classes = max(int(ctx.local_data[n][1].max()) for n in nodes) + 1
    out = []
    for n in nodes:
        counts = label_counts(ctx, n, classes).astype(float)
        out.append((counts / max(counts.sum(), 1.0)).tolist())
    return out


def head_loss(spec: SnakeStrategy, counts: np.ndarray) -> dict[str, tuple[float, ...]]:
    """The `TrainConfig` changes of the head policy for a node with these label counts.

    ``restricted_softmax``: logit scale 1 for the classes the node holds, ``alpha`` for
    the others (FedRS). ``logit_adjusted``: offset ``tau * log(prior_c)`` with the
    node's prior (a class it lacks counts `ABSENT_COUNT` samples). Otherwise none.
    """
    policy = spec.head.policy
    if policy == "restricted_softmax":
        return {"logit_scale": tuple(1.0 if c > 0 else spec.head.alpha for c in counts)}
    if policy == "logit_adjusted":
        held = np.where(counts > 0, counts, ABSENT_COUNT).astype(float)
        prior = held / held.sum()
        return {"logit_offset": tuple(float(spec.head.tau * math.log(p)) for p in prior)}
    return {}


def distill_group(window: Sequence[int], body: Sequence[int], n_groups: int) -> int:
    """The group whose output feature distillation matches: the last body group of the
    window, or -1 (the logits) when the window holds no body group before the head."""
    inner = [g for g in window if g in set(body) and g < n_groups - 1]
    return max(inner) if inner else -1


def hop_settings(spec: SnakeStrategy, ctx: Context, round: int, window: Sequence[int],
                 body: Sequence[int], distill: tuple[float, float] | None,
                 counts: np.ndarray | None,
                 ) -> tuple[dict[str, Any], tuple[float, float] | None]:
    """``(TrainConfig changes, distillation)`` for a hop of pass ``round``.

    Defaults give no changes and ``distill`` unchanged. A scheduled KD weight of 0
    switches distillation off for that pass.
    """
    rounds = ctx.rounds
    changes: dict[str, Any] = {}
    lr = factor(spec.lr_schedule, round, rounds)
    if lr != 1.0:
        changes["lr"] = ctx.train.lr * lr
    if spec.local_epochs is not None:
        changes["epochs"] = spec.local_epochs
    if counts is not None:
        changes.update(head_loss(spec, counts))
    if distill is not None:
        weight = distill[0] * factor(spec.distill_weight_schedule, round, rounds)
        temperature = max(MIN_TEMPERATURE,
                          distill[1] * factor(spec.distill_temperature_schedule, round,
                                              rounds))
        distill = (weight, temperature) if weight > 0 else None
    if distill is not None and spec.distill_target == "features":
        changes["distill_group"] = distill_group(window, body, ctx.costs.n_groups)
    return changes, distill
