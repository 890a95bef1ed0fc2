"""Slice training: train only some layer groups of a model on a node's local data.

Groups before the first trainable one run under ``torch.no_grad`` (no activations kept,
no backward through them); frozen groups after it pass gradients through but get none
themselves. The optimizer is created per job over the trainable parameters only, as a
node that receives a model starts a fresh optimizer.

A `TrainJob` is a future: its FLOPs and memory are known before it runs (from the
probed `CostModel`), so the simulator can schedule it, and the real torch work runs
the first time its result is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from snakesim.learning.costs import CostModel, MemoryBreakdown
from snakesim.learning.models import LayerStack

State = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Local optimisation settings."""

    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 1


@dataclass(frozen=True)
class SliceResult:
    """What a slice training job produced: the new values of the trained groups."""

    state: State
    mean_loss: float
    steps: int


def make_optimizer(params: Sequence[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """The configured optimizer over ``params``."""
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def train_slice(model: LayerStack, state: State, trainable: Sequence[int], x: torch.Tensor,
                y: torch.Tensor, cfg: TrainConfig, generator: torch.Generator) -> SliceResult:
    """Load ``state`` into ``model``, train groups ``trainable`` and return them.

    Parameters
    ----------
    model
        A workspace model; its previous contents are overwritten by ``state``.
    state
        The full state dict to start from (not modified).
    trainable
        Indices of the groups to train; all others are frozen.
    x, y
        The node's local training data.
    cfg
        Optimiser settings, batch size and epochs.
    generator
        The node's generator for the order of samples.

    Returns
    -------
    SliceResult
        Copies of the trained groups' parameters and buffers, and the mean loss.
    """
    model.load_state_dict(state)
    groups = sorted(set(trainable))
    for i, group in enumerate(model.groups):
        group.requires_grad_(i in groups)
    params = [p for i in groups for p in model.groups[i].parameters()]
    optimizer = make_optimizer(params, cfg)
    first = groups[0]
    model.train()
    total, steps = 0.0, 0
    for _ in range(cfg.epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), cfg.batch_size):
            batch = order[start:start + cfg.batch_size]
            with torch.no_grad():
                h = model.forward_range(x[batch], 0, first)
            loss = nn.functional.cross_entropy(model.forward_range(h, first, len(model)),
                                               y[batch])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            total += float(loss.detach())
            steps += 1
    keys = [k for i in groups for k in model.group_keys(i)]
    current = model.state_dict()
    return SliceResult({k: current[k].detach().clone() for k in keys}, total / max(steps, 1),
                       steps)


class TrainJob:
    """A slice-training job whose cost is known up front and whose work runs lazily.

    Attributes
    ----------
    flops, peak_memory_bytes, samples
        What the fabric needs to schedule and account the job.
    memory
        The peak memory by component.
    """

    def __init__(self, work: Callable[[], SliceResult], flops: float,
                 memory: MemoryBreakdown, samples: int) -> None:
        self._work: Callable[[], SliceResult] | None = work
        self._result: SliceResult | None = None
        self.flops = flops
        self.memory = memory
        self.peak_memory_bytes = memory.total
        self.samples = samples

    def result(self) -> SliceResult:
        """Run the training the first time it is asked for; return the cached result."""
        if self._result is None:
            assert self._work is not None
            self._result = self._work()
            self._work = None  # drop references to inputs once the work is done
        return self._result


def slice_job(costs: CostModel, model: LayerStack, state: State, trainable: Sequence[int],
              x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
              generator: torch.Generator) -> TrainJob:
    """Build the `TrainJob` that trains ``trainable`` groups of ``state`` on ``(x, y)``."""
    flops = costs.train_flops(trainable, len(x), cfg.batch_size, cfg.epochs)
    memory = costs.memory(trainable, min(cfg.batch_size, len(x)))
    return TrainJob(lambda: train_slice(model, state, trainable, x, y, cfg, generator),
                    flops, memory, len(x) * cfg.epochs)
