"""Where a causal LM comes from: a shipped preset, a config file or pretrained weights.

Presets (``snakesim/learning/models/lm_configs/*.json``) are the published architecture
configs of OPT-125M, OPT-1.3B, Llama-3-8B and GPT-2, plus tiny OPT, Llama and GPT-2
shapes (byte-level vocabulary of 256) that train on two CPU cores. A config file is a
Hugging Face ``config.json`` (or a folder holding one); ``pretrained`` is a local folder
or a hub id whose weights are loaded (hub ids only resolve where the Hugging Face cache
or network has them; nothing is downloaded by snakesim itself).

A model built from a config is randomly initialised by Hugging Face's own initialiser
under a forked RNG seeded from the run, so the same seed gives the same model and the
global RNG is left untouched. On the ``meta`` device (cost probing, cost-only runs) no
memory is allocated and no weights are read.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from snakesim.errors import ConfigurationError
from snakesim.learning.data.text import looks_like_path
from snakesim.learning.models.lm import require_transformers, stack_causal_lm
from snakesim.learning.models.lm_presets import CONFIGS, PRESETS
from snakesim.learning.models.stack import LayerStack, ModelFactory


def preset_config(name: str) -> dict[str, Any]:
    """The config mapping of a shipped preset."""
    path = CONFIGS / f"{name}.json"
    if not path.is_file():
        raise ConfigurationError(f"model.lm.preset: unknown preset '{name}' "
                                 f"(known: {', '.join(PRESETS)})")
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def _config_file(path: str) -> dict[str, Any]:
    file = Path(path).expanduser()
    if file.is_dir():
        file = file / "config.json"
    if not file.is_file():
        raise ConfigurationError(f"model.lm.config: no such config file: {file}")
    try:
        data = json.loads(file.read_text())
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"model.lm.config: cannot read {file}: {exc}") from None
    if not isinstance(data, dict) or "model_type" not in data:
        raise ConfigurationError(f"model.lm.config: {file} is not a Hugging Face model "
                                 "config (it has no model_type)")
    return data


def load_lm_config(*, preset: str | None = None, config: str | None = None,
                   pretrained: str | None = None,
                   overrides: Mapping[str, Any] | None = None) -> Any:
    """The `transformers` config of a model, with ``overrides`` applied.

    Exactly one of ``preset``, ``config`` and ``pretrained`` is given (the schema checks
    that).
    """
    transformers = require_transformers("building a causal language model")
    if pretrained is not None and looks_like_path(pretrained) \
            and not Path(pretrained).expanduser().exists():
        raise ConfigurationError(f"model.lm.pretrained: no such folder: "
                                 f"{Path(pretrained).expanduser()} (give a model folder or "
                                 "a hub id in the Hugging Face cache)")
    try:
        if pretrained is not None:
            # local_files_only: a hub id resolves from the cache; snakesim never downloads.
            # trust_remote_code=False: a config.json asking for its own Python code
            # (auto_map) is refused, never executed.
            cfg = transformers.AutoConfig.from_pretrained(pretrained, local_files_only=True,
                                                          trust_remote_code=False)
            for key, value in (overrides or {}).items():
                setattr(cfg, key, value)
            return cfg
        data = preset_config(preset) if preset is not None else _config_file(str(config))
        data = {**data, **(overrides or {})}
        model_type = data.pop("model_type")
        return transformers.AutoConfig.for_model(model_type, **data)
    except ConfigurationError:
        raise
    except Exception as exc:  # transformers raises many types for a bad config
        key = "pretrained" if pretrained is not None else ("preset" if preset else "config")
        raise ConfigurationError(f"model.lm.{key}: cannot build the model config: "
                                 f"{str(exc).splitlines()[0]}") from None


def lm_factory(config: Any, *, seed: int, pretrained: str | None = None) -> ModelFactory:
    """A zero-argument constructor of the model as a `LayerStack`.

    Called under ``torch.device("meta")`` it builds the shapes only. Otherwise it loads
    ``pretrained`` weights, or initialises from ``seed``.
    """
    transformers = require_transformers("building a causal language model")

    def build() -> LayerStack:
        meta = torch.get_default_device().type == "meta"
        if pretrained is not None and not meta:
            try:
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    pretrained, config=config, attn_implementation="sdpa",
                    dtype=torch.float32, local_files_only=True, trust_remote_code=False,
                    weights_only=True)  # .bin checkpoints: torch's weights-only unpickler
            except OSError as exc:
                raise ConfigurationError(f"model.lm.pretrained: cannot load weights from "
                                         f"{pretrained}: {str(exc).splitlines()[0]}") from None
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                model = transformers.AutoModelForCausalLM.from_config(
                    config, attn_implementation="sdpa", dtype=torch.float32)
        return stack_causal_lm(model)

    return build


def max_positions(config: Any) -> int | None:
    """The longest sequence a model with learned positions accepts (None: no limit)."""
    for key in ("max_position_embeddings", "n_positions"):
        if hasattr(config, key):
            return int(getattr(config, key))
    return None
