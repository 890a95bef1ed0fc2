"""The fixed-seed runs the backtest compares with golden files."""

from __future__ import annotations

from typing import Any

from snakesim.config import validate_scenario
from snakesim.experiments import run_scenario
from tests.conftest import small_scenario

CASES: dict[str, dict[str, Any]] = {
    "snake-p2p": small_scenario({"name": "snake", "mode": "p2p", "distill": "on"}),
    "snake-cs": small_scenario({"name": "snake", "mode": "cs"}),
    "fedavg": small_scenario({"name": "fedavg"}),
}

EXACT = ("strategy", "rounds", "learners", "total_bytes", "link_bytes", "bytes_per_round",
         "max_node_peak_memory_bytes", "max_node_storage_bytes")
"""Keys that follow from structure alone and must match exactly."""
CLOSE = ("sim_time_s", "total_flops")
"""Keys that are sums of floats: equal to 1e-9 relative."""
LEARNED = ("initial_accuracy", "final_accuracy", "best_accuracy")
"""Keys that depend on floating-point training (or evaluation: round 0's initial
accuracy): within `TOLERANCE` across hosts."""
TOLERANCE = 0.05


def run_case(name: str) -> dict[str, Any]:
    """Run one case and return the summary keys the golden file keeps."""
    summary = run_scenario(validate_scenario(CASES[name])).summary
    return {key: summary[key] for key in (*EXACT, *CLOSE, *LEARNED)}
