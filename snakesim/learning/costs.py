"""FLOPs and memory of slice training steps, measured from the real step's graph.

A step is probed once per (trainable groups, batch size) on a copy of the model on the
``meta`` device: `torch.utils.flop_counter.FlopCounterMode` counts its FLOPs (matmuls
and convolutions, forward and backward) and `torch.autograd.graph.saved_tensors_hooks`
sees every activation autograd keeps for the backward pass. Meta tensors have shapes
and dtypes but no data, so probing is cheap and works for models too big to train.

Memory model of one training job (bytes, at each tensor's stored dtype):

- weights: every parameter and buffer of the model (a node holds the full model); the
  frozen groups at ``frozen_dtype`` when one is given (see `snakesim.learning.precision`);
- gradients: the trainable parameters;
- optimizer state: trainable parameters x (0 for plain SGD, 1 with momentum, 2 Adam);
- activations: distinct storages saved for backward, excluding parameters and the batch;
- batch: the input and target tensors of one batch;
- teacher (knowledge distillation only): the teacher's own copy of the groups the
  student trains (frozen groups are shared) and its logits for one batch.

The job's peak is their sum for its largest batch. Transient buffers of a kernel and
allocator fragmentation are not modelled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from snakesim.learning.models import LayerStack, ModelFactory
from snakesim.learning.precision import stored_bytes


@dataclass(frozen=True)
class StepCost:
    """FLOPs and saved-activation bytes of one training step (forward + backward)."""

    flops: float
    activation_bytes: int


@dataclass(frozen=True)
class MemoryBreakdown:
    """Peak memory of a training job by component, in bytes."""

    weights: int
    gradients: int
    optimizer: int
    activations: int
    batch: int
    teacher: int = 0

    @property
    def total(self) -> int:
        """The peak: the sum of all components."""
        return (self.weights + self.gradients + self.optimizer + self.activations
                + self.batch + self.teacher)


def optimizer_slots(optimizer: str, momentum: float) -> int:
    """Number of parameter-sized state tensors the optimizer keeps per parameter."""
    if optimizer == "adam":
        return 2
    return 1 if momentum > 0 else 0


def tensor_bytes(tensors: Sequence[torch.Tensor] | dict[str, torch.Tensor]) -> int:
    """Bytes of tensors as stored: ``numel * element_size`` summed."""
    items = tensors.values() if isinstance(tensors, dict) else tensors
    return sum(t.numel() * t.element_size() for t in items)


class CostModel:
    """FLOPs, memory and sizes of a model's slices, probed once per shape and cached.

    Parameters
    ----------
    factory
        Builds the model (its parameter values do not matter).
    input_shape
        Shape of one input sample.
    optimizer, momentum
        Decide the optimizer-state bytes per trainable parameter.
    """

    def __init__(self, factory: ModelFactory, input_shape: Sequence[int], optimizer: str,
                 momentum: float) -> None:
        with torch.device("meta"):
            self._model: LayerStack = factory()
        self._input_shape = tuple(input_shape)
        self._slots = optimizer_slots(optimizer, momentum)
        self._steps: dict[tuple[tuple[int, ...], int], StepCost] = {}
        self._forwards: dict[tuple[int, int], StepCost] = {}
        state = self._model.state_dict()
        self._group_bytes = [tensor_bytes({k: state[k] for k in self._model.group_keys(i)})
                             for i in range(len(self._model))]
        self._group_tensors = [[state[k] for k in self._model.group_keys(i)]
                               for i in range(len(self._model))]
        self._param_bytes = [tensor_bytes(list(g.parameters())) for g in self._model.groups]

    @property
    def n_groups(self) -> int:
        """Number of layer groups."""
        return len(self._group_bytes)

    def group_bytes(self, index: int, fmt: str = "fp32") -> int:
        """Bytes of group ``index``'s parameters and buffers (what sending it costs).

        ``fmt`` is the number format the group is held or sent in (default as stored).
        """
        if fmt == "fp32":
            return self._group_bytes[index]
        return sum(stored_bytes(t, fmt) for t in self._group_tensors[index])

    def model_bytes(self) -> int:
        """Bytes of the whole model's parameters and buffers."""
        return sum(self._group_bytes)

    def step(self, trainable: Sequence[int], batch_size: int) -> StepCost:
        """FLOPs and saved activations of one step training ``trainable`` groups."""
        key = (tuple(sorted(trainable)), batch_size)
        if key not in self._steps:
            self._steps[key] = self._probe(key[0], batch_size)
        return self._steps[key]

    def train_flops(self, trainable: Sequence[int], n_samples: int, batch_size: int,
                    epochs: int) -> float:
        """FLOPs of ``epochs`` passes over ``n_samples`` in batches (last one partial)."""
        full, rest = divmod(n_samples, batch_size)
        flops = full * self.step(trainable, batch_size).flops if full else 0.0
        if rest:
            flops += self.step(trainable, rest).flops
        return epochs * flops

    def forward(self, start: int, batch_size: int) -> StepCost:
        """FLOPs of a no-grad forward pass of groups ``start ..`` (a KD teacher's work).

        ``activation_bytes`` is the size of the output (the teacher's logits).
        """
        key = (start, batch_size)
        if key not in self._forwards:
            self._forwards[key] = self._probe_forward(start, batch_size)
        return self._forwards[key]

    def teacher_flops(self, trainable: Sequence[int], n_samples: int, batch_size: int,
                      epochs: int) -> float:
        """FLOPs of a distillation teacher over a job (forward from the first trained group).

        The groups before the first trained one are frozen and identical in student and
        teacher, so the teacher reuses the student's prefix output.
        """
        first = min(trainable)
        full, rest = divmod(n_samples, batch_size)
        flops = full * self.forward(first, batch_size).flops if full else 0.0
        if rest:
            flops += self.forward(first, rest).flops
        return epochs * flops

    def memory(self, trainable: Sequence[int], batch_size: int, teacher: bool = False,
               frozen_dtype: str = "fp32") -> MemoryBreakdown:
        """Peak memory of training ``trainable`` groups with batches of ``batch_size``.

        ``frozen_dtype`` is the format the node holds its frozen groups in (trainable
        groups stay as stored).
        """
        trained = sum(self._param_bytes[i] for i in set(trainable))
        weights = sum(self.group_bytes(i, "fp32" if i in trainable else frozen_dtype)
                      for i in range(self.n_groups))
        sample = int(torch.Size(self._input_shape).numel()) * 4 + 8  # fp32 input, int64 label
        extra = 0
        if teacher:
            extra = (sum(self._group_bytes[i] for i in set(trainable))
                     + self.forward(min(trainable), batch_size).activation_bytes)
        return MemoryBreakdown(
            weights=weights, gradients=trained, optimizer=self._slots * trained,
            activations=self.step(trainable, batch_size).activation_bytes,
            batch=batch_size * sample, teacher=extra)

    def _probe(self, trainable: tuple[int, ...], batch_size: int) -> StepCost:
        model = self._model
        for i, group in enumerate(model.groups):
            group.requires_grad_(i in trainable)
        x = torch.zeros((batch_size, *self._input_shape), device="meta")
        y = torch.zeros(batch_size, dtype=torch.long, device="meta")
        excluded = {t.untyped_storage()._cdata for t in (*model.parameters(), x, y)}
        saved: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            if storage._cdata not in excluded:
                saved[storage._cdata] = storage.nbytes()
            return t

        first = min(trainable) if trainable else len(model)
        with FlopCounterMode(display=False) as counter, \
                torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            with torch.no_grad():
                h = model.forward_range(x, 0, first)
            out = model.forward_range(h, first, len(model))
            loss = nn.functional.cross_entropy(out, y)
            if trainable:
                loss.backward()  # type: ignore[no-untyped-call]
        for p in model.parameters():
            p.grad = None
        return StepCost(float(counter.get_total_flops()), sum(saved.values()))

    def _probe_forward(self, start: int, batch_size: int) -> StepCost:
        model = self._model
        x = torch.zeros((batch_size, *self._input_shape), device="meta")
        with torch.no_grad():
            h = model.forward_range(x, 0, start)
            with FlopCounterMode(display=False) as counter:
                out = model.forward_range(h, start, len(model))
        return StepCost(float(counter.get_total_flops()), out.numel() * out.element_size())
