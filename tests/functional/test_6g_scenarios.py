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
