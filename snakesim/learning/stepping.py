"""The optimizer step under a training precision, shared by slice and split training.

One `Stepper` holds what a training job needs around ``loss.backward()`` and
``optimizer.step()`` so that every scheme trains the same way:

- mixed precision (``Precision.mixed``): forwards run under ``torch.autocast`` in the half
  format over fp32 master weights;
- fp16 mixed precision: loss scaling (``torch.amp.GradScaler``): the loss is multiplied
  by a scale before backward, so small gradients do not underflow in fp16; each step
  unscales the gradients first and is skipped when they hold inf or NaN; the scale
  falls after an overflow and grows after a run of clean steps (bf16 has fp32's range
  and needs none; pure half trains without it, as GradScaler cannot unscale half
  gradients);
- pure half precision (``master_weights: false``): the model itself is held in the half
  format (`hold`), so parameters, gradients and optimizer state are half;
- gradient clipping (``grad_clip``): the norm of the given parameters' (unscaled)
  gradients is clipped before the step.

It also checks, once per job, that training did not diverge (`check_finite`): a loss
that became inf or NaN stops the run with a `TrainingDiverged` error naming the
settings to change, instead of a run that "succeeds" with a NaN model.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import torch
from torch import nn

from snakesim.errors import TrainingDiverged
from snakesim.learning.costs.precision import Precision

if TYPE_CHECKING:
    from snakesim.learning.training import TrainConfig


def minibatches(n: int, batch_size: int, epochs: int,
                generator: torch.Generator) -> Iterator[torch.Tensor]:
    """Indices of each minibatch: ``epochs`` passes over ``n`` samples, each in a fresh
    order drawn from ``generator`` (the node's data-order stream), the last batch of a
    pass possibly smaller."""
    for _ in range(epochs):
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            yield order[start:start + batch_size]


def hold(model: nn.Module, precision: Precision) -> None:
    """Hold ``model``'s floating parameters and buffers in ``precision.param_dtype``.

    A no-op when they already are (a run's workspace model is built that way); pure half
    precision needs it, since loading a state dict keeps the model's own dtype.
    """
    dtype = precision.param_dtype
    if any(p.dtype != dtype for p in model.parameters() if p.is_floating_point()):
        model.to(dtype)


class Stepper:
    """Autocast, loss scaling, clipping and the optimizer step of one training job.

    Parameters
    ----------
    precision
        The training number formats.
    device
        The device type the job runs on (``"cpu"``, ``"cuda"``).
    clip
        Clip each step's gradient norm to this (0: no clipping).

    Notes
    -----
    One stepper may serve several optimizers (split learning's client and server
    parts): `step` each of them, then `update` once per batch. They then share one loss
    scale, as ``torch.amp.GradScaler`` does for several optimizers.
    """

    def __init__(self, precision: Precision, device: str, clip: float = 0.0) -> None:
        self.precision = precision
        self.device = device
        self.clip = clip
        self.scaler = torch.amp.GradScaler(
            device, enabled=precision.mixed and precision.dtype == "fp16")

    def autocast(self) -> torch.autocast:
        """The context the forward pass runs in (active under mixed precision only)."""
        p = self.precision
        return torch.autocast(self.device, dtype=p.compute_dtype, enabled=p.mixed)

    def backward(self, loss: torch.Tensor) -> None:
        """Backpropagate ``loss``, scaled when loss scaling is on."""
        self.scaler.scale(loss).backward()  # type: ignore[no-untyped-call]

    def step(self, optimizer: torch.optim.Optimizer, params: Sequence[nn.Parameter]) -> None:
        """Unscale and clip the gradients of ``params``, then step ``optimizer``.

        The step is skipped when loss scaling found inf or NaN in the gradients. The
        gradients stay: the caller drops them when it is done.
        """
        if self.clip > 0:
            self.scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(params, self.clip)
        self.scaler.step(optimizer)

    def update(self) -> None:
        """Adjust the loss scale after a batch (after every optimizer has stepped)."""
        self.scaler.update()


def check_finite(losses: Sequence[torch.Tensor], params: Sequence[torch.Tensor],
                 cfg: TrainConfig, what: str) -> float:
    """The mean of a job's ``losses``; raise `TrainingDiverged` if training diverged.

    ``losses`` are the detached per-step losses, kept without a device sync; this reads
    them, and whether the trained ``params`` are all finite (a last step can break the
    weights while its loss was still finite), once per job. ``what`` names the job kind
    in the message (``"slice training"``).
    """
    if not losses:
        return math.nan
    values = torch.stack([v.float() for v in losses])
    mean = float(values.sum()) / len(losses)
    if math.isfinite(mean):
        broken = bool(torch.stack([~torch.isfinite(p).all() for p in params]).any()) \
            if params else False
        if not broken:
            return mean
        where = f"the weights became inf or NaN in step {len(losses)} of {len(losses)}"
    else:
        finite = torch.isfinite(values).tolist()
        first = finite.index(False)
        where = (f"the loss became {values[first].item()} at step {first + 1} of "
                 f"{len(losses)}")
    raise TrainingDiverged(
        f"training diverged: in {what}, {where} (training.lr is {cfg.lr:g}, "
        f"training.weight_decay {cfg.weight_decay:g}, training.grad_clip {cfg.grad_clip:g}, "
        f"training.dtype {cfg.precision.dtype}); lower training.lr or "
        "training.weight_decay, set training.grad_clip, or check the scale of the data")
