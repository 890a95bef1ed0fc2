"""FLOPs and memory of slice training steps, measured from the real step's graph.

A step is probed once per (trainable groups, batch size) on a copy of the model on the
``meta`` device (small classifiers: zeros on the CPU, see
`snakesim.learning.costs.probe`): `snakesim.learning.costs.counting.OpCounter` counts
its work per phase (FLOPs of matmuls and convolutions as `FlopCounterMode` counts them,
bytes moved, kernels) and `torch.autograd.graph.saved_tensors_hooks` sees every
activation autograd keeps for the backward pass. Meta tensors have shapes and dtypes but
no data, so probing is cheap and works for models too big to train.

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
  tensors of the optimizer step (`snakesim.learning.costs.optimizer_step`);
- teacher (knowledge distillation only): the teacher's own copy of the groups the
  student trains (frozen groups are shared) and its logits for one batch.

The job's peak, for its largest batch, is the largest event of the step's allocation
timeline (`snakesim.learning.costs.timeline`): gradients appear group by group during
the backward while activations are freed, and the optimizer step adds its scratch.
What differs per device (dropout masks, grouped-query K/V, the optimizer's multi-tensor
scratch, cuBLAS workspaces) follows `snakesim.learning.costs.rules`; allocator
fragmentation is not modelled (checked against ``torch.cuda.max_memory_allocated`` by
``benchmarks/gpu_step_check.py``).

Work per phase (`train_phases`): forward, backward and the optimizer update, each as
FLOPs, bytes moved and kernels, for the roofline time model
(`snakesim.network.roofline`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import torch

from snakesim.learning.costs.breakdown import MemoryBreakdown, StepCost, tensor_bytes
from snakesim.learning.costs.counting import NO_WORK, Work
from snakesim.learning.costs.optimizer_step import (
    optimizer_slots,
    optimizer_work,
    scratch_bytes,
)
from snakesim.learning.costs.precision import (
    Precision,
    half_copy_bytes,
    half_probe_model,
    stored_bytes,
)
from snakesim.learning.costs.probe import GroupProber, probe_copy
from snakesim.learning.costs.rules import GENERIC, DeviceRules
from snakesim.learning.costs.timeline import Event, step_timeline
from snakesim.learning.models.stack import LayerStack, ModelFactory
from snakesim.learning.objective import Objective


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
    loss_fp32
        The loss is computed on the logits upcast to fp32 (a Hugging Face-style loss);
        default: in the compute dtype, as snakesim's training does.
    hold_logits
        The training loop keeps the logits until the optimizer step is done; default:
        released once the loss is computed, as snakesim's training does.
    """

    def __init__(self, factory: ModelFactory, input_shape: Sequence[int], optimizer: str,
                 momentum: float, *, weight_decay: float = 0.0,
                 objective: Objective | None = None,
                 precision: Precision | None = None, checkpointing: bool = False,
                 loss_fp32: bool = False, hold_logits: bool = False) -> None:
        self.precision = precision or Precision()
        self.objective = objective or Objective()
        self.checkpointing = checkpointing
        self.loss_fp32, self.hold_logits = loss_fp32, hold_logits
        self._optimizer = (optimizer, momentum, weight_decay)
        with torch.device("meta"):
            self._model: LayerStack = factory()
        self._model.to(self.precision.param_dtype)
        # Activations are probed at the compute dtype (see `half_probe_model`).
        self._probe_model = probe_copy(half_probe_model(self._model, self.precision),
                                       self.objective, input_shape)
        self._input_shape = tuple(input_shape)
        self._slots = optimizer_slots(optimizer, momentum)
        self._steps: dict[tuple[tuple[int, ...], int, DeviceRules], StepCost] = {}
        self._updates: dict[tuple[tuple[int, ...], bool], Work] = {}
        self._memories: dict[tuple[object, ...], MemoryBreakdown] = {}
        self._forwards: dict[tuple[int, int], StepCost] = {}
        self._half_bytes: dict[int, int] = {}
        self._prober = GroupProber(self._probe_model, self.objective, self._input_shape,
                                   loss_fp32=loss_fp32)
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

    def step(self, trainable: Sequence[int], batch_size: int,
             rules: DeviceRules = GENERIC) -> StepCost:
        """FLOPs and saved activations of one step training ``trainable`` groups.

        With gradient checkpointing, FLOPs include the recomputed block forwards and
        activations follow the checkpointed account (see the module docstring).
        Saved bytes follow the device ``rules`` (`snakesim.learning.costs.rules`).
        """
        key = (tuple(sorted(trainable)), batch_size, rules)
        if key not in self._steps:
            cost = self._probe(key[0], batch_size, rules)
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
        forwards = self._prober.forward_work(batch_size)
        recompute = sum((forwards[i] for i in blocks), NO_WORK)
        return StepCost(cost.flops + recompute.flops,
                        cost.activation_bytes - inside + kept + largest,
                        cost.group_saved, cost.group_output, cost.forward,
                        cost.backward + recompute)

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
               frozen_dtype: str = "fp32", rules: DeviceRules = GENERIC) -> MemoryBreakdown:
        """Peak memory of training ``trainable`` groups with batches of ``batch_size``.

        ``frozen_dtype`` is the format the node holds its frozen groups in (trainable
        groups stay as stored); ``rules`` are the node's device rules. The peak is the
        largest event of the step's allocation timeline
        (`snakesim.learning.costs.timeline`). Cached: every client of a round asks.
        """
        key = (tuple(sorted(set(trainable))), batch_size, teacher, frozen_dtype, rules)
        if key not in self._memories:
            self._memories[key] = self._memory(list(key[0]), batch_size, teacher,
                                               frozen_dtype, rules)
        return self._memories[key]

    def _memory(self, chosen: list[int], batch_size: int, teacher: bool, frozen_dtype: str,
                rules: DeviceRules) -> MemoryBreakdown:
        grads = [self._param_bytes[i] if i in chosen else 0 for i in range(self.n_groups)]
        trained = sum(grads)
        weights = self._unlisted_bytes + sum(
            self.group_bytes(i, "fp32" if i in chosen else frozen_dtype)
            for i in range(self.n_groups))
        if self.precision.mixed and chosen:
            weights += self._half_copies(chosen[0])
        sample = self.objective.sample_bytes(self._input_shape)
        teacher_weights = teacher_logits = 0
        if teacher:
            teacher_weights = sum(self._group_bytes[i] for i in chosen)
            teacher_logits = self.forward(chosen[0], batch_size).activation_bytes
        step = self.step(chosen, batch_size, rules)
        output = step.group_output[-1] if step.group_output and chosen else 0
        # The gradients at the loss: of the loss's input (fp32 when upcast) and of the
        # logits (at the compute dtype).
        loss_input = 2 * output if self.loss_fp32 and self.precision.compute_dtype != \
            torch.float32 else output
        held = output if self.hold_logits else 0
        scratch = scratch_bytes(self._trained_tensor_bytes(chosen), *self._optimizer[::2],
                                foreach=rules.foreach)
        breakdown = MemoryBreakdown(
            weights=weights, gradients=trained, optimizer=self._slots * trained,
            activations=step.activation_bytes, batch=batch_size * sample,
            teacher=teacher_weights + teacher_logits, output_gradient=output + loss_input,
            step_buffers=scratch, workspace=rules.workspace_bytes, held_logits=held)
        if not chosen:
            return breakdown
        resident = (weights + self._slots * trained + batch_size * sample + teacher_weights
                    + rules.workspace_bytes)
        if self.checkpointing and any(i >= chosen[0] for i in self._model.block_groups):
            # Checkpointed blocks free and re-save their activations while the backward
            # runs; the account is the conservative one: every gradient and all the
            # kept activations at once.
            everything = (resident + held + step.activation_bytes + trained + output
                          + loss_input + teacher_logits)
            events: tuple[Event, ...] = (
                Event("backward", everything),
                Event("optimizer step", resident + held + trained + scratch))
        else:
            extra: tuple[Event, ...] = ()
            if teacher:
                # The teacher runs after the student's forward: everything the student
                # saved and its logits are alive.
                inputs = self._prober.inputs(batch_size)
                peaks = self._prober.nograd_peaks(batch_size)
                run = max(inputs[i].untyped_storage().nbytes() + peaks[i]
                          for i in range(chosen[0], self.n_groups))
                extra = (Event("teacher forward", resident + step.activation_bytes
                               + output + run),)
            events = step_timeline(resident, chosen[0], step.forward_events,
                                   step.backward_events, grads, scratch, held,
                                   teacher_logits, extra)
        return replace(breakdown, timeline=events)

    def _trained_tensor_bytes(self, chosen: Sequence[int]) -> list[int]:
        return [p.numel() * p.element_size() for i in chosen
                for p in self._model.owned_parameters(i)]

    def update_work(self, trainable: Sequence[int], foreach: bool) -> Work:
        """Work of one optimizer update of ``trainable`` groups (parameters, gradients and
        states read and written; `snakesim.learning.costs.optimizer_step`)."""
        key = (tuple(sorted(set(trainable))), foreach)
        if key not in self._updates:
            shapes = [(p.shape, p.dtype) for i in key[0]
                      for p in self._model.owned_parameters(i)]
            device = next(iter(self._probe_model.parameters())).device
            self._updates[key] = optimizer_work(shapes, self._optimizer[0],
                                                *self._optimizer[1:], foreach=foreach,
                                                device=device)
        return self._updates[key]

    def train_phases(self, trainable: Sequence[int], n_samples: int, batch_size: int,
                     epochs: int, teacher: bool = False,
                     rules: DeviceRules = GENERIC) -> tuple[Work, Work, Work]:
        """Forward, backward and optimizer-update work of a whole training job.

        ``epochs`` passes over ``n_samples`` in batches (the last one partial); the
        teacher's forward (distillation) counts with the forward.
        """
        full, rest = divmod(n_samples, batch_size)
        forward = backward = update = NO_WORK
        one_update = self.update_work(trainable, rules.foreach)
        for size, count in ((batch_size, full), (rest, int(rest > 0))):
            if not count:
                continue
            step = self.step(trainable, size, rules)
            forward += count * step.forward
            backward += count * step.backward
            update += count * one_update
            if teacher:
                forward += count * self.forward(min(trainable), size).forward
        return epochs * forward, epochs * backward, epochs * update

    def _half_copies(self, first: int) -> int:
        """Bytes of the half-precision weight copies autocast keeps during a step.

        See `half_copy_bytes`; from the first trained group on (trained or frozen: the
        input's gradient needs the copy too).
        """
        if first not in self._half_bytes:
            self._half_bytes[first] = half_copy_bytes(list(self._model.groups[first:]))
        return self._half_bytes[first]

    def _probe(self, trainable: tuple[int, ...], batch_size: int,
               rules: DeviceRules) -> StepCost:
        chain = self._prober.step(trainable, batch_size, rules)
        return StepCost(chain.flops, chain.saved, chain.group_saved, chain.group_output,
                        chain.forward, chain.backward, chain.forward_events,
                        chain.backward_events)

    def _probe_forward(self, start: int, batch_size: int) -> StepCost:
        out = self._prober.inputs(batch_size)[-1]
        work = sum(self._prober.forward_work(batch_size)[start:], NO_WORK)
        return StepCost(work.flops, out.numel() * out.element_size(), forward=work)
