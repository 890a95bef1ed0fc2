"""Live tensor bytes while a block of PyTorch code runs, and their peak.

`LiveBytes` is a dispatch mode that sees every tensor an ATen operator creates (a
storage none of its arguments share) and is told when the storage dies (a weak-reference
finalizer: PyTorch keeps one Python object per storage for as long as the storage
lives). It works on the ``meta`` device, where there is no allocator to ask: the probes
read from it what a group's forward and backward allocate at their peak, temporaries
included, which the saved activations alone do not show (a convolution's output before
its pooling, the gradient buffers of a loss). Allocations inside kernels that do not
produce tensors (im2col buffers of CPU convolutions, cuDNN workspaces) are not seen.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten


def _storages(tree: Any) -> list[torch.UntypedStorage]:
    return [t.untyped_storage() for t in tree_flatten(tree)[0] if isinstance(t, torch.Tensor)]


class LiveBytes(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Track the bytes of the storages created inside the mode (module docstring).

    Attributes
    ----------
    live
        Bytes of the tracked storages alive now.
    peak
        The most bytes alive since the mode started or since `reset_peak`.
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.live = 0
        self.peak = 0
        self._tracked: dict[int, int] = {}

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        return False  # never compiled (see `snakesim.learning.costs.counting`)

    def reset_peak(self) -> None:
        """Start a new peak from the bytes alive now."""
        self.peak = self.live

    def _free(self, key: int) -> None:
        self.live -= self._tracked.pop(key, 0)

    def __torch_dispatch__(self, func: torch._ops.OpOverload, types: Sequence[type],
                           args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        existing = {s._cdata for s in _storages((args, kwargs))}
        for storage in _storages(out):
            key = storage._cdata
            if key in existing or key in self._tracked:
                continue
            self._tracked[key] = storage.nbytes()
            self.live += storage.nbytes()
            weakref.finalize(storage, self._free, key)
        self.peak = max(self.peak, self.live)
        return out
