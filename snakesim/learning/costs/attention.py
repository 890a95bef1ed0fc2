"""Attention as GPUs and fused CPU kernels run it, for cost probes on the meta device.

On the ``meta`` device `torch.nn.functional.scaled_dot_product_attention` falls back to
its math decomposition, which keeps the full ``length x length`` attention matrix for
backward. The fused kernels a real run uses (memory-efficient and flash attention on
CUDA, the flash kernel on CPU) keep only the inputs, the output and a log-sum-exp row
per query. `FusedAttention` is a torch-function mode that, inside a probe, sends meta
attention to ATen's memory-efficient kernel, whose meta implementation and backward
formula save exactly that, so probed activations and FLOPs match the real kernels.
Grouped-query attention in fp32 has no fused CUDA kernel and keeps the math path.

The meta kernel needs as many K/V heads as query heads, so grouped-query K/V are
expanded first; `FusedAttention.grouped` records each expansion, so that the memory
account of a device whose kernels keep K/V grouped can swap the expanded copies for the
grouped tensors (`snakesim.learning.costs.rules`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch.nn import functional
from torch.overrides import TorchFunctionMode


def _fused(grouped: list[tuple[torch.Tensor, ...]], query: torch.Tensor, key: torch.Tensor,
           value: torch.Tensor, attn_mask: torch.Tensor | None = None,
           dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
           enable_gqa: bool = False) -> torch.Tensor:
    if key.shape[-3] != query.shape[-3]:  # grouped-query attention: share k/v heads
        repeat = query.shape[-3] // key.shape[-3]
        expanded = (key.repeat_interleave(repeat, dim=-3),
                    value.repeat_interleave(repeat, dim=-3))
        grouped.append((key, value, *expanded))
        key, value = expanded
    grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (query, key, value))
    out: torch.Tensor = torch.ops.aten._scaled_dot_product_efficient_attention(
        query, key, value, attn_mask, grad, dropout_p, is_causal, scale=scale)[0]
    return out


class FusedAttention(TorchFunctionMode):
    """Route meta-device scaled-dot-product attention to the fused kernel's formula.

    Attributes
    ----------
    grouped
        ``(key, value, expanded key, expanded value)`` of every grouped-query call.

    ``fused_fp32_gqa`` sends fp32 grouped-query attention to the fused formula too (the
    CPU flash kernel takes it; CUDA's fused kernels do not).
    """

    def __init__(self, fused_fp32_gqa: bool = False) -> None:
        super().__init__()
        self.grouped: list[tuple[torch.Tensor, ...]] = []
        self._fused_fp32_gqa = fused_fp32_gqa

    def __torch_function__(self, func: Callable[..., Any], types: Sequence[type],
                           args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func is functional.scaled_dot_product_attention and args and args[0].is_meta:
            query, key = args[0], (args[1] if len(args) > 1 else kwargs["key"])
            # No fused CUDA kernel takes grouped-query attention in fp32 (flash needs a
            # half format, memory-efficient equal head counts): PyTorch falls back to
            # the math kernel, which keeps the attention matrix. Probe it as such.
            # (The CPU flash kernel does take it: ``fused_fp32_gqa``.)
            if query.dtype == torch.float32 and key.shape[-3] != query.shape[-3] \
                    and not self._fused_fp32_gqa:
                return func(*args, **kwargs)
            return _fused(self.grouped, *args, **kwargs)
        return func(*args, **kwargs)
