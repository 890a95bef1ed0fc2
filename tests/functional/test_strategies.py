"""Behaviour of the strategies on real (small) runs: orderings that follow from the schemes."""

from __future__ import annotations

import pandas as pd
import pytest

from snakesim.config import validate_scenario
from snakesim.experiments import RunResult
from snakesim.learning.costs.model import CostModel
from snakesim.learning.models.stack import model_factory
from tests.conftest import run_small, small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


run = run_small


def model_bytes() -> int:
    factory = model_factory("digits_cnn", num_classes=10, width=8)
    return CostModel(factory, (1, 8, 8), "adam", 0.9).model_bytes()


def test_snake_sends_fewer_bytes_per_round_and_needs_less_memory(snake: RunResult,
                                                                  fedavg: RunResult) -> None:
    assert snake.summary["bytes_per_round"] < fedavg.summary["bytes_per_round"]
    assert (snake.summary["max_node_peak_memory_bytes"]
            < fedavg.summary["max_node_peak_memory_bytes"])


def test_fedavg_moves_the_whole_model_down_and_up_per_client_and_round(
        fedavg: RunResult) -> None:
    t = fedavg.frames["transfers"]
    size = model_bytes()
    assert set(t["nbytes"]) == {size}
    per_round = t.groupby(["round", "kind"]).size()
    assert (per_round == 4).all()  # 4 clients, one download and one upload each
    assert fedavg.summary["total_bytes"] == 2 * 4 * 2 * size
    assert fedavg.summary["rounds"] == 2


def test_fedavg_round_ends_with_its_last_upload(fedavg: RunResult) -> None:
    rounds = fedavg.frames["rounds"].query("round >= 1")  # round 0: before anything
    uploads = fedavg.frames["transfers"].query("kind == 'upload'")
    last_upload = uploads.groupby("round")["end_s"].max()
    assert rounds.set_index("round")["sim_time_s"].to_dict() == pytest.approx(
        last_upload.to_dict())


def test_snake_distributes_the_model_once_then_hands_off_changed_groups(
        snake: RunResult) -> None:
    t = snake.frames["transfers"]
    init = t.query("kind == 'init'")
    assert len(init) == 3 and set(init["nbytes"]) == {model_bytes()}
    assert set(init["src"]) == {"n1"}
    handoffs = t.query("kind == 'handoff'")
    # 4 nodes, 2 passes: 3 hand-offs in the first pass, 4 (incl. the wrap) in the second.
    assert len(handoffs) == 7
    assert handoffs.iloc[0]["nbytes"] < model_bytes()  # only what n1 changed


def test_snake_trains_every_node_once_per_pass_with_smaller_slices(snake: RunResult,
                                                                   fedavg: RunResult) -> None:
    c = snake.frames["computes"]
    assert list(c["node"]) == ["n1", "n2", "n3", "n4"] * 2
    # Each Snake job trains a window; FedAvg trains everything: fewer FLOPs per sample.
    per_sample_snake = (c["flops"] / c["samples"]).max()
    f = fedavg.frames["computes"]
    assert per_sample_snake < (f["flops"] / f["samples"]).min()


def test_cs_mode_uploads_only_the_trained_groups_to_the_server() -> None:
    result = run({"name": "snake", "mode": "cs"})
    t = result.frames["transfers"]
    uploads = t.query("kind == 'upload'")
    assert set(uploads["dst"]) == {"server"}
    assert (uploads["nbytes"] < model_bytes()).all()
    assert set(t.query("kind == 'handoff'")["src"]) == {"server"}


def test_p2p_handoffs_cross_the_star_through_the_server(snake: RunResult) -> None:
    handoffs = snake.frames["transfers"].query("kind == 'handoff'")
    assert (handoffs["hops"] == 2).all()
    nodes = snake.frames["nodes"].set_index("node")
    assert nodes.loc["server", "bytes_relayed"] == (handoffs["nbytes"].sum()
                                                    + snake.frames["transfers"].query(
                                                        "kind == 'init'")["nbytes"].sum())


def test_evaluation_after_every_hop_and_every_round(snake: RunResult,
                                                    fedavg: RunResult) -> None:
    assert len(snake.frames["rounds"]) == 1 + 8  # round 0, then 4 hops x 2 passes
    assert len(fedavg.frames["rounds"]) == 1 + 2
    for result in (snake, fedavg):
        rounds = result.frames["rounds"]
        assert rounds["sim_time_s"].is_monotonic_increasing
        assert rounds["cum_total_bytes"].is_monotonic_increasing
        assert ((rounds["accuracy"] >= 0) & (rounds["accuracy"] <= 1)).all()


def test_tables_carry_run_id_strategy_and_time(snake: RunResult) -> None:
    for name, frame in snake.frames.items():
        assert isinstance(frame, pd.DataFrame)
        assert {"run_id", "strategy"} <= set(frame.columns), name
        assert set(frame["run_id"]) <= {"small-s3"}
    assert snake.summary["max_node_storage_bytes"] > 0


def test_compute_time_is_flops_over_node_rate(snake: RunResult) -> None:
    c = snake.frames["computes"]
    nodes = snake.frames["nodes"].set_index("node")["compute_flops_per_s"]
    expected = c["flops"] / c["node"].map(nodes)
    assert (c["end_s"] - c["start_s"]).to_numpy() == pytest.approx(expected.to_numpy())


def test_distillation_charges_the_teacher() -> None:
    plain = run({"name": "snake"}, training={"rounds": 1, "optimizer": "adam", "lr": 0.003})
    kd = run({"name": "snake", "distill": "on"},
             training={"rounds": 1, "optimizer": "adam", "lr": 0.003})
    assert kd.summary["total_flops"] > plain.summary["total_flops"]
    assert kd.summary["max_node_peak_memory_bytes"] > plain.summary["max_node_peak_memory_bytes"]
    assert kd.summary["total_bytes"] == plain.summary["total_bytes"]


def test_more_rounds_improve_a_learnable_task() -> None:
    result = run({"name": "fedavg"}, data={"partition": {"kind": "iid"}},
                 training={"rounds": 3, "optimizer": "adam", "lr": 0.003, "local_epochs": 2})
    acc = result.frames["rounds"]["accuracy"]
    assert acc.iloc[-1] > 0.5


def test_strategies_share_a_frozen_context_and_fedprox_passes_mu_per_job() -> None:
    """FedProx used to switch its proximal term on by rewriting the shared context."""
    import dataclasses

    from snakesim.experiments.build import load_data
    from snakesim.experiments.run import _context
    from snakesim.network import build_fabric
    from snakesim.sim import World
    from snakesim.strategies import build_strategy

    scenario = validate_scenario(small_scenario({"name": "fedprox", "mu": 0.5},
                                                training={"rounds": 1}))
    world = World(scenario.seed)
    fabric = build_fabric(world, scenario)
    ctx = _context(scenario, world, fabric, load_data(scenario))
    with pytest.raises(dataclasses.FrozenInstanceError):
        ctx.train = ctx.train  # type: ignore[misc]
    plain = ctx.job("n1", ctx.initial_state, [0, 1])
    prox = ctx.job("n1", ctx.initial_state, [0, 1], prox_mu=0.5)
    # The proximal term holds the received weights: one more slot of the trained groups.
    assert prox.peak_memory_bytes > plain.peak_memory_bytes
    world.env.process(build_strategy(scenario.strategy, scenario.topology).process(ctx))
    world.env.run()
    assert ctx.train.prox_mu == 0.0
    assert len(world.ledger.evaluations) == 1
