"""Hugging Face causal language models as layer stacks.

A decoder-only transformer is cut where Snake Learning cuts it: the embeddings form the
input group, each decoder block a group, and the final norm with the LM head the output
group. The groups wrap the model's own modules (same parameters, same forward code),
so a `LayerStack` computes exactly what the Hugging Face model computes; the families
supported are OPT, Llama (and Llama-shaped models: Mistral, Qwen2) and GPT-2.

Tied input and output embeddings (OPT, GPT-2 and many small models) stay one tensor:
the LM head's weight is the embedding's, owned by the input group (see `LayerStack`).

Attention runs through PyTorch's ``scaled_dot_product_attention`` and every sequence
is a packed full-length sequence, so no padding mask is needed, only the causal one.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from snakesim.errors import ConfigurationError, MissingDependencyError
from snakesim.learning.models.stack import LayerStack

FAMILIES = ("opt", "llama", "mistral", "qwen2", "gpt2")
"""``model_type`` values of the configs this module can cut into groups."""


def require_transformers(purpose: str) -> Any:
    """Import ``transformers`` or say which extra installs it."""
    try:
        import transformers
    except ImportError as exc:  # pragma: no cover - exercised without the extra only
        raise MissingDependencyError("transformers", "llm", purpose) from exc
    return transformers


def _positions(h: torch.Tensor) -> torch.Tensor:
    return torch.arange(h.shape[1], device=h.device).unsqueeze(0)


class Embeddings(nn.Module):
    """The input group: token (and learned position) embeddings."""

    def __init__(self, family: str, tokens: nn.Module, positions: nn.Module | None = None,
                 project_in: nn.Module | None = None, dropout: nn.Module | None = None) -> None:
        super().__init__()
        self.family = family
        self.embed_tokens = tokens
        self.embed_positions = positions
        self.project_in = project_in
        self.drop = dropout

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Token ids (batch x length) to hidden states."""
        h = self.embed_tokens(ids)
        if self.family == "opt":
            assert self.embed_positions is not None
            mask = torch.ones(ids.shape, device=ids.device, dtype=torch.long)
            pos = self.embed_positions(mask, 0, position_ids=_positions(ids))
            if self.project_in is not None:
                h = self.project_in(h)
            h = h + pos
        elif self.embed_positions is not None:  # GPT-2's learned positions
            h = h + self.embed_positions(_positions(ids))
        if self.drop is not None:
            h = self.drop(h)
        out: torch.Tensor = h
        return out


class DecoderBlock(nn.Module):
    """One decoder block as a group, with its causal mask (and rotary positions).

    ``checkpointing`` recomputes the block's forward pass during backward instead of
    keeping its activations (non-reentrant `torch.utils.checkpoint`).
    """

    def __init__(self, layer: nn.Module, config: Any, rotary: nn.Module | None = None) -> None:
        super().__init__()
        self.layer = layer
        self.rotary = rotary
        self.checkpointing = False
        self._config = config

    def _run(self, h: torch.Tensor) -> torch.Tensor:
        from transformers.masking_utils import create_causal_mask

        positions = _positions(h)
        mask = create_causal_mask(config=self._config, inputs_embeds=h, attention_mask=None,
                                  cache=None)
        kwargs: dict[str, Any] = {"attention_mask": mask, "position_ids": positions}
        if self.rotary is not None:
            kwargs["position_embeddings"] = self.rotary(h, position_ids=positions)
        out = self.layer(h, **kwargs)
        hidden: torch.Tensor = out[0] if isinstance(out, tuple) else out
        return hidden

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Hidden states in, hidden states out."""
        if self.checkpointing and self.training and torch.is_grad_enabled():
            result: torch.Tensor = checkpoint(self._run, h, use_reentrant=False)
            return result
        return self._run(h)


class Head(nn.Module):
    """The output group: final norm (and projection) and the LM head."""

    def __init__(self, norm: nn.Module | None, lm_head: nn.Module,
                 project_out: nn.Module | None = None) -> None:
        super().__init__()
        self.norm = norm
        self.project_out = project_out
        self.lm_head = lm_head

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        """Hidden states to next-token logits."""
        if self.norm is not None:
            h = self.norm(h)
        if self.project_out is not None:
            h = self.project_out(h)
        logits: torch.Tensor = self.lm_head(h)
        return logits


def stack_causal_lm(model: Any) -> LayerStack:
    """Cut a Hugging Face causal LM into a `LayerStack` (sharing its parameters).

    Groups: ``embed``, ``block0`` .. ``block{n-1}``, ``head``.

    Raises
    ------
    ConfigurationError
        For a model family this module does not know how to cut.
    """
    config = model.config
    family = str(config.model_type)
    blocks: list[nn.Module]
    if family == "opt":
        dec = model.model.decoder
        embed = Embeddings("opt", dec.embed_tokens, dec.embed_positions, dec.project_in)
        blocks = [DecoderBlock(layer, config) for layer in dec.layers]
        head = Head(dec.final_layer_norm, model.lm_head, dec.project_out)
    elif family in ("llama", "mistral", "qwen2"):
        inner = model.model
        embed = Embeddings(family, inner.embed_tokens)
        blocks = [DecoderBlock(layer, config, inner.rotary_emb) for layer in inner.layers]
        head = Head(inner.norm, model.lm_head)
    elif family == "gpt2":
        tr = model.transformer
        embed = Embeddings("gpt2", tr.wte, tr.wpe, dropout=tr.drop)
        blocks = [DecoderBlock(layer, config) for layer in tr.h]
        head = Head(tr.ln_f, model.lm_head)
    else:
        raise ConfigurationError(f"model.lm: cannot cut a '{family}' model into layer "
                                 f"groups (known families: {', '.join(FAMILIES)})")
    names = ["embed", *(f"block{i}" for i in range(len(blocks))), "head"]
    stack = LayerStack([embed, *blocks, head], names)
    stack.block_groups = tuple(range(1, len(blocks) + 1))
    return stack


def set_checkpointing(stack: LayerStack, enabled: bool) -> None:
    """Turn gradient checkpointing of the stack's decoder blocks on or off."""
    for i in stack.block_groups:
        block = stack.groups[i]
        if isinstance(block, DecoderBlock):
            block.checkpointing = enabled
