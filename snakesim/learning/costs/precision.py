"""Number formats for resident frozen weights: their size and their real rounding error.

A node that only trains some layer groups may hold the others (frozen) in a smaller
format. Two things follow and both are modelled: the bytes (memory, storage and any
transfer of a frozen group) and the accuracy (the frozen values a node computes with are
the rounded ones). Formats:

- ``fp32``: as stored (no change);
- ``fp16``, ``bf16``: 2 bytes per element; values are cast and cast back;
- ``int8``: symmetric per-tensor quantisation, ``q = round(x / s)`` clamped to
  ``[-127, 127]`` with ``s = max|x| / 127``: 1 byte per element plus one fp32 scale
  per tensor.

Only floating-point tensors (parameters and floating buffers) change; integer buffers
are kept as stored. Rounding is idempotent (rounding a rounded tensor gives it back, up
to the last bit of the int8 scale), so a group rounded once stays what it was.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import nn

from snakesim.learning.models.stack import LayerStack

FORMATS = ("fp32", "fp16", "bf16", "int8")
_CAST = {"fp16": torch.float16, "bf16": torch.bfloat16}
_SCALE_BYTES = 4  # one fp32 scale per int8 tensor


def stored_bytes(tensor: torch.Tensor, fmt: str = "fp32") -> int:
    """Bytes of ``tensor`` held in format ``fmt`` (see the module docstring)."""
    if fmt == "fp32" or not tensor.is_floating_point():
        return tensor.numel() * tensor.element_size()
    if fmt in _CAST:
        return tensor.numel() * 2
    if fmt == "int8":
        return tensor.numel() + _SCALE_BYTES
    raise ValueError(f"unknown number format {fmt!r} (known: {', '.join(FORMATS)})")


def round_through(tensor: torch.Tensor, fmt: str) -> torch.Tensor:
    """``tensor`` as a node holding it in ``fmt`` computes with it (same dtype as given)."""
    if fmt == "fp32" or not tensor.is_floating_point():
        return tensor
    if fmt in _CAST:
        return tensor.to(_CAST[fmt]).to(tensor.dtype)
    if fmt == "int8":
        if tensor.is_meta:  # cost-only runs: no values to round
            return tensor
        scale = tensor.detach().abs().max() / 127
        if scale == 0:
            return tensor.clone()
        return (torch.clamp(torch.round(tensor / scale), -127, 127) * scale).to(tensor.dtype)
    raise ValueError(f"unknown number format {fmt!r} (known: {', '.join(FORMATS)})")


def round_state(state: Mapping[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """Every tensor of ``state`` rounded through ``fmt``."""
    return {k: round_through(v, fmt) for k, v in state.items()}


_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}
TRAINING_DTYPES = tuple(_DTYPES)


@dataclass(frozen=True)
class Precision:
    """The number formats of training, with the master-weight convention made explicit.

    - ``fp32``: parameters, gradients, optimizer state and activations in fp32.
    - ``bf16`` / ``fp16`` with ``master_weights`` (mixed precision, Micikevicius et al.
      2018, as ``torch.autocast`` does it): parameters, gradients and optimizer state
      stay fp32 (the master copy); matmuls run in the half format, so activations are
      half and autocast keeps a half copy of each trainable weight during the step;
      fp16 adds loss scaling (``torch.amp.GradScaler``) against gradient underflow.
    - ``bf16`` / ``fp16`` without master weights ("pure" half): parameters, gradients,
      optimizer state and activations all in the half format.
    """

    dtype: str = "fp32"
    master_weights: bool = True

    def __post_init__(self) -> None:
        if self.dtype not in _DTYPES:
            raise ValueError(f"unknown training dtype {self.dtype!r} "
                             f"(known: {', '.join(TRAINING_DTYPES)})")

    @property
    def mixed(self) -> bool:
        """Half-format compute over fp32 master weights (autocast)."""
        return self.dtype != "fp32" and self.master_weights

    @property
    def param_dtype(self) -> torch.dtype:
        """The dtype parameters, gradients and optimizer state are stored in."""
        return torch.float32 if self.master_weights else _DTYPES[self.dtype]

    @property
    def compute_dtype(self) -> torch.dtype:
        """The dtype of matmuls and activations."""
        return _DTYPES[self.dtype]


FP32 = Precision()
"""Plain fp32 training."""


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
