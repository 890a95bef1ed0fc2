"""What a training step costs: its work and saved bytes, and a job's peak memory.

The records `snakesim.learning.costs.model.CostModel` (and split learning's
`snakesim.learning.costs.split_costs.SplitCosts`) return; see those modules for how
each figure is probed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from snakesim.learning.costs.counting import NO_WORK, Work
from snakesim.learning.costs.timeline import Event


@dataclass(frozen=True)
class StepCost:
    """FLOPs and saved-activation bytes of one training step (forward + backward)."""

    flops: float
    activation_bytes: int
    group_saved: tuple[int, ...] = ()
    """Saved-activation bytes per group (the groups the step trains through)."""
    group_output: tuple[int, ...] = ()
    """Bytes of each group's output."""
    forward: Work = NO_WORK
    """Work of the forward pass (the loss included)."""
    backward: Work = NO_WORK
    """Work of the backward pass (recomputed forwards included)."""
    forward_events: tuple[int, ...] = ()
    """Per group: bytes alive at its forward's peak (`snakesim.learning.costs.probe`)."""
    backward_events: tuple[int, ...] = ()
    """Per group: bytes alive at its backward's peak, its own gradients included."""


@dataclass(frozen=True)
class MemoryBreakdown:
    """Peak memory of a training job by component, in bytes."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    batch: int
    teacher: int = 0
    output_gradient: int = 0
    step_buffers: int = 0
    workspace: int = 0
    held_logits: int = 0
    timeline: tuple[Event, ...] = ()
    """The step's allocation events (`snakesim.learning.costs.timeline`), if known."""

    @property
    def total(self) -> int:
        """The peak: the largest event of the timeline.

        Without a timeline (split training's sides), the larger of the backward and the
        optimizer-step phases with every gradient present.
        """
        if self.timeline:
            return max(e.bytes for e in self.timeline)
        backward = self.activations + self.teacher + self.output_gradient
        return (self.weights + self.gradients + self.optimizer + self.batch
                + self.workspace + max(backward, self.step_buffers))


def tensor_bytes(tensors: Sequence[torch.Tensor] | dict[str, torch.Tensor]) -> int:
    """Bytes of tensors as stored: ``numel * element_size`` summed."""
    items = tensors.values() if isinstance(tensors, dict) else tensors
    return sum(t.numel() * t.element_size() for t in items)
