"""Simulation core: the per-run World (SimPy environment, RNG streams) and the ledger."""

from snakesim.sim.ledger import Ledger
from snakesim.sim.world import World

__all__ = ["Ledger", "World"]
