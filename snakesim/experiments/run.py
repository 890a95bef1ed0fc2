"""Run one scenario: build the world, network, data and model, run the strategy.

This is where the layers meet: config in, a SimPy process per strategy, the ledger's
tables and a summary out. Nothing here reads the wall clock into results.
"""

from __future__ import annotations

import gc
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from snakesim.config.schema import (
    BySourcePartition,
    DirichletPartition,
    QuantitySkewPartition,
    Scenario,
    ShardsPartition,
    client_names,
)
from snakesim.errors import RunInterrupted, SimulationStalled
from snakesim.experiments.build import (
    build_model,
    cost_model,
    describe,
    load_data,
    precision_of,
    scenario_model,
)
from snakesim.experiments.execution import execution_summary, make_batcher, resolve_device
from snakesim.experiments.node_facts import event_counts, excluded_nodes, node_facts
from snakesim.learning.costs.breakdown import tensor_bytes
from snakesim.learning.data.datasets import Dataset
from snakesim.learning.data.heterogeneity import label_heterogeneity
from snakesim.learning.data.partition import by_source, dirichlet, iid, quantity_skew, shards
from snakesim.learning.models.stack import init_parameters
from snakesim.learning.objective import objective_for
from snakesim.learning.training import TrainConfig
from snakesim.network import Fabric, build_fabric, to_info
from snakesim.network.outages import OutageController
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
    route = scenario.strategy.route_nodes()
    if route:
        return list(route)
    # A client named as the server does not learn (central's `node` keeps its data).
    server = scenario.strategy.named_server()
    return [n for n in client_names(scenario.topology) if n != server]


def run_scenario(scenario: Scenario, on_progress: ProgressCallback | None = None) -> RunResult:
    """Simulate ``scenario`` to the end and return its summary and tables.

    Raises
    ------
    snakesim.errors.RunInterrupted
        On Ctrl-C while the simulation runs, holding the rounds that had ended (their
        summary says ``interrupted: true``), or None before the first.
    """
    device = resolve_device(scenario.execution.device)
    world = World(scenario.seed, on_progress)
    fabric = build_fabric(world, scenario)
    outages = OutageController(world, fabric, scenario.outages)
    data = load_data(scenario)
    ctx = _context(scenario, world, fabric, data, device)
    strategy = build_strategy(scenario.strategy, scenario.topology)
    done = world.env.process(strategy.run(ctx))
    outages.stop_when(done)
    # The set-up (graph, data, models, modules) is long-lived: hide it from the cyclic
    # garbage collector while events run, so full collections do not rescan it; the
    # simulation's own short-lived objects are still collected. Only the young
    # generations are collected first: a full collection scans every object the imports
    # made (0.3 s a run); older garbage is frozen with the rest and freed after the run.
    gc.collect(1)
    gc.freeze()
    try:
        try:
            world.env.run()
        finally:
            gc.unfreeze()
    except KeyboardInterrupt as stop:
        # Ctrl-C (or a SIGTERM the CLI turned into one): keep the rounds that ended.
        outages.close()
        partial = None
        if world.ledger.evaluations:
            partial = _result(scenario, world, fabric, data, ctx, device)
            partial.summary.update(interrupted=True, rounds_planned=scenario.training.rounds)
        raise RunInterrupted(partial, scenario.training.rounds,
                             getattr(stop, "signum", 2)) from None
    outages.close()
    if not done.triggered:  # out of events, yet the strategy waits: never call it done
        raise SimulationStalled(float(world.env.now), fabric.unfinished())
    return _result(scenario, world, fabric, data, ctx, device)


def _result(scenario: Scenario, world: World, fabric: Fabric, data: Dataset, ctx: Context,
            device: torch.device) -> RunResult:
    """The tables and summary of what ``world`` simulated (a whole run, or the part of
    one an interrupt left)."""
    energy = {frozenset((u, v)): float(d["energy_per_bit"])
              for u, v, d in fabric.graph.edges(data=True)}
    frames = world.ledger.to_frames(run_id(scenario), scenario.strategy.name,
                                    [to_info(n) for n in fabric.nodes], energy)
    _quality_columns(frames["rounds"], data, scenario.mode)
    summary = summarize(scenario, frames)
    summary["label_heterogeneity"] = _heterogeneity(ctx, data)
    summary.update(describe(data), mode=scenario.mode)
    summary.update(execution_summary(scenario.execution, device, ctx.batcher))
    if scenario.mode == "cost_only":
        summary["quality"] = "not computed: cost-only mode ran no training step"
    return RunResult(scenario, summary, frames)


def _quality_columns(rounds: pd.DataFrame, data: Dataset, mode: str) -> None:
    """Add held-out perplexity (causal LMs; empty for classifiers) beside accuracy."""
    objective = objective_for(data.kind)
    rounds["perplexity"] = [objective.quality(loss) if loss == loss else math.nan
                            for loss in rounds["loss"]]


def _heterogeneity(ctx: Context, data: Dataset) -> float:
    labels = [ctx.local_data[n][1].cpu().numpy() for n in ctx.learners]
    offsets = np.cumsum([0, *(len(y) for y in labels)])
    parts = [np.arange(offsets[i], offsets[i + 1]) for i in range(len(labels))]
    joined = np.concatenate(labels) if labels else np.zeros(0, dtype=np.int64)
    return round(label_heterogeneity(joined, parts, data.num_classes), 6)


