"""A run that cannot make progress is an error naming what is stuck, never a result."""

from __future__ import annotations

from pathlib import Path

import pytest

from snakesim.config import validate_scenario
from snakesim.errors import SimulationStalled
from snakesim.experiments.run import run_scenario
from tests.conftest import small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def stalled(tmp_path: Path, trace: str, **changes: object) -> SimulationStalled:
    path = tmp_path / "trace.csv"
    path.write_text(trace, encoding="utf-8")
    data = small_scenario({"name": "fedavg"}, mode="cost_only",
                          links={"overrides": [{"between": ["n2", "server"],
                                                "trace": str(path)}]}, **changes)
    with pytest.raises(SimulationStalled) as caught:
        run_scenario(validate_scenario(data))
    return caught.value


def test_a_trace_that_drops_to_zero_for_good_stops_the_run(tmp_path: Path) -> None:
    error = stalled(tmp_path, "time,bandwidth\n0,100e6\n0.05,0\n")
    assert "n2" in str(error) and "0 bit/s" in str(error)
    assert error.unfinished and error.at > 0.05


def test_a_trace_at_zero_from_the_start_stops_the_run(tmp_path: Path) -> None:
    error = stalled(tmp_path, "time,bandwidth\n0,0\n")
    assert "transfer" in str(error) and "server -> n2" in str(error)


def test_a_trace_that_comes_back_is_not_a_stall(tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("time,bandwidth\n0,100e6\n0.05,0\n30,100e6\n", encoding="utf-8")
    data = small_scenario({"name": "fedavg"}, mode="cost_only",
                          links={"overrides": [{"between": ["n2", "server"],
                                                "trace": str(path)}]})
    result = run_scenario(validate_scenario(data))
    assert result.summary["rounds"] == 2 and result.summary["sim_time_s"] > 30


def test_a_long_outage_is_waited_for_not_skipped() -> None:
    # Snake's P2P hops in a star go through the server: while it is down none moves, and
    # the run waits for the window's end (1e9 s) rather than stopping or claiming success.
    data = small_scenario({"name": "snake"}, mode="cost_only",
                          outages={"nodes": [{"node": "server", "windows": [
                              {"start": "0.01 s", "duration": "1e9 s"}]}]})
    assert run_scenario(validate_scenario(data)).summary["sim_time_s"] >= 1e9


@pytest.mark.parametrize("network", [{"model": "store_and_forward"}, {"model": "flow"}])
def test_a_dead_trace_is_a_stall_even_while_outages_keep_the_clock_going(
        tmp_path: Path, network: dict[str, str]) -> None:
    # A stochastic outage elsewhere never lets the event queue run dry, so the stall is
    # caught where it happens: flows on a direction whose trace is at 0 for good.
    flapping = {"links": [{"between": ["n1", "server"], "stochastic": {
        "up": {"dist": "exponential", "mean": "2 s"},
        "down": {"dist": "fixed", "value": "100 ms"}}}]}
    error = stalled(tmp_path, "time,bandwidth\n0,100e6\n0.05,0\n", outages=flapping,
                    network=network)
    assert "0 bit/s" in str(error)
