"""The World: one per run. It owns the SimPy environment, the RNG streams and the ledger.

Randomness comes only from named streams derived from the run seed, so adding a new
consumer of randomness never shifts the numbers another consumer sees, and the same
scenario and seed give identical results on any host.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable

import numpy as np
import simpy
import torch

from snakesim.sim.ledger import Ledger

ProgressCallback = Callable[[int, int, str], None]
"""Called as ``(done, total, description)`` when a strategy finishes a unit of work."""


class World:
    """Simulation state of one run.

    Parameters
    ----------
    seed
        The run seed; every RNG stream is derived from it and a stream name.
    on_progress
        Optional progress callback (see `ProgressCallback`).
    """

    def __init__(self, seed: int, on_progress: ProgressCallback | None = None) -> None:
        self.seed = seed
        self.env = simpy.Environment()
        self.ledger = Ledger()
        self._on_progress = on_progress
        self._streams: dict[str, np.random.Generator] = {}

    @property
    def now(self) -> float:
        """Current simulated time in seconds."""
        return float(self.env.now)

    def seed_sequence(self, name: str) -> np.random.SeedSequence:
        """The seed sequence of stream ``name`` (stable across runs and hosts)."""
        return np.random.SeedSequence(entropy=self.seed, spawn_key=(zlib.crc32(name.encode()),))

    def rng(self, name: str) -> np.random.Generator:
        """The numpy generator of stream ``name``; the same object on every call."""
        if name not in self._streams:
            self._streams[name] = np.random.default_rng(self.seed_sequence(name))
        return self._streams[name]

    def torch_generator(self, name: str) -> torch.Generator:
        """A fresh CPU `torch.Generator` seeded from stream ``name``."""
        seed = int(self.seed_sequence(name).generate_state(1, np.uint64)[0])
        return torch.Generator().manual_seed(seed)

    def progress(self, done: int, total: int, description: str = "") -> None:
        """Report progress to the callback given at construction, if any."""
        if self._on_progress is not None:
            self._on_progress(done, total, description)
