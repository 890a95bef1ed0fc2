"""FLOPs and memory of slice training steps, measured from the real step's graph.

A step is probed once per (trainable groups, batch size) on a copy of the model on the
``meta`` device: `torch.utils.flop_counter.FlopCounterMode` counts its FLOPs (matmuls
and convolutions, forward and backward) and `torch.autograd.graph.saved_tensors_hooks`
sees every activation autograd keeps for the backward pass. Meta tensors have shapes
and dtypes but no data, so probing is cheap and works for models too big to train.

Memory model of one training job (bytes, at each tensor's stored dtype):

- weights: every parameter and buffer of the model (a node holds the full model); the
  frozen groups at ``frozen_dtype`` when one is given (see `snakesim.learning.costs.precision`);
  with mixed precision also the half copies of the matmul weights autocast makes from
  the first trained group on (saved for backward, trained or frozen);
- gradients: the trainable parameters (at the parameter dtype);
- optimizer state: trainable parameters x (0 for plain SGD, 1 with momentum, 2 Adam or
  AdamW), at the parameter dtype;
- activations: distinct storages saved for backward, excluding parameters and the batch
  (probed at the compute dtype); with gradient checkpointing, the inputs of the
  checkpointed blocks plus the largest block's own activations, which exist again only
  while that block is recomputed;
- batch: the input and target tensors of one batch;
- output gradient (backward only): the gradients of the loss's input and of the
  model's output, which exist while the saved activations are still alive (for a
  language model, two vocabulary-sized tensors per token: often the largest buffers);
- optimizer-step buffers (the step only, after activations are freed): the scratch
  tensors of PyTorch's multi-tensor (``foreach``) optimizers, the default on GPUs: one
  trainable-parameter-sized set for Adam and AdamW (the square root of the second
  moment), one for SGD with weight decay, none for plain SGD;
- teacher (knowledge distillation only): the teacher's own copy of the groups the
  student trains (frozen groups are shared) and its logits for one batch.

The job's peak, for its largest batch, is ``weights + gradients + optimizer + batch +
max(activations + teacher + output gradient, optimizer-step buffers)``: the larger of
the backward and the optimizer-step phases. Kernels' own workspaces and allocator
fragmentation are not modelled (checked against ``torch.cuda.max_memory_allocated`` by
``benchmarks/gpu_memory_check.py``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from snakesim.learning.costs.precision import Precision, stored_bytes
from snakesim.learning.costs.probe import GroupProber
from snakesim.learning.models.stack import LayerStack, ModelFactory
from snakesim.learning.objective import Objective


@dataclass(frozen=True)
class StepCost:
    """FLOPs and saved-activation bytes of one training step (forward + backward)."""

    flops: float
    activation_bytes: int
    group_saved: tuple[int, ...] = ()
    """Saved-activation bytes per group (the groups the step trains through)."""
    group_output: tuple[int, ...] = ()
    """Bytes of each group's output."""


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

    @property
    def total(self) -> int:
        """The peak: the larger of the backward and the optimizer-step phases."""
        backward = self.activations + self.teacher + self.output_gradient
        return (self.weights + self.gradients + self.optimizer + self.batch
                + max(backward, self.step_buffers))


def step_buffer_slots(optimizer: str, weight_decay: float = 0.0) -> int:
    """Parameter-sized scratch sets a multi-tensor optimizer step allocates."""
    if optimizer in ("adam", "adamw"):
        return 1
    return 1 if weight_decay > 0 else 0


def optimizer_slots(optimizer: str, momentum: float) -> int:
    """Number of parameter-sized state tensors the optimizer keeps per parameter."""
    if optimizer in ("adam", "adamw"):
        return 2
    return 1 if momentum > 0 else 0


def tensor_bytes(tensors: Sequence[torch.Tensor] | dict[str, torch.Tensor]) -> int:
    """Bytes of tensors as stored: ``numel * element_size`` summed."""
    items = tensors.values() if isinstance(tensors, dict) else tensors
    return sum(t.numel() * t.element_size() for t in items)


def half_copy_bytes(groups: Sequence[nn.Module]) -> int:
    """Bytes of the half-precision weight copies autocast keeps while ``groups`` train.

    Every matmul weight (linear and convolution layers) that runs with gradients is cast
    to the half format, and the copy is saved for backward; autocast caches a trained
    weight's copy, so a weight used twice is counted once. Embedding lookups are not
    cast.
    """
    seen: dict[int, int] = {}
    for group in groups:
        for module in group.modules():
            if isinstance(module, (nn.Linear, nn.modules.conv._ConvNd)):
                seen[id(module.weight)] = module.weight.numel() * 2
    return sum(seen.values())


def half_probe_model(model: LayerStack, precision: Precision) -> LayerStack:
    """The model activations are probed on: ``model``, or its half copy when mixed.

    Autocast does not act on meta tensors, so the probe casts a copy of the model to the
    compute dtype instead (a copy, not a second build: an LLM takes seconds to build).
    """
    if precision.mixed:
        return copy.deepcopy(model).to(precision.compute_dtype)
    return model


