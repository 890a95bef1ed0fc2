"""The link model's details: asymmetric bandwidth, bandwidth traces, packet loss."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import simpy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from snakesim.config import validate_scenario
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.network import Fabric, build_fabric
from snakesim.network.links import read_trace
from snakesim.network.outages import OutageController
from snakesim.network.topology import build_graph
from snakesim.sim import World
from tests.conftest import BW, LAT, MB, approx


def build(links: dict[str, Any], outages: dict[str, Any] | None = None,
          nodes: int = 2) -> tuple[World, Fabric]:
    # The closed forms here are the store-and-forward model's; traces and outages under
    # flows are checked in test_flow_model.py.
    spec = validate_scenario({
        "name": "t", "strategy": {"name": "snake"}, "topology": {"kind": "line",
                                                                  "nodes": nodes},
        "network": {"model": "store_and_forward"},
        "links": {"latency": LAT, "bandwidth": BW, **links}, "outages": outages or {}})
    world = World(0)
    fabric = build_fabric(world, spec)
    controller = OutageController(world, fabric, spec.outages)
    controller.stop_when(world.env.event())  # keeps the processes; the run ends by `until`
    return world, fabric


def finish(world: World, events: list[simpy.Event], until: float = 1e4) -> list[float]:
    ends: dict[int, float] = {}
    for i, event in enumerate(events):
        event.callbacks.append(lambda _e, i=i: ends.__setitem__(i, world.now))
    world.env.run(until=until)
    return [ends[i] for i in range(len(events))]


def send(fabric: Fabric, src: str, dst: str, nbytes: int) -> simpy.Event:
    return fabric.send(src, dst, nbytes, kind="model", round=0)


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def piecewise_finish(bits: float, start: float, rows: list[tuple[float, float]],
                     initial: float) -> float:
    """When ``bits`` sent from ``start`` are out, the rate being ``initial`` before the
    first row and each row's rate from its time on (the integral solution, by hand)."""
    changes = [(t, r) for t, r in rows if t > start]
    rate = initial
    for t, r in rows:
        if t <= start:
            rate = r
    now, left = start, bits
    for t, r in changes:
        if rate > 0 and left <= rate * (t - now):
            return now + left / rate
        left -= rate * (t - now)
        now, rate = t, r
    return now + left / rate


# ------------------------------------------------------------------ asymmetric
def test_asymmetric_link_has_each_directions_own_time() -> None:
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "bandwidth": 16e6,
                                          "reverse_bandwidth": 4e6}]})
    down, up = send(fabric, "n1", "n2", 2 * MB), send(fabric, "n2", "n1", 2 * MB)
    assert finish(world, [down, up]) == [approx(LAT + 8 * 2 * MB / 16e6),
                                         approx(LAT + 8 * 2 * MB / 4e6)]


def test_between_order_decides_forward() -> None:
    _, fabric = build({"overrides": [{"between": ["n2", "n1"], "bandwidth": 16e6,
                                          "reverse_bandwidth": 4e6}]})
    assert fabric.link_rate("n2", "n1") == 16e6
    assert fabric.link_rate("n1", "n2") == 4e6


def test_graph_keeps_symmetric_links_plain() -> None:
    spec = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                              "topology": {"kind": "line", "nodes": 3},
                              "links": {"overrides": [
                                  {"between": ["n1", "n2"], "reverse_bandwidth": 1e6},
                                  {"between": ["n2", "n3"], "bandwidth": 5e6,
                                   "reverse_bandwidth": 5e6}]}})
    graph = build_graph(spec.topology, spec.links)
    assert graph.edges["n1", "n2"]["bandwidth_by_direction"] == {("n1", "n2"): 100e6,
                                                                ("n2", "n1"): 1e6}
    assert "bandwidth_by_direction" not in graph.edges["n2", "n3"]
    assert graph.edges["n2", "n3"]["bandwidth"] == 5e6


def test_explicit_edges_take_link_model_values() -> None:
    spec = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                              "topology": {"kind": "explicit", "nodes": ["a", "b"],
                                           "edges": [{"between": ["a", "b"],
                                                      "bandwidth": 8e6,
                                                      "reverse_bandwidth": 2e6,
                                                      "loss": 0.5}]}})
    world = World(0)
    fabric = build_fabric(world, spec)
    assert fabric.link_rate("a", "b") == 4e6
    assert fabric.link_rate("b", "a") == 1e6


