"""How many layer groups a scenario's model has, known without building it.

Schemes address a model by its layer groups (Snake's explicit windows, the split cut,
the sliding window's width), so `validate` must know the count to check them. Each
model's count follows from its spec alone: a classifier's from its description
(`snakesim.learning.models.stack.CLASSIFIERS`: fixed, or for the MLP one per hidden
layer plus the head), a causal LM's from its decoder blocks plus the embeddings and the
head (the block count read from the config's JSON, without importing transformers).
`tests/unit/test_presets.py` checks each classifier's count against the built
`LayerStack`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from snakesim.config.schema import LMSpec, ModelSpec
from snakesim.learning.models.lm_presets import CONFIGS
from snakesim.learning.models.stack import CLASSIFIERS

LAYER_KEYS = ("num_hidden_layers", "n_layer", "num_layers")
"""Where Hugging Face configs keep their decoder-block count (OPT/Llama, GPT-2, others)."""


def group_count(model: ModelSpec) -> int | None:
    """The number of layer groups of ``model``; None when it cannot be known yet.

    A pretrained causal LM named by a hub id (not a local folder), or a config file
    that cannot be read, gives None: the run checks those when it loads the model.
    """
    classifier = CLASSIFIERS.get(model.name)
    if classifier is not None:
        return classifier.groups if classifier.groups is not None else len(model.hidden) + 1
    if model.lm is None:
        return None
    layers = lm_layers(model.lm)
    return None if layers is None else layers + 2


def lm_layers(lm: LMSpec) -> int | None:
    """The decoder-block count of a causal LM spec (overrides applied), if readable.

    The value may be anything the file or the override says (zero, negative, a
    string); the caller checks it.
    """
    for key in LAYER_KEYS:
        if key in lm.overrides:
            return _as_int(lm.overrides[key])
    config = _config_data(lm)
    if config is None:
        return None
    for key in LAYER_KEYS:
        if key in config:
            return _as_int(config[key])
    return None


def _as_int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _config_data(lm: LMSpec) -> dict[str, Any] | None:
    if lm.preset is not None:
        path = CONFIGS / f"{lm.preset}.json"
    else:
        source = lm.config if lm.config is not None else lm.pretrained
        path = Path(str(source)).expanduser()
        if path.is_dir():
            path = path / "config.json"
    try:
        if not path.is_file() or path.stat().st_size > 1_000_000:
            return None
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None  # reported with its reason when the run loads the config
    return data if isinstance(data, dict) else None
