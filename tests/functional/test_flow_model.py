"""The flow network model: one flow per transfer, max-min shares over its route, TCP.

The fluid transport has closed forms (latency + bits / share); the TCP transport must
agree with `snakesim.network.tcp.single_flow_time` for a flow alone on its path, and
both must keep the outage guarantees of the store-and-forward model.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.config import validate_scenario
from snakesim.network import Fabric, build_fabric
from snakesim.network.tcp import TcpSettings, single_flow_time
from snakesim.sim import World
from tests.conftest import BW, LAT, MB, approx

# The closed forms below are for max-min shares; RTT-weighted sharing (the default) is
# checked on its own and against ns-3.
FLUID = {"model": "flow", "transport": "fluid", "sharing": "max_min"}
TCP = {"model": "flow", "transport": "tcp", "sharing": "max_min"}


def fabric_of(topology: dict[str, Any], network: dict[str, Any],
              links: dict[str, Any] | None = None,
              outages: dict[str, Any] | None = None) -> tuple[World, Fabric]:
    scenario = validate_scenario({
        "name": "t", "strategy": {"name": "snake"}, "topology": topology,
        "network": network, "outages": outages or {},
        "links": {"latency": LAT, "bandwidth": BW, **(links or {})}})
    world = World(0)
    return world, build_fabric(world, scenario)


def ends(world: World, fabric: Fabric, sends: list[tuple[float, str, str, int]]) -> list[float]:
    """Arrival times of ``(start, src, dst, nbytes)`` sends."""
    done: dict[int, float] = {}

    def go(i: int, at: float, src: str, dst: str, nbytes: int) -> Any:
        yield world.env.timeout(at)
        yield fabric.send(src, dst, nbytes, kind="model", round=0)
        done[i] = world.now

    for i, send in enumerate(sends):
        world.env.process(go(i, *send))
    world.env.run()
    return [done[i] for i in range(len(sends))]


def line(n: int, network: dict[str, Any], **kw: Any) -> tuple[World, Fabric]:
    return fabric_of({"kind": "line", "nodes": n}, network, **kw)


@given(hops=st.integers(1, 5), size=st.integers(1, 20 * MB))
@settings(max_examples=30, deadline=None)
def test_a_fluid_flow_pipelines_across_hops(hops: int, size: int) -> None:
    world, fabric = line(hops + 1, FLUID)
    assert ends(world, fabric, [(0, "n1", f"n{hops + 1}", size)]) == [
        approx(hops * LAT + 8 * size / BW)]


def test_a_bottleneck_sets_the_rate_of_the_whole_route() -> None:
    world, fabric = line(4, FLUID, links={"overrides": [
        {"between": ["n2", "n3"], "bandwidth": BW / 4}]})
    assert ends(world, fabric, [(0, "n1", "n4", MB)]) == [approx(3 * LAT + 4 * 8 * MB / BW)]


def test_flows_converging_on_one_link_share_it_max_min() -> None:
    # Two clients upload through the server's only link (a line n1 - n2 - n3: n1 and n2
    # both send to n3, so both cross n2 -> n3; n1's flow also crosses n1 -> n2).
    world, fabric = line(3, FLUID)
    first, second = ends(world, fabric, [(0, "n1", "n3", MB), (0, "n2", "n3", MB)])
    assert first == approx(2 * LAT + 2 * 8 * MB / BW)
    assert second == approx(LAT + 2 * 8 * MB / BW)


def test_a_flow_that_ends_frees_its_share() -> None:
    world, fabric = line(2, FLUID)
    short, long = ends(world, fabric, [(0, "n1", "n2", MB), (0, "n1", "n2", 3 * MB)])
    assert short == approx(LAT + 2 * 8 * MB / BW)
    assert long == approx(LAT + 2 * 8 * MB / BW + 8 * 2 * MB / BW)


@pytest.mark.parametrize(("hops", "size", "buffer"), [
    (1, 100_000, "4 MiB"), (1, MB, "4 MiB"), (1, 10 * MB, "4 MiB"), (3, 10 * MB, "4 MiB"),
    (1, 10 * MB, "128 KiB"), (2, 50_000, "128 KiB")])
def test_a_tcp_flow_alone_matches_the_closed_form(hops: int, size: int, buffer: str) -> None:
    world, fabric = line(hops + 1, {**TCP, "tcp": {"buffer": buffer}},
                         links={"bandwidth": "100 Mbps", "latency": "5 ms"})
    settings_ = TcpSettings(buffer_bytes=131072 if buffer == "128 KiB" else 4 * 2**20)
    expected = single_flow_time(size, [(100e6, 0.005)] * hops, settings_)
    assert ends(world, fabric, [(0, "n1", f"n{hops + 1}", size)]) == [pytest.approx(
        expected, rel=1e-9)]


@given(start=st.floats(0.0, 5000.0), size=st.integers(1, 200 * MB),
       bandwidth=st.sampled_from(["100 Mbps", "10 Gbps", "100 Gbps"]))
@settings(max_examples=25, deadline=None)
def test_slow_start_is_the_same_late_in_a_run(start: float, size: int,
                                              bandwidth: str) -> None:
    """Float rounding grows with the clock: a window sent at t = 20 s on a 10 Gbps link
    left ~1e-5 bits 'unsent', the window never doubled and a 5 GB upload took 28x its
    time. A flow must follow the closed form whenever it starts."""
    world, fabric = line(3, TCP, links={"bandwidth": bandwidth, "latency": "0.5 ms"})
    rate = {"100 Mbps": 100e6, "10 Gbps": 10e9, "100 Gbps": 100e9}[bandwidth]
    expected = single_flow_time(size, [(rate, 0.0005)] * 2, TcpSettings())
    [end] = ends(world, fabric, [(start, "n1", "n3", size)])
    assert end - start == pytest.approx(expected, rel=1e-6)


def test_a_connection_keeps_its_window_and_restarts_after_idle() -> None:
    world, fabric = line(2, TCP, links={"bandwidth": "100 Mbps", "latency": "5 ms"})
    first, second, third = ends(world, fabric, [(0, "n1", "n2", MB), (0.2, "n1", "n2", MB),
                                               (5.0, "n1", "n2", MB)])
    fresh = single_flow_time(MB, [(100e6, 0.005)], TcpSettings())
    assert first == pytest.approx(fresh, rel=1e-9)
    # Back to back: no handshake and a grown window, so faster than a new connection.
    assert second - 0.2 < fresh - 0.01
    # Idle for seconds (past the RTO): slow start again, but no new handshake.
    again = single_flow_time(MB, [(100e6, 0.005)], TcpSettings(), connected=True)
    assert third - 5.0 == pytest.approx(again, rel=1e-9)


def test_a_link_outage_delays_a_fluid_flow_by_exactly_the_overlap() -> None:
    outages = {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0.5,
                                                                "duration": 2}]}]}
    world, fabric = line(3, FLUID, outages=outages)
    from snakesim.network.outages import OutageController

    scenario_outages = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                                          "topology": {"kind": "line", "nodes": 3},
                                          "outages": outages}).outages
    controller = OutageController(world, fabric, scenario_outages)
    done = ends(world, fabric, [(0, "n1", "n3", 2 * MB)])
    controller.close()
    assert done == [approx(2 * LAT + 8 * 2 * MB / BW + 2)]


def test_retry_restarts_a_failed_flow_from_its_source() -> None:
    outages = {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0.5,
                                                                "duration": 1}]}],
               "policy": {"transfers": "retry", "retry_backoff": 2}}
    world, fabric = line(2, FLUID, outages=outages)
    from snakesim.network.outages import OutageController

    spec = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                              "topology": {"kind": "line", "nodes": 2},
                              "outages": outages}).outages
    controller = OutageController(world, fabric, spec)
    done = ends(world, fabric, [(0, "n1", "n2", MB)])
    controller.close()
    assert done == [approx(0.5 + 2 + LAT + 8 * MB / BW)]  # fails at 0.5, again at 2.5


@given(sends=st.lists(st.tuples(st.floats(0, 5), st.integers(1, 6), st.integers(1, 6),
                                st.integers(1, 3 * MB)), min_size=1, max_size=8),
       down=st.floats(0, 5), policy=st.sampled_from(["pause", "retry"]),
       network=st.sampled_from([FLUID, TCP]))
@settings(max_examples=40, deadline=None)
def test_bytes_on_each_link_are_the_bytes_of_the_flows_that_crossed_it(
        sends: list[tuple[float, int, int, int]], down: float, policy: str,
        network: dict[str, Any]) -> None:
    from snakesim.network.outages import OutageController

    outages = {"links": [{"between": ["n1", "n2"], "windows": [{"start": down,
                                                                "duration": 2}]}],
               "policy": {"transfers": policy, "retry_backoff": "0.5 s"}}
    world, fabric = fabric_of({"kind": "ring", "nodes": 6}, network, outages=outages)
    spec = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                              "topology": {"kind": "ring", "nodes": 6},
                              "outages": outages}).outages
    controller = OutageController(world, fabric, spec)
    real = [s for s in sends if s[1] != s[2]]
    ends(world, fabric, [(at, f"n{a}", f"n{b}", n) for at, a, b, n in real])
    controller.close()
    expected: dict[tuple[str, str], int] = {}
    for t in world.ledger.transfers:
        hops = t.path.split(">")
        assert hops[0] == t.src and hops[-1] == t.dst and len(hops) - 1 == t.hops
        for key in itertools.pairwise(hops):
            expected[key] = expected.get(key, 0) + t.nbytes
    assert len(world.ledger.transfers) == len(real)  # every one arrives
    assert dict(world.ledger.link_bytes) == expected


@pytest.mark.slow
def test_a_flow_model_run_is_deterministic_and_uses_the_tcp_costs() -> None:
    from snakesim.experiments.run import run_scenario
    from tests.conftest import small_scenario

    def run(network: dict[str, Any]) -> dict[str, Any]:
        data = small_scenario({"name": "fedavg"}, mode="cost_only", network=network)
        return run_scenario(validate_scenario(data)).summary

    tcp, again, fluid = run(TCP), run(TCP), run(FLUID)
    assert tcp == again
    assert tcp["total_bytes"] == fluid["total_bytes"]
    assert tcp["sim_time_s"] > fluid["sim_time_s"]  # handshakes, headers, slow start
    assert run({"model": "store_and_forward"})["sim_time_s"] == fluid["sim_time_s"]


def test_stalled_flow_is_reported(tmp_path: Any) -> None:
    from snakesim.errors import SimulationStalled
    from snakesim.experiments.run import run_scenario
    from tests.conftest import small_scenario

    trace = tmp_path / "t.csv"
    trace.write_text("time,bandwidth\n0,0\n", encoding="utf-8")
    data = small_scenario({"name": "fedavg"}, mode="cost_only", network=TCP,
                          links={"overrides": [{"between": ["n2", "server"],
                                                "trace": str(trace)}]})
    with pytest.raises(SimulationStalled, match="server -> n2"):
        run_scenario(validate_scenario(data))


def test_events_ignore_a_superseded_wake_up() -> None:
    # Many flows starting and ending at different times on one link: every flow's rate
    # changes often; each must still end exactly once, at a consistent time.
    world, fabric = line(2, FLUID)
    sends = [(0.1 * i, "n1", "n2", (i % 4 + 1) * 100_000) for i in range(40)]
    done = ends(world, fabric, sends)
    assert len(done) == 40 and all(d > s[0] for d, s in zip(done, sends, strict=True))
    total = sum(s[3] for s in sends) * 8 / BW
    assert max(done) >= total + LAT - 1e-9
    assert isinstance(world.env, simpy.Environment)


@pytest.mark.parametrize("network", [FLUID, TCP, {"model": "store_and_forward"}])
def test_transfers_name_their_bottleneck_and_mean_rate(network: dict[str, Any]) -> None:
    world, fabric = line(4, network, links={"overrides": [
        {"between": ["n2", "n3"], "bandwidth": BW / 4}]})
    ends(world, fabric, [(0, "n1", "n4", MB)])
    table = world.ledger.to_frames("r", "s", [], {})["transfers"]
    row = table.iloc[0]
    assert row["bottleneck"] == "n2>n3"
    assert row["mean_rate_bps"] == approx(8 * MB / (row["end_s"] - row["start_s"]))
    assert row["mean_rate_bps"] < BW / 4
