"""Per-group cost probes on the meta device, composed into whole training steps.

A training step over a layer stack is a chain: groups before the first trained one run
without gradients; from the first trained group on, each group runs forward keeping
what autograd saves, then backward computes its input's gradient (every group after
the first trained one) and its weights' gradients (trained groups only). Every group's
share depends only on its own shapes and on those two switches, so `GroupProber`
probes each group once per ``(input gradient?, trained?, batch size)``, and identical
groups (a transformer's decoder blocks: same class, same parameter shapes, same input)
are probed once for all. That makes a step of a 32-block model cost one block's probe.

What each probe measures: FLOPs with `FlopCounterMode` (forward, and backward when
gradients flow), and the storages `saved_tensors_hooks` sees, split into the group's
input, its output and everything else (parameters excluded). Composing a chain counts
the tensor between two groups once even when both save it, so the sum equals a probe of
the whole chain.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch.utils.flop_counter import FlopCounterMode

from snakesim.learning.costs.attention import FusedAttention
from snakesim.learning.models.stack import LayerStack
from snakesim.learning.objective import Objective


@dataclass(frozen=True)
class GroupCost:
    """One group's share of a training step."""

    flops: float
    saved_other: int
    """Bytes saved for backward other than the group's input and output."""
    saves_input: bool
    saves_output: bool
    input_bytes: int
    output_bytes: int


@dataclass(frozen=True)
class ChainCost:
    """A composed step: FLOPs, saved bytes, and per-group saved and output bytes."""

    flops: float
    saved: int
    group_saved: tuple[int, ...]
    group_output: tuple[int, ...]


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
    """Probe the groups of a meta-device ``model`` (see the module docstring)."""

    def __init__(self, model: LayerStack, objective: Objective,
                 input_shape: Sequence[int]) -> None:
        self._model = model
        self._objective = objective
        self._input_shape = tuple(input_shape)
        self._inputs: dict[int, list[torch.Tensor]] = {}
        self._forward: dict[int, list[float]] = {}
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

    def inputs(self, batch_size: int) -> list[torch.Tensor]:
        """Meta tensors: the input of every group, then the model's output."""
        if batch_size not in self._inputs:
            model = self._model
            h, _ = self._objective.example(batch_size, self._input_shape)
            seen: dict[tuple[object, ...], tuple[torch.Tensor, float]] = {}
            hs, flops = [h], []
            with torch.no_grad(), FusedAttention():
                for i in range(len(model)):
                    key = self._key(i, h)
                    if key not in seen:
                        with FlopCounterMode(display=False) as counter:
                            out = model.forward_range(h, i, i + 1)
                        seen[key] = (out, float(counter.get_total_flops()))
                    h, f = seen[key]
                    hs.append(h)
                    flops.append(f)
            self._inputs[batch_size] = hs
            self._forward[batch_size] = flops
        return self._inputs[batch_size]

    def forward_flops(self, batch_size: int) -> list[float]:
        """No-grad forward FLOPs of each group."""
        self.inputs(batch_size)
        return self._forward[batch_size]

    def group(self, index: int, batch_size: int, input_grad: bool,
              trained: tuple[bool, ...]) -> GroupCost:
        """The cost of group ``index`` in a step (forward with saving, and backward).

        ``trained`` says, per parameter of the group (tied ones included, in
        ``named_parameters(remove_duplicate=False)`` order), whether it gets a gradient.
        """
        h = self.inputs(batch_size)[index]
        key = (*self._key(index, h), input_grad, trained, batch_size)
        if key not in self._costs:
            self._costs[key] = self._probe(index, batch_size, input_grad, trained)
        return self._costs[key]

    def _mask(self, index: int) -> tuple[bool, ...]:
        group = self._model.groups[index]
        return tuple(p.requires_grad for _, p in group.named_parameters(remove_duplicate=False))

    def _probe(self, index: int, batch_size: int, input_grad: bool,
               trained: tuple[bool, ...]) -> GroupCost:
        model = self._model
        model.set_trainable([])
        params = [p for _, p in model.groups[index].named_parameters(remove_duplicate=False)]
        for param, flag in zip(params, trained, strict=True):
            param.requires_grad_(flag or param.requires_grad)
        x, y = self._objective.example(batch_size, self._input_shape)
        h = self.inputs(batch_size)[index].detach().clone().requires_grad_(input_grad)
        last = index == len(model) - 1
        with FlopCounterMode(display=False) as counter, FusedAttention(), \
                saved_storages((*model.parameters(), x, y)) as saved:
            out = model.forward_range(h, index, index + 1)
            target = self._objective.loss(out, x, y) if last else out
            if target.requires_grad:
                grad = None if last else torch.empty_like(out)
                target.backward(grad)  # type: ignore[no-untyped-call]
        for p in model.parameters():
            p.grad = None
        model.set_trainable([])
        ids = {"in": h.untyped_storage()._cdata, "out": out.untyped_storage()._cdata}
        return GroupCost(
            float(counter.get_total_flops()),
            sum(b for s, b in saved.items() if s not in ids.values()),
            ids["in"] in saved, ids["out"] in saved, _nbytes(h), _nbytes(out))

    def step(self, trainable: Sequence[int], batch_size: int) -> ChainCost:
        """Compose the step that trains ``trainable`` groups."""
        n = len(self._model)
        chosen = set(trainable)
        first = min(chosen) if chosen else n
        forward = self.forward_flops(batch_size)
        flops = sum(forward[:first])
        # A tied parameter gets a gradient in every group that uses it when its owner
        # group is trained (an LM head tied to the embeddings).
        self._model.set_trainable(sorted(chosen))
        masks = [self._mask(i) for i in range(n)]
        group_saved = [0] * n
        outputs = [0] * n
        previous_saves_output = False
        for i in range(first, n):
            c = self.group(i, batch_size, input_grad=i > first, trained=masks[i])
            flops += c.flops
            own = c.saved_other + (c.output_bytes if c.saves_output else 0)
            # The input of the first group after the batch is the batch itself (counted
            # as such); between groups, a tensor both save is one storage.
            if c.saves_input and i > 0 and not (i > first and previous_saves_output):
                own += c.input_bytes
            group_saved[i] = own
            outputs[i] = c.output_bytes
            previous_saves_output = c.saves_output
        return ChainCost(flops, sum(group_saved), tuple(group_saved), tuple(outputs))
