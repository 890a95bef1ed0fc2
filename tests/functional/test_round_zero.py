"""Round 0: every strategy's rounds table starts with the untrained model's evaluation."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from snakesim.analysis.plots import plot_runs
from snakesim.config import validate_scenario
from snakesim.config.schema import Scenario
from snakesim.experiments import RunResult, run_scenario, write_run
from snakesim.experiments.build import load_data
from snakesim.experiments.run import _context
from snakesim.learning.evaluation import evaluate
from snakesim.network import build_fabric
from snakesim.sim.world import World
from tests.conftest import small_scenario

STRATEGIES = ["snake", "fedavg", "split", "splitfed", "central", "local"]
HOLDER = {"snake": "n1", "fedavg": "server", "split": "server", "splitfed": "server",
          "central": "server", "local": "mean"}
"""The node named in round 0: where each scheme's evaluated model starts."""


def scenario(strategy: str, rounds: int, seed: int = 3) -> Scenario:
    training = {"optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 1,
                "rounds": rounds}
    return validate_scenario({**small_scenario({"name": strategy}, training=training),
                              "seed": seed})


def untrained(spec: Scenario) -> tuple[float, float]:
    """The test-set ``(accuracy, loss)`` of the run's initial model, built afresh."""
    world = World(spec.seed)
    ctx = _context(spec, world, build_fabric(world, spec), load_data(spec))
    return evaluate(ctx.model, *ctx.test)


def round_zero(result: RunResult) -> pd.Series:
    rounds = result.frames["rounds"]
    assert rounds["round"].iloc[0] == 0 and (rounds["round"].iloc[1:] >= 1).all()
    row: pd.Series = rounds.iloc[0]
    return row


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_rounds_0_runs_only_the_evaluation_of_the_untrained_model(strategy: str) -> None:
    spec = scenario(strategy, rounds=0)
    result = run_scenario(spec)
    rounds = result.frames["rounds"]
    assert list(rounds["round"]) == [0] and list(rounds["node"]) == [HOLDER[strategy]]
    row = round_zero(result)
    assert (row["accuracy"], row["loss"]) == pytest.approx(untrained(spec), rel=1e-6)
    assert 0.0 < row["accuracy"] < 0.3  # ten digit classes: an untrained model guesses
    assert row["sim_time_s"] == 0.0 and row["cum_total_bytes"] == row["cum_link_bytes"] == 0
    assert result.frames["transfers"].empty and result.frames["computes"].empty
    s = result.summary
    assert s["rounds"] == 0 and s["total_bytes"] == 0 and s["bytes_per_round"] == 0.0
    assert s["sim_time_s"] == 0.0 and s["total_flops"] == 0.0
    assert s["initial_accuracy"] == s["final_accuracy"] == s["best_accuracy"] \
        == pytest.approx(row["accuracy"])
    assert s["initial_loss"] == s["final_loss"] == pytest.approx(row["loss"])


def test_round_0_is_deterministic_from_the_seed() -> None:
    a, b = (run_scenario(scenario("fedavg", rounds=0)) for _ in range(2))
    pd.testing.assert_frame_equal(a.frames["rounds"], b.frames["rounds"])
    other = run_scenario(scenario("fedavg", rounds=0, seed=4))
    assert round_zero(other)["loss"] != round_zero(a)["loss"]  # another initial model
    assert round_zero(other)["loss"] == pytest.approx(untrained(scenario("fedavg", 0, 4))[1])


def test_cost_only_round_0_measures_nothing() -> None:
    data = small_scenario({"name": "fedavg"}, training={"rounds": 0}, mode="cost_only")
    result = run_scenario(validate_scenario(data))
    assert math.isnan(round_zero(result)["accuracy"])
    assert result.summary["initial_accuracy"] is None


def test_rounds_below_0_are_refused() -> None:
    from snakesim.errors import ScenarioError

    with pytest.raises(ScenarioError, match=r"training\.rounds"):
        validate_scenario(small_scenario({"name": "fedavg"}, training={"rounds": -1}))


@pytest.mark.slow
@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_strategy_starts_its_rounds_table_with_round_0(strategy: str,
                                                             tmp_path: Path) -> None:
    only = round_zero(run_scenario(scenario(strategy, rounds=0)))
    result = run_scenario(scenario(strategy, rounds=1))
    row = round_zero(result)
    # The same evaluation as a run of no rounds: before anything was sent or trained.
    assert row.drop(["cum_total_bytes", "cum_link_bytes"]).equals(
        only.drop(["cum_total_bytes", "cum_link_bytes"]))
    assert row["sim_time_s"] == 0.0 and row["cum_total_bytes"] == 0
    trained = result.frames["rounds"].query("round >= 1")
    assert len(trained) and (trained["sim_time_s"] > 0).all()
    s: dict[str, Any] = result.summary
    assert s["initial_accuracy"] == pytest.approx(row["accuracy"])
    # Final and best figures come from the trained rounds, never from round 0.
    assert s["final_accuracy"] == pytest.approx(trained["accuracy"].iloc[-1])
    assert s["best_accuracy"] == pytest.approx(trained["accuracy"].max())
    assert s["final_accuracy"] > s["initial_accuracy"]
    # The plot reads it like any other round (its point at 0 bytes, 0 s).
    write_run(tmp_path / "run", result.scenario, result.summary, result.frames)
    assert plot_runs([tmp_path / "run"], tmp_path / "plot.png").stat().st_size > 0


def test_every_strategy_starts_from_the_same_initial_model() -> None:
    rows = [round_zero(run_scenario(scenario(name, rounds=0))) for name in STRATEGIES]
    assert len({(r["accuracy"], r["loss"]) for r in rows}) == 1