def test_outage_restores_each_directions_own_rate() -> None:
    world, fabric = build(
        {"overrides": [{"between": ["n1", "n2"], "bandwidth": 16e6,
                        "reverse_bandwidth": 4e6}]},
        {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0.5, "duration": 2}]}]})
    down, up = send(fabric, "n1", "n2", 2 * MB), send(fabric, "n2", "n1", 2 * MB)
    # Each pauses for the 2 s the link is down.
    assert finish(world, [down, up]) == [approx(LAT + 1.0 + 2.0), approx(LAT + 4.0 + 2.0)]
    assert fabric.link_rate("n1", "n2") == 16e6
    assert fabric.link_rate("n2", "n1") == 4e6


# ------------------------------------------------------------------------ loss
@pytest.mark.parametrize("loss", [0.0, 0.1, 0.5, 0.9])
def test_loss_scales_transmission_time(loss: float) -> None:
    world, fabric = build({"loss": loss})
    done = send(fabric, "n1", "n2", 3 * MB)
    assert finish(world, [done]) == [approx(LAT + 8 * 3 * MB / BW / (1 - loss))]


def test_override_loss_wins_over_default() -> None:
    _, fabric = build({"loss": 0.5, "overrides": [{"between": ["n2", "n3"], "loss": 0}]},
                      nodes=3)
    assert fabric.link_rate("n1", "n2") == BW / 2
    assert fabric.link_rate("n3", "n2") == BW


@pytest.mark.parametrize("loss", [-0.1, 1.0, 1.5])
def test_loss_outside_unit_interval_is_rejected(loss: float) -> None:
    with pytest.raises(ScenarioError, match=r"links\.loss: input should be"):
        build({"loss": loss})


# ----------------------------------------------------------------------- trace
def test_trace_changes_a_transfers_time_piecewise(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n0.5,16e6\n1 s,4 Mbps\n")
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "trace": path}]})
    done = send(fabric, "n1", "n2", 2 * MB)
    # 0.5 s at 8 Mbps (4 Mbit), 0.5 s at 16 Mbps (8 Mbit), then 4 Mbit at 4 Mbps: 1 s.
    assert finish(world, [done]) == [approx(2.0 + LAT)]


def test_trace_direction_forward_leaves_reverse_alone(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n0,4e6\n")
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "trace": path,
                                          "trace_direction": "forward"}]})
    down, up = send(fabric, "n1", "n2", MB), send(fabric, "n2", "n1", MB)
    assert finish(world, [down, up]) == [approx(LAT + 2.0), approx(LAT + 1.0)]


def test_trace_reverse_and_loss(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n0,16e6\n")
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "trace": path,
                                          "trace_direction": "reverse", "loss": 0.5}]})
    down, up = send(fabric, "n1", "n2", MB), send(fabric, "n2", "n1", MB)
    assert finish(world, [down, up]) == [approx(LAT + 2.0), approx(LAT + 1.0)]


def test_repeating_trace_loops(tmp_path: Path) -> None:
    # 8 Mbps for 1 s, 0 for 1 s, again and again: 3 MB need 3 busy seconds -> 5 s.
    path = write(tmp_path, "time,bandwidth\n0,8e6\n1,0\n2,0\n")
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "trace": path,
                                          "trace_repeat": True}]})
    done = send(fabric, "n1", "n2", 3 * MB)
    assert finish(world, [done], until=1e6) == [approx(5.0 + LAT)]


def test_idle_repeating_trace_lets_the_run_end(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n0,8e6\n1,4e6\n2,0\n")
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "trace": path,
                                          "trace_repeat": True}]})
    send(fabric, "n1", "n2", MB)
    world.env.run()  # no `until`: the trace must not keep the run alive
    assert world.now < 3.0


def test_trace_and_outage_compose(tmp_path: Path) -> None:
    # Rate 8 Mbps, 16 Mbps from 1 s; the link is down from 0.5 s to 1.5 s.
    path = write(tmp_path, "time,bandwidth\n1,16e6\n")
    world, fabric = build(
        {"overrides": [{"between": ["n1", "n2"], "trace": path}]},
        {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0.5, "duration": 1}]}]})
    done = send(fabric, "n1", "n2", 2 * MB)
    # 4 Mbit by 0.5 s, nothing while down, the other 12 Mbit at 16 Mbps from 1.5 s.
    assert finish(world, [done]) == [approx(1.5 + 0.75 + LAT)]
    assert fabric.nominal_bandwidth("n1", "n2") == 16e6
    assert fabric.link_rate("n1", "n2") == 16e6


