"""What differs in a training step's memory from one kind of device to another.

The probes run on the ``meta`` device (or on small CPU tensors), whose kernels are
PyTorch's reference implementations. Real devices differ in a few known ways, and the
memory account applies the rules of the node's device:

==================  ==============================  ================================
rule                ``cpu`` (and phone ``soc``)     ``cuda``
==================  ==============================  ================================
dropout mask        input dtype (``input * noise``  1 byte per element (``bool``
                    with a float noise tensor)      mask of the fused kernel)
GQA attention       the flash kernel, fp32 and      half formats: the flash kernel,
                    half formats alike, keeps K/V   K/V kept grouped; fp32: the math
                    grouped                         kernel (no fused kernel takes
                                                    GQA in fp32), which expands K/V
                                                    and keeps the attention matrix
optimizer step      per-tensor loop: scratch of     multi-tensor (``foreach``):
                    the largest tensor              scratch of all trained tensors
kernel workspaces   none                            cuBLAS workspace (per chip)
==================  ==============================  ================================

``generic`` is the account of a node without an accelerator (a plain ``compute:``
node): meta-device dropout masks, CUDA's attention kernels with K/V expanded, the
multi-tensor optimizer scratch, no workspace (what snakesim charged before device
rules existed). PyTorch sources:
``at::dropout`` uses the fused ``native_dropout`` (bool mask) only on CUDA-like
devices; ``torch.optim`` defaults to ``foreach`` only when every tensor is on such a
device; the cuBLAS workspace size is ``getChosenWorkspaceSize`` in
``aten/src/ATen/cuda/CublasHandlePool.cpp``. Caching-allocator rounding (512-byte
blocks on CUDA) is not modelled: it is below 0.1 % for the tensors that matter.
"""

from __future__ import annotations

from dataclasses import dataclass

from snakesim.config.accelerators import Accelerator


@dataclass(frozen=True)
class DeviceRules:
    """The memory rules of one kind of device (see the module docstring)."""

    name: str
    dropout_mask_bytes: int | None
    """Bytes per mask element; ``None``: the input's element size."""
    grouped_kv: bool
    """Fused half-format attention keeps grouped-query K/V unexpanded."""
    foreach: bool
    """The optimizer steps all tensors at once (scratch for all of them)."""
    workspace_bytes: int = 0
    fused_fp32_gqa: bool = False
    """A fused kernel takes grouped-query attention in fp32 (else the math kernel)."""


GENERIC = DeviceRules("generic", None, False, True)
CPU = DeviceRules("cpu", None, True, False, fused_fp32_gqa=True)


def rules_for(accelerator: Accelerator | None) -> DeviceRules:
    """The rules of a node's accelerator (`GENERIC` without one)."""
    if accelerator is None:
        return GENERIC
    if accelerator.kind == "cuda":
        return DeviceRules(f"cuda:{accelerator.name}", 1, True, True,
                           accelerator.workspace_bytes)
    return DeviceRules(accelerator.kind, None, True, False, fused_fp32_gqa=True)
