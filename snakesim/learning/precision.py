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

from collections.abc import Mapping

import torch

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
        scale = tensor.detach().abs().max() / 127
        if scale == 0:
            return tensor.clone()
        return (torch.clamp(torch.round(tensor / scale), -127, 127) * scale).to(tensor.dtype)
    raise ValueError(f"unknown number format {fmt!r} (known: {', '.join(FORMATS)})")


def round_state(state: Mapping[str, torch.Tensor], fmt: str) -> dict[str, torch.Tensor]:
    """Every tensor of ``state`` rounded through ``fmt``."""
    return {k: round_through(v, fmt) for k, v in state.items()}