def test_trace_starts_idle_link_at_its_current_rate(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n0,2e6\n1,4e6\n")
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "trace": path}]})

    def later() -> Any:
        yield world.env.timeout(3)
        yield send(fabric, "n1", "n2", MB)

    process = world.env.process(later())
    assert finish(world, [process]) == [approx(3 + 2.0 + LAT)]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.tuples(st.floats(0.01, 5), st.floats(0.5e6, 20e6)), min_size=1,
                     max_size=6),
       start=st.floats(0, 6), nbytes=st.integers(1, 4 * MB))
def test_any_piecewise_trace_matches_the_integral(tmp_path: Path, rows: list[tuple[float,
                                                                                   float]],
                                                  start: float, nbytes: int) -> None:
    times, table = 0.0, []
    for gap, rate in rows:
        times += gap
        table.append((times, rate))
    text = "time,bandwidth\n" + "".join(f"{t!r},{r!r}\n" for t, r in table)
    path = write(tmp_path, text)
    world, fabric = build({"overrides": [{"between": ["n1", "n2"], "trace": path}]})

    def later() -> Any:
        yield world.env.timeout(start)
        yield send(fabric, "n1", "n2", nbytes)

    process = world.env.process(later())
    expected = piecewise_finish(8.0 * nbytes, start, table, BW) + LAT
    assert finish(world, [process], until=1e6) == [pytest.approx(expected, rel=1e-9)]


# ---------------------------------------------------------------------- errors
@pytest.mark.parametrize(("text", "message"), [
    ("when,bandwidth\n0,1e6\n", r"trace\.csv:1: the header must be 'time,bandwidth'"),
    ("", r"trace\.csv:1: the header"),
    ("time,bandwidth\n", r"trace\.csv: the trace has no rows"),
    ("time,bandwidth\n0,1e6\n1,2e6,3\n", r"trace\.csv:3: a row needs 2 cells"),
    ("time,bandwidth\n0,1e6\nsoon,2e6\n", r"trace\.csv:3: time: must be a number"),
    ("time,bandwidth\n0,fast\n", r"trace\.csv:2: bandwidth: must be a number"),
    ("time,bandwidth\n-1,1e6\n", r"trace\.csv:2: time must be a finite number >= 0"),
    ("time,bandwidth\n0,1e6\n2,1e6\n1,1e6\n", r"trace\.csv:4: times must increase"),
    ("time,bandwidth\n0,-5 Mbps\n", r"trace\.csv:2: bandwidth must be a finite number >= 0"),
])
def test_bad_trace_is_a_located_error(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ConfigurationError, match=r"^links\.overrides\.1\.trace: .*" + message):
        build({"overrides": [{"between": ["n1", "n2"], "latency": 0.1},
                             {"between": ["n1", "n2"], "trace": path}]})


def test_missing_trace_file_is_a_located_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError,
                       match=r"^links\.overrides\.0\.trace: .*nope\.csv: cannot read"):
        build({"overrides": [{"between": ["n1", "n2"], "trace": str(tmp_path / "nope.csv")}]})


def test_repeat_needs_a_period(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n1,1e6\n2,2e6\n")
    with pytest.raises(ConfigurationError, match="trace_repeat needs a first row at time 0"):
        read_trace(path, "links.overrides.0.trace", repeat=True)


def test_blank_lines_are_skipped_and_units_read(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n\n0 s, 1 MB/s\n500 ms,2 Mbps\n")
    trace = read_trace(path, "x", repeat=False)
    assert trace.times == (0.0, 0.5)
    assert trace.rates == (8e6, 2e6)


def test_explicit_edge_trace_error_names_its_key(tmp_path: Path) -> None:
    path = write(tmp_path, "time,bandwidth\n0,1e6\n0,2e6\n")
    spec = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                              "topology": {"kind": "explicit", "nodes": ["a", "b"],
                                           "edges": [{"between": ["a", "b"],
                                                      "trace": path}]}})
    with pytest.raises(ConfigurationError,
                       match=r"^topology\.edges\.0\.trace: .*trace\.csv:3: times must increase"):
        build_fabric(World(0), spec)