def _context(scenario: Scenario, world: World, fabric: Fabric, data: Dataset,
             device: torch.device = torch.device("cpu")) -> Context:
    names = learners(scenario)
    parts = _partition(scenario, data, len(names), world.rng("partition"))
    train = scenario.mode == "train"
    # The data move to the device once, here; every job and evaluation then reads them
    # there (a cost-only run has no real step: its data stay where they are).
    x_train, y_train = (data.x_train.to(device), data.y_train.to(device)) if train \
        else (data.x_train, data.y_train)
    local = {n: (x_train[p], y_train[p]) for n, p in zip(names, parts, strict=False)}
    test = (data.x_test.to(device), data.y_test.to(device)) if train \
        else (data.x_test, data.y_test)
    # A causal LM built from a config is initialised by its own initialiser from a seed
    # drawn here; classifiers get He initialisation from the run's generator.
    seed = int(world.rng("model-init").integers(2**31)) if data.kind == "causal_lm" else 0
    factory = scenario_model(scenario, data, seed)
    model = build_model(scenario, factory)
    if data.kind == "classification" and train:
        # Drawn on the CPU and then moved: the same initial model on every device.
        init_parameters(model, world.torch_generator("model-init"))
    if train:
        model.to(device)
    t = scenario.training
    return Context(
        world=world, fabric=fabric, model=model,
        initial_state={k: v.detach().clone() for k, v in model.state_dict().items()},
        costs=cost_model(scenario, factory, data),
        train=TrainConfig(t.optimizer, t.lr, t.momentum, t.weight_decay, t.batch_size,
                          t.local_epochs, objective=objective_for(data.kind),
                          precision=precision_of(scenario), grad_clip=t.grad_clip,
                          cost_only=scenario.mode == "cost_only",
                          loss_fp32=t.loss_dtype == "fp32", hold_logits=t.hold_logits),
        local_data=local, test=test, rounds=t.rounds,
        data_bytes={n: tensor_bytes(list(xy)) for n, xy in local.items()},
        batcher=make_batcher(scenario.execution, device, model))


def _partition(scenario: Scenario, data: Dataset, n: int,
               rng: np.random.Generator) -> list[np.ndarray]:
    labels = data.y_train.numpy()
    spec = scenario.data.partition
    if isinstance(spec, DirichletPartition):
        return dirichlet(labels, n, spec.alpha, rng, spec.min_samples)
    if isinstance(spec, ShardsPartition):
        return shards(labels, n, spec.k, rng)
    if isinstance(spec, QuantitySkewPartition):
        return quantity_skew(labels, n, spec.sigma, rng, spec.min_samples)
    if isinstance(spec, BySourcePartition):
        return by_source(labels, n, rng)
    return iid(labels, n, rng)


def summarize(scenario: Scenario, frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """The headline figures of a run (all from its tables; no wall-clock values).

    ``final_*`` come from the last round, ``initial_*`` from round 0 (the untrained
    model) and ``best_*`` from the trained rounds (round 0 only if there are none).
    """
    rounds, transfers = frames["rounds"], frames["transfers"]
    nodes, computes = frames["nodes"], frames["computes"]
    last, first = rounds.iloc[-1], rounds.iloc[0]
    trained = rounds[rounds["round"] >= 1] if (rounds["round"] >= 1).any() else rounds
    perplexity = trained["perplexity"] if "perplexity" in rounds else pd.Series([math.nan])
    total = int(transfers["nbytes"].sum())
    end = max(float(transfers["end_s"].max()) if len(transfers) else 0.0,
              float(computes["end_s"].max()) if len(computes) else 0.0)
    n_rounds = int(rounds["round"].max())
    facts = node_facts(frames)
    return {
        "run_id": run_id(scenario),
        "scenario": scenario.name,
        "strategy": scenario.strategy.name,
        "seed": scenario.seed,
        "rounds": n_rounds,
        "learners": int(computes["node"].nunique()),
        "initial_accuracy": _number(first["accuracy"]),
        "initial_loss": _number(first["loss"]),
        "initial_perplexity": _number(first.get("perplexity", math.nan)),
        "final_accuracy": _number(last["accuracy"]),
        "best_accuracy": _number(trained["accuracy"].max()),
        "final_loss": _number(last["loss"]),
        "final_perplexity": _number(last.get("perplexity", math.nan)),
        "best_perplexity": _number(perplexity.min()),
        "total_bytes": total,
        "link_bytes": int((transfers["nbytes"] * transfers["hops"]).sum()),
        "bytes_per_round": total / n_rounds if n_rounds else 0.0,
        "sim_time_s": end,
        "total_flops": float(computes["flops"].sum()),
        "max_node_peak_memory_bytes": int(nodes["peak_memory_bytes"].max()),
        "max_node_storage_bytes": int(nodes["storage_used_bytes"].max()),
        "participating_nodes": _participating(frames),
        "excluded_nodes": excluded_nodes(facts),
        "nodes": facts,
        "counts": event_counts(frames),
        "outage_events": len(frames["outages"]),
        "oom_events": int((frames["effects"]["effect"] == "oom").sum()),
        "out_of_storage_events": int((frames["effects"]["effect"] == "out_of_storage").sum()),
        "energy_j": float(nodes["energy_j"].sum() + frames["links"]["energy_j"].sum()),
    }


def _number(value: Any) -> float | None:
    """A float for summary.json; None where there is none (NaN: not measured)."""
    number = float(value)
    return None if math.isnan(number) else number


def _participating(frames: dict[str, pd.DataFrame]) -> list[str]:
    """Client nodes that ran at least one compute job (excluded or skipped ones did not)."""
    clients = frames["nodes"].query("role == 'client'")["node"]
    return sorted(set(clients) & set(frames["computes"]["node"]))
