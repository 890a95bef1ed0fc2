"""The shipped 6G scenarios: budgets that bind, outages that happen."""

from __future__ import annotations

import pytest

from snakesim.config import load_scenario
from snakesim.experiments import run_scenario
from tests.conftest import REPO

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def run_one_round(name: str):  # type: ignore[no-untyped-def]
    scenario = load_scenario(REPO / "scenarios" / f"{name}.yaml")
    short = scenario.model_copy(update={"training": scenario.training.model_copy(
        update={"rounds": 1})})
    return run_scenario(short)


def test_fedavg_excludes_the_memory_poor_devices_that_snake_uses() -> None:
    snake, fedavg = run_one_round("6g-tiered"), run_one_round("6g-tiered-fedavg")
    poor = {"dev2", "dev4", "dev7", "dev10"}  # 1.2 MB in both files
    assert poor.isdisjoint(fedavg.summary["participating_nodes"])
    assert len(fedavg.summary["participating_nodes"]) == 8
    excluded = fedavg.frames["effects"].query("effect == 'excluded'")
    assert set(excluded["node"]) == poor
    assert set(snake.summary["participating_nodes"]) >= poor
    nodes = snake.frames["nodes"].set_index("node")
    for device in poor:  # their windows fit their budgets
        assert 0 < nodes.loc[device, "peak_memory_bytes"] <= nodes.loc[device, "memory_bytes"]
    assert snake.summary["oom_events"] == fedavg.summary["oom_events"] == 0
    for result in (snake, fedavg):
        assert result.summary["energy_j"] > 0
        assert set(result.frames["nodes"]["role"]) == {"server", "relay", "client"}


def test_accelerator_example_runs_on_its_chips() -> None:
    from snakesim.config.accelerators import ACCELERATORS

    result = run_one_round("accelerators")
    nodes = result.frames["nodes"].set_index("node")
    assert nodes.loc["n1", "accelerator"] == "jetson-orin"
    assert nodes.loc["n5", "accelerator"] == "epyc-7763/2"
    assert nodes.loc["server", "memory_bytes"] == ACCELERATORS["h100"].memory_bytes
    jobs = result.frames["computes"]
    jobs = jobs[jobs["kind"] == "train"].set_index("node")
    seconds = jobs["end_s"] - jobs["start_s"]
    # Roofline time, not FLOPs over the derived rate: overheads and bytes count too.
    plain = jobs["flops"] / nodes.loc[jobs.index, "compute_flops_per_s"]
    assert (seconds > plain).all()
    # A CUDA chip's jobs carry its cuBLAS workspace; a phone SoC's do not.
    assert nodes.loc["n1", "peak_memory_bytes"] - nodes.loc["n3", "peak_memory_bytes"] \
        == ACCELERATORS["jetson-orin"].workspace_bytes
