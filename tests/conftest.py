"""Shared test set-up: small scenarios that run real training in about a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import simpy
import torch
import yaml

from snakesim.config import validate_scenario
from snakesim.experiments import RunResult, run_scenario
from snakesim.sim.world import World

# Tiny models train fastest on one thread, and the suite shares 2 cores with itself.
torch.set_num_threads(1)

REPO = Path(__file__).resolve().parent.parent


# Units of the network tests' closed forms: a 1 MB payload takes 1 s on BW.
MB = 1_000_000
LAT = 0.01
BW = 8e6  # 1 MB per second


def approx(value: float) -> Any:
    """Equality up to float rounding, for closed-form times."""
    return pytest.approx(value, rel=1e-9, abs=1e-12)


def small_scenario(strategy: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A 4-client star scenario on digits, 2 rounds of one epoch: fast real training."""
    data: dict[str, Any] = {
        "name": "small",
        "seed": 3,
        "data": {"partition": {"kind": "dirichlet", "alpha": 0.5}},
        "model": {"name": "digits_cnn", "width": 8},
        "training": {"optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 1,
                     "rounds": 2},
        "topology": {"kind": "star", "clients": 4},
        "nodes": {"compute": {"dist": "list",
                              "values": ["2 GFLOPS", "4 GFLOPS", "8 GFLOPS", "16 GFLOPS"]}},
        "links": {"latency": "5 ms", "bandwidth": "100 Mbps"},
        "strategy": strategy,
    }
    for key, value in changes.items():
        data[key] = value
    return data


def run_small(strategy: dict[str, Any], **changes: Any) -> RunResult:
    """Run `small_scenario` with ``strategy`` (and section ``changes``)."""
    return run_scenario(validate_scenario(small_scenario(strategy, **changes)))


# The small FedAvg and Snake runs that several test modules compare against: one run
# each per test session (tests read them and must not change them).
@pytest.fixture(scope="session")
def fedavg() -> RunResult:
    """`small_scenario` under FedAvg."""
    return run_small({"name": "fedavg"})


@pytest.fixture(scope="session")
def snake() -> RunResult:
    """`small_scenario` under Snake Learning with peer-to-peer hand-offs."""
    return run_small({"name": "snake", "mode": "p2p"})


def end_times(world: World, events: list[simpy.Event]) -> list[float]:
    """Run ``world`` to the end; the simulated time each of ``events`` fired at."""
    ends: dict[int, float] = {}
    for i, event in enumerate(events):
        event.callbacks.append(lambda _e, i=i: ends.__setitem__(i, world.now))
    world.env.run()
    return [ends[i] for i in range(len(events))]


@pytest.fixture
def write_yaml(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a mapping to a YAML file in tmp_path and return its path."""

    def write(data: dict[str, Any], name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write
