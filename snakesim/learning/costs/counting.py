"""Count the work of a piece of PyTorch code: FLOPs, bytes moved and kernels.

`OpCounter` is a torch dispatch mode that sees every ATen operator a block runs (on the
``meta`` device or on real CPU tensors) and adds up, per block:

- FLOPs, with PyTorch's own formulas (``torch.utils.flop_counter.flop_registry``:
  matmuls, convolutions, attention kernels), exactly as `FlopCounterMode` counts them;
- bytes moved: what every kernel reads (its tensor arguments) and writes (its outputs),
  the memory traffic of elementwise, normalisation and reduction work that FLOP counts
  leave out; views and metadata queries move nothing, and a broadcast (expanded)
  argument is read once, not once per use;
- kernels: the operators that run a kernel, for a per-launch overhead;
- streaming bytes: the part of the bytes moved by kernels without counted FLOPs
  (elementwise, normalisation, reductions, copies), which are bandwidth-bound;
- the storages filled by random draws (``bernoulli_``: dropout masks), so that a memory
  account can apply the mask format of the device (`snakesim.learning.costs.rules`).

It replaces `FlopCounterMode` for two reasons: the bytes and kernels, which a roofline
time model needs, and start-up time. `FlopCounterMode`'s dispatch handler is wrapped to
disable TorchDynamo, and calling it imports ``torch._dynamo`` (about a second per
process); this mode opts out of that wrapping because it is never compiled.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten
from torch.utils.flop_counter import flop_registry

aten = torch.ops.aten

# Queries FlopCounterMode also passes through untouched (they run no kernel).
_METADATA = {
    aten.sym_is_contiguous.default, aten.is_contiguous.default,
    aten.is_contiguous.memory_format, aten.is_strides_like_format.default,
    aten.is_non_overlapping_and_dense.default, aten.size.default, aten.sym_size.default,
    aten.stride.default, aten.sym_stride.default, aten.storage_offset.default,
    aten.sym_storage_offset.default, aten.numel.default, aten.sym_numel.default,
    aten.dim.default, torch.ops.prim.layout.default,
}
# Allocations that write nothing (their outputs are not traffic).
_ALLOCATIONS = {aten.empty.memory_format, aten.empty_like.default,
                aten.empty_strided.default, aten.new_empty.default,
                aten.new_empty_strided.default}


@dataclass(frozen=True)
class Work:
    """Work of a block of code: FLOPs, bytes read and written, kernels run."""

    flops: float = 0.0
    bytes: float = 0.0
    kernels: int = 0
    stream_bytes: float = 0.0
    """The part of ``bytes`` moved by kernels with no counted FLOPs."""

    def __add__(self, other: Work) -> Work:
        return Work(self.flops + other.flops, self.bytes + other.bytes,
                    self.kernels + other.kernels, self.stream_bytes + other.stream_bytes)

    def __mul__(self, factor: float) -> Work:
        return Work(self.flops * factor, self.bytes * factor,
                    round(self.kernels * factor), self.stream_bytes * factor)

    __rmul__ = __mul__


NO_WORK = Work()


def _traffic(t: torch.Tensor) -> int:
    # An expanded tensor is read from its (smaller) storage; a slice from its elements.
    return min(t.numel() * t.element_size(), t.untyped_storage().nbytes())


def _is_view(func: torch._ops.OpOverload) -> bool:
    returns = func._schema.returns
    return bool(returns) and all(
        r.alias_info is not None and not r.alias_info.is_write for r in returns)


class OpCounter(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Count `Work` of the code run inside the mode (see the module docstring).

    Attributes
    ----------
    flops, bytes, kernels, stream_bytes
        Running totals.
    random
        ``storage id -> elements`` of the tensors filled by ``bernoulli_`` (dropout).
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.flops = 0.0
        self.bytes = 0.0
        self.kernels = 0
        self.stream_bytes = 0.0
        self.random: dict[int, int] = {}

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        # Never compiled; the default wrapping imports TorchDynamo on first use.
        return False

    @property
    def work(self) -> Work:
        """The totals so far."""
        return Work(self.flops, self.bytes, self.kernels, self.stream_bytes)

    def __torch_dispatch__(self, func: torch._ops.OpOverload, types: Sequence[type],
                           args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func in _METADATA:
            return NotImplemented
        packet = func._overloadpacket
        if packet not in flop_registry and func is not torch.ops.prim.device.default:
            # As FlopCounterMode: count what a composite operator decomposes into.
            with self:
                result = func.decompose(*args, **kwargs)
                if result is not NotImplemented:
                    return result
        out = func(*args, **kwargs)
        formula: Callable[..., int] | None = flop_registry.get(packet)
        if formula is not None:
            self.flops += formula(*args, **kwargs, out_val=out)
        if packet is aten.bernoulli_ and isinstance(out, torch.Tensor):
            self.random[out.untyped_storage()._cdata] = out.numel()
        if not _is_view(func):
            self.kernels += 1
            reads = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
            writes = [] if func in _ALLOCATIONS else [
                t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]
            moved = sum(_traffic(t) for t in (*reads, *writes))
            self.bytes += moved
            if formula is None:
                self.stream_bytes += moved
        return out
