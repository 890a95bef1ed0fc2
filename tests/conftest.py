"""Shared test set-up: small scenarios that run real training in about a second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

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


@pytest.fixture
def write_yaml(tmp_path: Path):  # type: ignore[no-untyped-def]
    """Write a mapping to a YAML file in tmp_path and return its path."""

    def write(data: dict[str, Any], name: str = "scenario.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
        return path

    return write
