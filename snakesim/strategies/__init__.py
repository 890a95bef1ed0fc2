"""Distributed-learning strategies and their registry.

Each scheme lives in its own module, which provides ``build(spec, topology) -> Strategy``
for its scenario section (`snakesim.config.strategies`). The registry maps a scenario's
``strategy.name`` to that module, imported on first use.
"""

from __future__ import annotations

import importlib

from snakesim.config.schema import Topology
from snakesim.config.strategies import Strategy as StrategySpec
from snakesim.strategies.base import Context, Strategy

__all__ = ["REGISTRY", "Context", "Strategy", "build_strategy"]

REGISTRY: dict[str, str] = {
    "snake": "snakesim.strategies.snake",
    "fedavg": "snakesim.strategies.fedavg",
    "fedprox": "snakesim.strategies.fedavg",
    "central": "snakesim.strategies.central",
    "local": "snakesim.strategies.local",
    "split": "snakesim.strategies.split",
    "splitfed": "snakesim.strategies.splitfed",
}
"""Scenario ``strategy.name`` -> module that implements it (and defines ``build``)."""


def build_strategy(spec: StrategySpec, topology: Topology) -> Strategy:
    """The strategy a scenario's ``strategy`` section asks for."""
    module = importlib.import_module(REGISTRY[spec.name])
    strategy: Strategy = module.build(spec, topology)
    return strategy
