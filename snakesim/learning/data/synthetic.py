"""A seeded synthetic classification set, for fast tests and scaling runs.

Each class has a prototype drawn from N(0, 1) of the configured sample shape; a sample
is its class prototype plus ``noise`` x N(0, 1). Classes are balanced (sample ``i`` has
class ``i mod classes`` before shuffling). Everything derives from ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SyntheticConfig:
    """Size and difficulty of a synthetic set."""

    samples: int = 2000
    classes: int = 10
    shape: tuple[int, ...] = (1, 8, 8)
    noise: float = 1.0
    seed: int = 0


def make_synthetic(cfg: SyntheticConfig) -> tuple[np.ndarray, np.ndarray]:
    """``(x, y)``: ``cfg.samples`` float32 samples of ``cfg.shape`` and int64 labels."""
    rng = np.random.default_rng(cfg.seed)
    shape: Sequence[int] = cfg.shape
    prototypes = rng.standard_normal((cfg.classes, *shape)).astype(np.float32)
    y = rng.permutation(np.arange(cfg.samples) % cfg.classes).astype(np.int64)
    noise = rng.standard_normal((cfg.samples, *shape)).astype(np.float32)
    return prototypes[y] + np.float32(cfg.noise) * noise, y
