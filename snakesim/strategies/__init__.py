"""Distributed-learning strategies and their registry."""

from __future__ import annotations

from snakesim.config.schema import FedAvgStrategy, SnakeStrategy, Topology
from snakesim.config.schema import Strategy as StrategySpec
from snakesim.strategies.base import Context, Strategy
from snakesim.strategies.fedavg import FedAvg
from snakesim.strategies.snake import Snake

__all__ = ["Context", "FedAvg", "Snake", "Strategy", "build_strategy"]


def build_strategy(spec: StrategySpec, topology: Topology) -> Strategy:
    """The strategy a scenario's ``strategy`` section asks for."""
    server = spec.server or topology.server
    if isinstance(spec, SnakeStrategy):
        distill = ((spec.distill_weight, spec.distill_temperature) if spec.distill == "on"
                   else None)
        return Snake(spec.mode, server, spec.route, spec.head_trainable, distill)
    if isinstance(spec, FedAvgStrategy):
        assert server is not None  # guaranteed by config.checks
        return FedAvg(server)
    raise AssertionError(f"unhandled strategy {spec!r}")
