"""Per-group cost probes on the meta device, composed into whole training steps.

A training step over a layer stack is a chain: groups before the first trained one run
without gradients; from the first trained group on, each group runs forward keeping
what autograd saves, then backward computes its input's gradient (every group after
the first trained one) and its weights' gradients (trained groups only). Every group's
share depends only on its own shapes and on those two switches, so `GroupProber`
probes each group once per ``(input gradient?, trained?, batch size)``, and identical
groups (a transformer's decoder blocks: same class, same parameter shapes, same input)
are probed once for all. That makes a step of a 32-block model cost one block's probe.

What each probe measures: the `Work` (FLOPs, bytes moved, kernels) of its forward and,
when gradients flow, of its backward, with `OpCounter`; and the storages
`saved_tensors_hooks` sees, split into the group's input, its output and everything
else (parameters excluded). Composing a chain counts the tensor between two groups once
even when both save it, so the sum equals a probe of the whole chain.

Probes run on the ``meta`` device (shapes only), except for small fp32 classifiers,
which `probe_copy` puts on real CPU tensors: for them a real step costs less than the
meta device's Python decompositions, and it saves a second of start-up per process
(meta operators import TorchDynamo). Both give the same FLOPs and saved bytes (tested);
bytes moved differ by the kernels each runs, so the choice depends only on the model,
never on the run's device, and simulated results stay the same everywhere.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from snakesim.learning.costs.attention import FusedAttention
from snakesim.learning.costs.counting import NO_WORK, OpCounter, Work
from snakesim.learning.costs.liveness import LiveBytes
from snakesim.learning.costs.rules import GENERIC, DeviceRules
from snakesim.learning.models.stack import LayerStack
from snakesim.learning.objective import Objective

# Small enough to probe on real CPU tensors (see the module docstring).
CPU_PROBE_PARAMETERS = 2_000_000
CPU_PROBE_SAMPLE = 4096


def probe_copy(model: LayerStack, objective: Objective,
               input_shape: Sequence[int]) -> LayerStack:
    """The copy of a meta-device ``model`` the probes run on: meta, or zeros on the CPU.

    Small fp32 classifiers (at most `CPU_PROBE_PARAMETERS` parameters and
    `CPU_PROBE_SAMPLE` values per sample) are probed on the CPU; everything else (LMs,
    whose attention the probe reroutes on meta, half formats, large models) on meta.
    """
    small = (objective.kind == "classification"
             and sum(p.numel() for p in model.parameters()) <= CPU_PROBE_PARAMETERS
             and torch.Size(tuple(input_shape)).numel() <= CPU_PROBE_SAMPLE
             and all(p.dtype == torch.float32 for p in model.parameters()))
    if not small:
        return model
    cpu = copy.deepcopy(model).to_empty(device="cpu")
    with torch.no_grad():
        for t in (*cpu.parameters(), *cpu.buffers()):
            t.zero_()
    return cpu


@contextmanager
def _own_rng(device: torch.device) -> Iterator[None]:
    # Dropout on real tensors draws from the global generator: leave it as it was.
    if device.type == "meta":
        yield
    else:
        with torch.random.fork_rng(devices=[]):
            yield


@dataclass(frozen=True)
class GroupCost:
    """One group's share of a training step."""

    forward: Work
    backward: Work
    saved_other: int
    """Bytes saved for backward other than the group's input and output."""
    saves_input: bool
    saves_output: bool
    input_bytes: int
    output_bytes: int
    mask_bytes: int = 0
    """Of ``saved_other``: dropout masks, at the probe's (input) dtype."""
    mask_elements: int = 0
    kv_expanded: int = 0
    """Of ``saved_other``: grouped-query K/V expanded to every head."""
    kv_grouped: int = 0
    """Bytes of those K/V unexpanded (saved instead where kernels keep them grouped)."""
    kv_gradient_excess: int = 0
    """Bytes by which the expanded K/V's gradients exceed the grouped ones' (the backward
    of a kernel that keeps K/V grouped never makes the expanded ones)."""
    forward_peak: int = 0
    """The most bytes the group's forward has alive (what it saves, its temporaries, its
    output; for the head, the loss's too)."""
    backward_peak: int = 0
    """The most bytes alive during its backward, its input and the gradient flowing in
    aside: what it saved (each while autograd keeps it), the gradients it makes and its
    temporaries (at the head, the loss's gradient buffers)."""

    @property
    def flops(self) -> float:
        """Forward and backward FLOPs."""
        return self.forward.flops + self.backward.flops

    def saved_under(self, rules: DeviceRules) -> int:
        """``saved_other`` as a device with ``rules`` keeps it."""
        saved = self.saved_other
        if rules.dropout_mask_bytes is not None:
            saved += self.mask_elements * rules.dropout_mask_bytes - self.mask_bytes
        if rules.grouped_kv:
            saved += self.kv_grouped - self.kv_expanded
        return saved


