"""The costs of split training: FLOPs per side, bytes at the cut and memory per side.

Costs (`SplitCosts`) are probed once per batch size on a ``meta``-device copy of the
model, like `snakesim.learning.costs.model`: FLOPs of the client forward, the server
forward and backward, and the client backward are counted separately with
`snakesim.learning.costs.counting.OpCounter` (they add up to the FLOPs of the whole
model's step); the activation and gradient tensors at the cut give the bytes sent;
`saved_tensors_hooks` gives each side's saved activations. Memory model per side (bytes
at the stored dtype):

- client: its part's weights, gradients and optimizer state; activations saved by its
  forward (the cut output included); the batch (inputs and labels); the buffer for the
  gradient it receives;
- server: ``copies`` x (its part's weights and optimizer state) -- a SplitFed v1 server
  keeps one server-side copy per client for a round -- plus one set of gradients (the
  server computes one batch at a time); activations saved by its forward; the received
  activations, their gradient and the labels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from snakesim.learning.costs.attention import FusedAttention
from snakesim.learning.costs.breakdown import MemoryBreakdown, tensor_bytes
from snakesim.learning.costs.counting import OpCounter
from snakesim.learning.costs.optimizer_step import optimizer_slots
from snakesim.learning.costs.precision import FP32, Precision, half_copy_bytes, half_probe_model
from snakesim.learning.costs.probe import probe_copy, saved_storages
from snakesim.learning.models.stack import LayerStack
from snakesim.learning.objective import CLASSIFICATION, Objective
from snakesim.learning.split import check_cut, client_backward, client_forward, server_step


@dataclass(frozen=True)
class SplitStepCost:
    """Cost of one split training step for one batch."""

    client_forward_flops: float
    server_flops: float
    client_backward_flops: float
    activation_bytes: int
    """The activations at the cut (client -> server)."""
    label_bytes: int
    """The batch's labels (client -> server, with the activations)."""
    gradient_bytes: int
    """The gradient at the cut (server -> client)."""
    client_saved_bytes: int
    server_saved_bytes: int

    @property
    def upload_bytes(self) -> int:
        """What the client sends per batch: activations and labels."""
        return self.activation_bytes + self.label_bytes

    @property
    def flops(self) -> float:
        """FLOPs of the whole step, both sides."""
        return self.client_forward_flops + self.server_flops + self.client_backward_flops


@dataclass(frozen=True, slots=True)
class StepJob:
    """One side's share of one batch, as the fabric schedules it (no real work).

    ``groups`` are the layer groups that side trains (the client or the server part).
    """

    flops: float
    peak_memory_bytes: int
    samples: int
    groups: tuple[int, ...] = ()

    def accepted(self) -> None:
        """Nothing to do: the real split work runs in `snakesim.learning.split`."""


