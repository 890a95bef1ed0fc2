"""The shipped causal-LM configs, by name (no torch import: the schema checks names)."""

from __future__ import annotations

from pathlib import Path

CONFIGS = Path(__file__).with_name("lm_configs")
PRESETS = tuple(sorted(p.stem for p in CONFIGS.glob("*.json")))
"""Names a scenario's ``model.lm.preset`` accepts."""