@dataclass(frozen=True)
class ChainCost:
    """A composed step: work per phase, saved bytes, per-group saved and output bytes."""

    forward: Work
    backward: Work
    saved: int
    group_saved: tuple[int, ...]
    group_output: tuple[int, ...]
    forward_events: tuple[int, ...] = ()
    """Per group: the most bytes alive while it runs forward (above the resident ones)."""
    backward_events: tuple[int, ...] = ()
    """Per group from the first trained one: the most bytes alive while it runs backward,
    its own gradients included, those of the groups after it aside (the timeline adds
    them, `snakesim.learning.costs.timeline`)."""

    @property
    def flops(self) -> float:
        """Forward and backward FLOPs."""
        return self.forward.flops + self.backward.flops


def _nbytes(t: torch.Tensor) -> int:
    return t.untyped_storage().nbytes()


@contextmanager
def saved_storages(excluded: Iterable[torch.Tensor]) -> Iterator[dict[int, int]]:
    """Record the distinct storages autograd saves for backward inside the block.

    Yields a dict ``storage id -> bytes`` that fills while the block runs; storages of
    ``excluded`` tensors (parameters, the batch) are left out.
    """
    skip = {t.untyped_storage()._cdata for t in excluded}
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage._cdata not in skip:
            saved[storage._cdata] = storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        yield saved