class CostModel:
    """FLOPs, memory and sizes of a model's slices, probed once per shape and cached.

    Parameters
    ----------
    factory
        Builds the model (its parameter values do not matter).
    input_shape
        Shape of one input sample.
    optimizer, momentum, weight_decay
        Decide the optimizer-state bytes per trainable parameter, and its step's
        scratch buffers.
    objective
        The task (classification or causal LM): loss and input dtype of the probe.
    precision
        Training number formats (`snakesim.learning.costs.precision.Precision`).
    checkpointing
        Gradient checkpointing of the model's blocks (``LayerStack.block_groups``).
    """

    def __init__(self, factory: ModelFactory, input_shape: Sequence[int], optimizer: str,
                 momentum: float, *, weight_decay: float = 0.0,
                 objective: Objective | None = None,
                 precision: Precision | None = None, checkpointing: bool = False) -> None:
        self.precision = precision or Precision()
        self.objective = objective or Objective()
        self.checkpointing = checkpointing
        with torch.device("meta"):
            self._model: LayerStack = factory()
        self._model.to(self.precision.param_dtype)
        # Activations are probed at the compute dtype (see `half_probe_model`).
        self._probe_model = half_probe_model(self._model, self.precision)
        self._input_shape = tuple(input_shape)
        self._slots = optimizer_slots(optimizer, momentum)
        self._step_slots = step_buffer_slots(optimizer, weight_decay)
        self._steps: dict[tuple[tuple[int, ...], int], StepCost] = {}
        self._forwards: dict[tuple[int, int], StepCost] = {}
        self._half_bytes: dict[int, int] = {}
        self._prober = GroupProber(self._probe_model, self.objective, self._input_shape)
        state = self._model.state_dict()
        self._group_bytes = [tensor_bytes({k: state[k] for k in self._model.group_keys(i)})
                             for i in range(len(self._model))]
        self._group_tensors = [[state[k] for k in self._model.group_keys(i)]
                               for i in range(len(self._model))]
        self._param_bytes = [tensor_bytes(self._model.owned_parameters(i))
                             for i in range(len(self._model))]
        # Buffers outside the state dict (e.g. rotary frequencies) are held, never sent.
        self._unlisted_bytes = tensor_bytes([b for k, b in self._model.named_buffers()
                                             if k not in state])
        self._trained_bytes = [tensor_bytes({k: state[k] for k in self._model.trained_keys(i)})
                               for i in range(len(self._model))]

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample."""
        return self._input_shape

    @property
    def model(self) -> LayerStack:
        """The meta-device model the costs are probed on (no values)."""
        return self._model

    def trained_bytes(self, groups: Sequence[int]) -> int:
        """Bytes of what training ``groups`` changes: what a scheme exchanges for them.

        The groups' parameters and buffers, or only their adapters (LoRA).
        """
        return sum(self._trained_bytes[i] for i in set(groups))

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
        """FLOPs and saved activations of one step training ``trainable`` groups.

        With gradient checkpointing, FLOPs include the recomputed block forwards and
        activations follow the checkpointed account (see the module docstring).
        """
        key = (tuple(sorted(trainable)), batch_size)
        if key not in self._steps:
            cost = self._probe(key[0], batch_size)
            if self.checkpointing and trainable:
                cost = self._checkpointed(cost, min(trainable), batch_size)
            self._steps[key] = cost
        return self._steps[key]

    def _checkpointed(self, cost: StepCost, first: int, batch_size: int) -> StepCost:
        blocks = [i for i in self._model.block_groups if i >= first]
        if not blocks:
            return cost
        inside = sum(cost.group_saved[i] for i in blocks)
        kept = sum(cost.group_output[i - 1] for i in blocks if i > 0)
        largest = max(cost.group_saved[i] for i in blocks)
        recompute = sum(self._group_forward_flops(i, batch_size) for i in blocks)
        return StepCost(cost.flops + recompute,
                        cost.activation_bytes - inside + kept + largest,
                        cost.group_saved, cost.group_output)

    def _group_forward_flops(self, index: int, batch_size: int) -> float:
        return self._prober.forward_flops(batch_size)[index]

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
        weights = self._unlisted_bytes + sum(
            self.group_bytes(i, "fp32" if i in trainable else frozen_dtype)
            for i in range(self.n_groups))
        if self.precision.mixed and trainable:
            weights += self._half_copies(min(trainable))
        sample = self.objective.sample_bytes(self._input_shape)
        extra = 0
        if teacher:
            extra = (sum(self._group_bytes[i] for i in set(trainable))
                     + self.forward(min(trainable), batch_size).activation_bytes)
        step = self.step(trainable, batch_size)
        output = step.group_output[-1] if step.group_output and trainable else 0
        return MemoryBreakdown(
            weights=weights, gradients=trained, optimizer=self._slots * trained,
            activations=step.activation_bytes, batch=batch_size * sample, teacher=extra,
            output_gradient=2 * output, step_buffers=self._step_slots * trained)

    def _half_copies(self, first: int) -> int:
        """Bytes of the half-precision weight copies autocast keeps during a step.

        See `half_copy_bytes`; from the first trained group on (trained or frozen: the
        input's gradient needs the copy too).
        """
        if first not in self._half_bytes:
            self._half_bytes[first] = half_copy_bytes(list(self._model.groups[first:]))
        return self._half_bytes[first]

    def _probe(self, trainable: tuple[int, ...], batch_size: int) -> StepCost:
        chain = self._prober.step(trainable, batch_size)
        return StepCost(chain.flops, chain.saved, chain.group_saved, chain.group_output)

    def _probe_forward(self, start: int, batch_size: int) -> StepCost:
        out = self._prober.inputs(batch_size)[-1]
        return StepCost(sum(self._prober.forward_flops(batch_size)[start:]),
                        out.numel() * out.element_size())
