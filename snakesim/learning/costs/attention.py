"""Attention as GPUs and fused CPU kernels run it, for cost probes on the meta device.

On the ``meta`` device `torch.nn.functional.scaled_dot_product_attention` falls back to
its math decomposition, which keeps the full ``length x length`` attention matrix for
backward. The fused kernels a real run uses (memory-efficient and flash attention on
CUDA, the flash kernel on CPU) keep only the inputs, the output and a log-sum-exp row
per query. `FusedAttention` is a torch-function mode that, inside a probe, sends meta
attention to ATen's memory-efficient kernel, whose meta implementation and backward
formula save exactly that, so probed activations and FLOPs match the real kernels.
Grouped-query attention in fp32 has no fused CUDA kernel and keeps the math path.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import torch
from torch.nn import functional
from torch.overrides import TorchFunctionMode


def _fused(query: torch.Tensor, key: torch.Tensor, value: torch.Tensor,
           attn_mask: torch.Tensor | None = None, dropout_p: float = 0.0,
           is_causal: bool = False, scale: float | None = None,
           enable_gqa: bool = False) -> torch.Tensor:
    if key.shape[-3] != query.shape[-3]:  # grouped-query attention: share k/v heads
        repeat = query.shape[-3] // key.shape[-3]
        key = key.repeat_interleave(repeat, dim=-3)
        value = value.repeat_interleave(repeat, dim=-3)
    grad = torch.is_grad_enabled() and any(
        t.requires_grad for t in (query, key, value))
    out: torch.Tensor = torch.ops.aten._scaled_dot_product_efficient_attention(
        query, key, value, attn_mask, grad, dropout_p, is_causal, scale=scale)[0]
    return out


class FusedAttention(TorchFunctionMode):
    """Route meta-device scaled-dot-product attention to the fused kernel's formula."""

    def __torch_function__(self, func: Callable[..., Any], types: Sequence[type],
                           args: Sequence[Any] = (),
                           kwargs: Mapping[str, Any] | None = None) -> Any:
        kwargs = kwargs or {}
        if func is functional.scaled_dot_product_attention and args and args[0].is_meta:
            query, key = args[0], (args[1] if len(args) > 1 else kwargs["key"])
            # No fused CUDA kernel takes grouped-query attention in fp32 (flash needs a
            # half format, memory-efficient equal head counts): PyTorch falls back to
            # the math kernel, which keeps the attention matrix. Probe it as such.
            if query.dtype == torch.float32 and key.shape[-3] != query.shape[-3]:
                return func(*args, **kwargs)
            return _fused(*args, **kwargs)
        return func(*args, **kwargs)