class GroupProber:
    """Probe the groups of a meta-device ``model`` (see the module docstring).

    ``loss_fp32`` computes the loss on the logits upcast to fp32, as a Hugging Face-style
    loss does (the fp32 copy is then what the loss saves).
    """

    def __init__(self, model: LayerStack, objective: Objective,
                 input_shape: Sequence[int], *, loss_fp32: bool = False) -> None:
        self._model = model
        self._loss_fp32 = loss_fp32
        self._objective = objective
        self._input_shape = tuple(input_shape)
        self._device = next(iter(model.parameters())).device
        self._inputs: dict[int, list[torch.Tensor]] = {}
        self._forward: dict[int, list[Work]] = {}
        self._nograd_peak: dict[int, list[int]] = {}
        self._costs: dict[tuple[object, ...], GroupCost] = {}
        # Groups are identical when their module trees print the same (types and
        # hyper-parameters) and their parameters have the same shapes and dtypes.
        named = [dict(g.named_parameters(remove_duplicate=False)) for g in model.groups]
        self._signature = [
            (repr(g), tuple((k, tuple(p.shape), p.dtype) for k, p in n.items()))
            for g, n in zip(model.groups, named, strict=True)]

    def _key(self, index: int, h: torch.Tensor) -> tuple[object, ...]:
        last = index == len(self._model) - 1  # the head also computes the loss
        return (self._signature[index], tuple(h.shape), h.dtype, last)

    def _example(self, batch_size: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self._objective.example(batch_size, self._input_shape, device=self._device)

    def inputs(self, batch_size: int) -> list[torch.Tensor]:
        """Probe tensors: the input of every group, then the model's output."""
        if batch_size not in self._inputs:
            model = self._model
            h, _ = self._example(batch_size)
            seen: dict[tuple[object, ...], tuple[torch.Tensor, Work, int]] = {}
            hs, works, peaks = [h], [], []
            with torch.no_grad(), FusedAttention(), _own_rng(self._device):
                for i in range(len(model)):
                    key = self._key(i, h)
                    if key not in seen:
                        with LiveBytes() as live, OpCounter() as counter:
                            out = model.forward_range(h, i, i + 1)
                        seen[key] = (out, counter.work, live.peak)
                    h, w, peak = seen[key]
                    hs.append(h)
                    works.append(w)
                    peaks.append(peak)
            self._inputs[batch_size] = hs
            self._forward[batch_size] = works
            self._nograd_peak[batch_size] = peaks
        return self._inputs[batch_size]

    def forward_work(self, batch_size: int) -> list[Work]:
        """No-grad forward work of each group."""
        self.inputs(batch_size)
        return self._forward[batch_size]

    def nograd_peaks(self, batch_size: int) -> list[int]:
        """Per group: the most bytes its no-grad forward has alive (its output included)."""
        self.inputs(batch_size)
        return self._nograd_peak[batch_size]

    def group(self, index: int, batch_size: int, input_grad: bool,
              trained: tuple[bool, ...], fused_fp32_gqa: bool = False) -> GroupCost:
        """The cost of group ``index`` in a step (forward with saving, and backward).

        ``trained`` says, per parameter of the group (tied ones included, in
        ``named_parameters(remove_duplicate=False)`` order), whether it gets a gradient.
        """
        h = self.inputs(batch_size)[index]
        key = (*self._key(index, h), input_grad, trained, batch_size, fused_fp32_gqa)
        if key not in self._costs:
            self._costs[key] = self._probe(index, batch_size, input_grad, trained,
                                           fused_fp32_gqa)
        return self._costs[key]

    def _mask(self, index: int) -> tuple[bool, ...]:
        group = self._model.groups[index]
        return tuple(p.requires_grad for _, p in group.named_parameters(remove_duplicate=False))

    def _probe(self, index: int, batch_size: int, input_grad: bool,
               trained: tuple[bool, ...], fused_fp32_gqa: bool) -> GroupCost:
        model = self._model
        model.set_trainable([])
        params = [p for _, p in model.groups[index].named_parameters(remove_duplicate=False)]
        for param, flag in zip(params, trained, strict=True):
            param.requires_grad_(flag or param.requires_grad)
        x, y = self._example(batch_size)
        h = self.inputs(batch_size)[index].detach().clone().requires_grad_(input_grad)
        last = index == len(model) - 1
        backward = NO_WORK
        with FusedAttention(fused_fp32_gqa) as attention, _own_rng(self._device), \
                LiveBytes() as live, saved_storages((*model.parameters(), x, y)) as saved:
            with OpCounter() as counter:
                out = model.forward_range(h, index, index + 1)
                logits = out.float() if self._loss_fp32 else out
                target = self._objective.loss(logits, x, y) if last else out
                del logits
            forward, random = counter.work, counter.random
            forward_peak = live.peak
            ids = {"in": h.untyped_storage()._cdata, "out": out.untyped_storage()._cdata}
            out_bytes = _nbytes(out)
            # Backward from a scalar root, and without a reference to the output: the
            # output then lives only as long as autograd keeps it (saved or not), as in
            # the chain. The gradient flowing in is the composition's (its size is the
            # output's); here it is a broadcast scalar, which takes no memory.
            root = target if last else target.sum()
            del out, target
            live.reset_peak()
            backward_peak = live.live
            if root.requires_grad:
                with OpCounter() as counter:
                    root.backward()  # type: ignore[no-untyped-call]
                backward = counter.work
                backward_peak = live.peak
            del root
        for p in model.parameters():
            p.grad = None
        model.set_trainable([])
        masks = [s for s in random if s in saved]
        kv_expanded = kv_grouped = kv_excess = 0
        for k, v, big_k, big_v in attention.grouped:
            kv_excess += _nbytes(big_k) + _nbytes(big_v) - _nbytes(k) - _nbytes(v)
            kv_expanded += sum(saved.get(t.untyped_storage()._cdata, 0) for t in (big_k, big_v))
            kv_grouped += sum(_nbytes(t) for t in (k, v)
                              if t.untyped_storage()._cdata not in saved)
        return GroupCost(
            forward, backward,
            sum(b for s, b in saved.items() if s not in ids.values()),
            ids["in"] in saved, ids["out"] in saved, _nbytes(h), out_bytes,
            sum(saved[s] for s in masks), sum(random[s] for s in masks),
            kv_expanded, kv_grouped, kv_excess, forward_peak, backward_peak)

    def step(self, trainable: Sequence[int], batch_size: int,
             rules: DeviceRules = GENERIC) -> ChainCost:
        """Compose the step that trains ``trainable`` groups, saved bytes by ``rules``."""
        n = len(self._model)
        chosen = set(trainable)
        first = min(chosen) if chosen else n
        forward = sum(self.forward_work(batch_size)[:first], NO_WORK)
        backward = NO_WORK
        # A tied parameter gets a gradient in every group that uses it when its owner
        # group is trained (an LM head tied to the embeddings).
        self._model.set_trainable(sorted(chosen))
        masks = [self._mask(i) for i in range(n)]
        group_saved = [0] * n
        outputs = [0] * n
        hs = self.inputs(batch_size)
        nograd = self.nograd_peaks(batch_size)
        fwd = [(_nbytes(hs[i]) if i > 0 else 0) + nograd[i] for i in range(n)]
        bwd = [0] * n
        previous_saves_output = False
        alive = 0  # saved by the groups before this one
        for i in range(first, n):
            c = self.group(i, batch_size, input_grad=i > first, trained=masks[i],
                           fused_fp32_gqa=rules.fused_fp32_gqa)
            forward += c.forward
            backward += c.backward
            delta = c.saved_under(rules) - c.saved_other
            own = c.saved_under(rules) + (c.output_bytes if c.saves_output else 0)
            # The input of the first group after the batch is the batch itself (counted
            # as such); between groups, a tensor both save is one storage.
            shared = i > first and previous_saves_output
            if c.saves_input and i > 0 and not shared:
                own += c.input_bytes
            group_saved[i] = own
            outputs[i] = c.output_bytes
            fwd[i] = alive + (c.input_bytes if i > 0 and not shared else 0) \
                + c.forward_peak + delta
            # Alive while it runs backward: what the groups before it saved, its saved
            # input (its saved output and the rest are in its probed peak), and the
            # gradient flowing in (the output's size; at the head, probed).
            saved_input = c.input_bytes if c.saves_input and i > 0 and not shared else 0
            flowing = 0 if i == n - 1 else c.output_bytes
            bwd[i] = (alive + saved_input + flowing + c.backward_peak + delta
                      - (c.kv_gradient_excess if rules.grouped_kv else 0))
            alive += own
            previous_saves_output = c.saves_output
        return ChainCost(forward, backward, sum(group_saved), tuple(group_saved),
                         tuple(outputs), tuple(fwd), tuple(bwd))