class SplitCosts:
    """FLOPs, bytes and memory of split steps at ``cut``, probed once per batch size.

    Parameters
    ----------
    model
        The model (a meta-device copy is made; its values do not matter).
    input_shape
        Shape of one input sample.
    cut
        Number of layer groups on the client side.
    optimizer, momentum
        Decide the optimizer-state bytes per trainable parameter.
    objective
        The task: its loss, and what the server needs as targets (labels, or the token
        sequence for a causal LM).
    precision
        Training number formats, charged as `snakesim.learning.costs.model.CostModel` charges
        them: parameters, gradients and optimizer state at the parameter dtype; the
        activations (the cut tensors included) probed at the compute dtype; under mixed
        precision each side also holds the half copies of its matmul weights.
    """

    def __init__(self, model: LayerStack, input_shape: Sequence[int], cut: int,
                 optimizer: str, momentum: float, objective: Objective = CLASSIFICATION,
                 precision: Precision = FP32) -> None:
        self.objective = objective
        check_cut(cut, len(model))
        self._model = model.meta_copy().to(precision.param_dtype)
        self._probe_model = probe_copy(half_probe_model(self._model, precision),
                                       objective, input_shape)
        self.precision = precision
        self.cut = cut
        self._input_shape = tuple(input_shape)
        self._slots = optimizer_slots(optimizer, momentum)
        state = self._model.state_dict()
        self.client_bytes = tensor_bytes({k: v for k, v in state.items()
                                          if self._model.group_of(k) < cut})
        """Bytes of the client part's parameters and buffers (what a hand-off sends)."""
        self.server_bytes = tensor_bytes(state) - self.client_bytes
        """Bytes of the server part's parameters and buffers."""
        groups = self._model.groups
        # A weight tied across the cut (embeddings and LM head) is the client's; the
        # server holds its own copy to compute with (charged as weights, not trained).
        named = dict(self._model.named_parameters(remove_duplicate=False))
        for alias, owner in self._model.aliases.items():
            if self._model.group_of(alias) >= cut > self._model.group_of(owner):
                self.server_bytes += tensor_bytes([named[alias]])
        self._client_params = tensor_bytes([p for i in range(cut)
                                            for p in self._model.owned_parameters(i)])
        self._server_params = tensor_bytes([p for i in range(cut, len(groups))
                                            for p in self._model.owned_parameters(i)])
        # Mixed precision: each side trains all its groups, so autocast keeps a half copy
        # of each of its matmul weights (a weight tied across the cut: on both sides).
        self._client_half = self._server_half = 0
        if precision.mixed:
            self._client_half = half_copy_bytes(list(groups[:cut]))
            self._server_half = half_copy_bytes(list(groups[cut:]))
        self._steps: dict[int, SplitStepCost] = {}

    def step(self, batch_size: int) -> SplitStepCost:
        """The cost of one step on a batch of ``batch_size`` samples (cached)."""
        cost = self._steps.get(batch_size)
        if cost is None:
            cost = self._steps[batch_size] = self._probe(batch_size)
        return cost

    def client_memory(self, batch_size: int) -> MemoryBreakdown:
        """Peak memory of the client's side of a step (see module docstring)."""
        s = self.step(batch_size)
        sample = self.objective.sample_bytes(self._input_shape)
        return MemoryBreakdown(weights=self.client_bytes + self._client_half,
                               gradients=self._client_params,
                               optimizer=self._slots * self._client_params,
                               activations=s.client_saved_bytes,
                               batch=batch_size * sample + s.gradient_bytes)

    def server_memory(self, batch_size: int, copies: int = 1) -> MemoryBreakdown:
        """Peak memory of the server's side of a step with ``copies`` server-side models."""
        s = self.step(batch_size)
        # One set of half copies: the server computes one batch at a time.
        return MemoryBreakdown(weights=copies * self.server_bytes + self._server_half,
                               gradients=self._server_params,
                               optimizer=copies * self._slots * self._server_params,
                               activations=s.server_saved_bytes,
                               batch=s.activation_bytes + s.gradient_bytes + s.label_bytes)

    def _probe(self, batch_size: int) -> SplitStepCost:
        model, cut = self._probe_model, self.cut
        model.set_trainable(range(len(model)))
        device = next(iter(model.parameters())).device
        x, y = self.objective.example(batch_size, self._input_shape, device=device)
        params = list(model.parameters())
        # Attention is probed as the fused kernels run it (`snakesim.learning.costs.attention`).
        with torch.random.fork_rng(devices=[]):  # dropout on real CPU tensors
            with OpCounter() as c_fwd, FusedAttention(), \
                    saved_storages((*params, x, y)) as client_saved:
                h, sent = client_forward(model, x, cut)
            with OpCounter() as s_step, FusedAttention(), \
                    saved_storages((*params, x, y, sent)) as server_saved:
                server_step(model, sent, x, y, cut, self.objective)
            grad = sent.grad
            assert grad is not None
            with OpCounter() as c_bwd, FusedAttention():
                client_backward(h, grad)
        model.zero_grad(set_to_none=True)
        return SplitStepCost(
            client_forward_flops=c_fwd.flops,
            server_flops=s_step.flops,
            client_backward_flops=c_bwd.flops,
            activation_bytes=tensor_bytes([sent]),
            label_bytes=tensor_bytes([x if self.objective.kind == "causal_lm" else y]),
            gradient_bytes=tensor_bytes([grad]), client_saved_bytes=sum(client_saved.values()),
            server_saved_bytes=sum(server_saved.values()))
