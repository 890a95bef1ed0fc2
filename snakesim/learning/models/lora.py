"""LoRA adapters on a layer stack (Hu et al., ICLR 2022), through ``peft``.

`with_lora` wraps a model constructor: the built stack carries rank-``r`` adapters on
the linear layers whose names end with one of ``targets``, and is marked
``adapter_only``, so training changes, and schemes exchange, only the adapters while
the base weights stay frozen.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from snakesim.errors import ConfigurationError, MissingDependencyError
from snakesim.learning.models.stack import LayerStack, ModelFactory


def with_lora(factory: ModelFactory, *, rank: int, alpha: int, dropout: float,
              targets: Sequence[str], seed: int) -> ModelFactory:
    """Wrap ``factory`` so the model carries LoRA adapters and trains only them.

    Raises
    ------
    MissingDependencyError
        Without ``peft`` (the ``llm`` extra).
    ConfigurationError
        When ``targets`` match no linear layer (raised when the model is built).
    """
    try:
        from peft import LoraConfig, inject_adapter_in_model
    except ImportError as exc:  # pragma: no cover - only without the extra
        raise MissingDependencyError("peft", "llm", "LoRA adapters (strategy.lora)") from exc
    config = LoraConfig(r=rank, lora_alpha=alpha, lora_dropout=dropout,
                        target_modules=list(targets))

    def build() -> LayerStack:
        stack = factory()
        try:
            # peft draws LoRA's A matrices from the global RNG: fork it, seeded.
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed + 1)
                inject_adapter_in_model(config, stack)
        except ValueError as exc:
            raise ConfigurationError(f"strategy.lora.targets: {str(exc).splitlines()[0]}") \
                from None
        stack.adapter_only = True
        stack.refresh_aliases()
        return stack

    return build
