"""Run one scenario: build the world, network, data and model, run the strategy.

This is where the layers meet: config in, a SimPy process per strategy, the ledger's
tables and a summary out. Nothing here reads the wall clock into results.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from snakesim.config.schema import DirichletPartition, Scenario, client_names
from snakesim.learning.costs import CostModel, tensor_bytes
from snakesim.learning.datasets import Dataset, load_dataset
from snakesim.learning.models import init_parameters, model_factory
from snakesim.learning.partition import dirichlet, iid
from snakesim.learning.training import TrainConfig
from snakesim.network import Fabric, build_graph, draw_nodes, to_info
from snakesim.sim.world import ProgressCallback, World
from snakesim.strategies import Context, build_strategy


@dataclass(frozen=True)
class RunResult:
    """A finished run: its scenario, summary and result tables."""

    scenario: Scenario
    summary: dict[str, Any]
    frames: dict[str, pd.DataFrame]


def run_id(scenario: Scenario) -> str:
    """The id of a run: scenario name and seed (the same inputs give the same id)."""
    return f"{scenario.name}-s{scenario.seed}"


def learners(scenario: Scenario) -> list[str]:
    """The nodes that hold data and train: the route, or all clients but the server."""
    route = getattr(scenario.strategy, "route", None)
    if route:
        return list(route)
    server = scenario.strategy.server
    return [n for n in client_names(scenario.topology) if n != server]


def run_scenario(scenario: Scenario, on_progress: ProgressCallback | None = None) -> RunResult:
    """Simulate ``scenario`` to the end and return its summary and tables."""
    world = World(scenario.seed, on_progress)
    nodes = draw_nodes(scenario.nodes, scenario.topology, world.rng("nodes"))
    fabric = Fabric(world, build_graph(scenario.topology, scenario.links), nodes)
    data = load_dataset(scenario.data.dataset, test_fraction=scenario.data.test_fraction,
                        split_seed=scenario.data.split_seed)
    ctx = _context(scenario, world, fabric, data)
    strategy = build_strategy(scenario.strategy, scenario.topology)
    world.env.process(strategy.process(ctx))
    world.env.run()
    frames = world.ledger.to_frames(run_id(scenario), strategy.name,
                                    [to_info(n) for n in nodes])
    return RunResult(scenario, summarize(scenario, frames), frames)


def _context(scenario: Scenario, world: World, fabric: Fabric, data: Dataset) -> Context:
    names = learners(scenario)
    parts = _partition(scenario, data, len(names), world.rng("partition"))
    local = {n: (data.x_train[p], data.y_train[p]) for n, p in zip(names, parts, strict=False)}
    factory = model_factory(scenario.model.name, num_classes=data.num_classes,
                            width=scenario.model.width)
    model = factory()
    init_parameters(model, world.torch_generator("model-init"))
    t = scenario.training
    return Context(
        world=world, fabric=fabric, model=model,
        initial_state={k: v.detach().clone() for k, v in model.state_dict().items()},
        costs=CostModel(factory, data.input_shape, t.optimizer, t.momentum),
        train=TrainConfig(t.optimizer, t.lr, t.momentum, t.weight_decay, t.batch_size,
                          t.local_epochs),
        local_data=local, test=(data.x_test, data.y_test), rounds=t.rounds,
        data_bytes={n: tensor_bytes(list(xy)) for n, xy in local.items()})


def _partition(scenario: Scenario, data: Dataset, n: int,
               rng: np.random.Generator) -> list[np.ndarray]:
    labels = data.y_train.numpy()
    spec = scenario.data.partition
    if isinstance(spec, DirichletPartition):
        return dirichlet(labels, n, spec.alpha, rng, spec.min_samples)
    return iid(labels, n, rng)


def summarize(scenario: Scenario, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The headline figures of a run (all from its tables; no wall-clock values)."""
    rounds, transfers = frames["rounds"], frames["transfers"]
    nodes, computes = frames["nodes"], frames["computes"]
    last = rounds.iloc[-1]
    total = int(transfers["nbytes"].sum())
    end = max(float(transfers["end_s"].max()) if len(transfers) else 0.0,
              float(computes["end_s"].max()) if len(computes) else 0.0)
    n_rounds = int(rounds["round"].max())
    return {
        "run_id": run_id(scenario),
        "scenario": scenario.name,
        "strategy": scenario.strategy.name,
        "seed": scenario.seed,
        "rounds": n_rounds,
        "learners": int(computes["node"].nunique()),
        "final_accuracy": float(last["accuracy"]),
        "best_accuracy": float(rounds["accuracy"].max()),
        "final_loss": float(last["loss"]),
        "total_bytes": total,
        "link_bytes": int((transfers["nbytes"] * transfers["hops"]).sum()),
        "bytes_per_round": total / n_rounds,
        "sim_time_s": end,
        "total_flops": float(computes["flops"].sum()),
        "max_node_peak_memory_bytes": int(nodes["peak_memory_bytes"].max()),
        "max_node_storage_bytes": int(nodes["storage_used_bytes"].max()),
    }
