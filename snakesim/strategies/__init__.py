"""Distributed-learning strategies and their registry.

Each scheme lives in its own module, which provides ``build(spec, topology) -> Strategy``
for its scenario section; the section's class (`snakesim.config.strategies`) names that
module. The registry maps a scenario's ``strategy.name`` to it, imported on first use.
"""

from __future__ import annotations

import importlib

from snakesim.config.schema import Topology
from snakesim.config.strategies import SCHEMES, scheme_name
from snakesim.config.strategies import Strategy as StrategySpec
from snakesim.strategies.base import Context, Strategy

__all__ = ["REGISTRY", "Context", "Strategy", "build_strategy"]

REGISTRY: dict[str, str] = {scheme_name(spec): spec.implementation for spec in SCHEMES}
"""The shipped schemes: scenario ``strategy.name`` -> module that implements it (and
defines ``build``), read from their descriptions; a strategy is built from its
section's own class, so schemes registered later need no entry here."""


def build_strategy(spec: StrategySpec, topology: Topology) -> Strategy:
    """The strategy a scenario's ``strategy`` section asks for."""
    module = importlib.import_module(type(spec).implementation)
    strategy: Strategy = module.build(spec, topology)
    return strategy
