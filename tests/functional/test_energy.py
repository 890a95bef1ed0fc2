"""Energy: FLOPs x energy per FLOP, idle power over idle time, bits x energy per bit."""

from __future__ import annotations

import pytest

from snakesim.config import validate_scenario
from snakesim.experiments import run_scenario
from tests.conftest import small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def test_energy_adds_up_from_the_tables() -> None:
    data = small_scenario({"name": "fedavg"}, training={"rounds": 1},
                          nodes={"compute": "4 GFLOPS", "energy_per_flop": "20 pJ",
                                 "idle_power": "2 W",
                                 "server": {"compute": "1 TFLOPS", "memory": "64 GB",
                                            "storage": "1 TB", "idle_power": "50 W"}},
                          links={"latency": "5 ms", "bandwidth": "100 Mbps",
                                 "energy_per_bit": "10 nJ",
                                 "overrides": [{"between": ["n1", "server"],
                                                "energy_per_bit": "100 nJ"}]})
    result = run_scenario(validate_scenario(data))
    nodes = result.frames["nodes"].set_index("node")
    links = result.frames["links"]
    end = result.summary["sim_time_s"]
    n2 = nodes.loc["n2"]
    assert n2["compute_energy_j"] == pytest.approx(n2["flops"] * 20e-12)
    assert n2["idle_energy_j"] == pytest.approx((end - n2["busy_time_s"]) * 2)
    assert nodes.loc["server", "idle_energy_j"] == pytest.approx(end * 50)
    assert nodes.loc["server", "compute_energy_j"] == 0  # the server has no FLOP price
    per_bit = links.apply(lambda r: 100e-9 if "n1" in (r["src"], r["dst"]) else 10e-9, axis=1)
    assert links["energy_j"].to_numpy() == pytest.approx((8 * links["bytes"] * per_bit)
                                                          .to_numpy())
    assert result.summary["energy_j"] == pytest.approx(nodes["energy_j"].sum()
                                                       + links["energy_j"].sum())


def test_energy_is_zero_unless_priced() -> None:
    result = run_scenario(validate_scenario(small_scenario({"name": "snake"},
                                                           training={"rounds": 1})))
    assert result.summary["energy_j"] == 0.0
