"""Transfers over the fabric: latency + shared bandwidth, store-and-forward, routes, bytes."""

from __future__ import annotations

import math
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.config import validate_scenario
from snakesim.errors import ConfigurationError
from snakesim.network import Channel, Fabric, build_fabric
from snakesim.sim import World
from tests.conftest import BW, LAT, MB, approx, end_times


def make_fabric(topology: dict[str, Any], links: dict[str, Any] | None = None,
                seed: int = 0) -> tuple[World, Fabric]:
    # These closed forms are the store-and-forward model's (the model before flows
    # became the default): it must keep reproducing them exactly.
    scenario = validate_scenario({
        "name": "t", "strategy": {"name": "snake"}, "topology": topology,
        "network": {"model": "store_and_forward"},
        "links": {"latency": LAT, "bandwidth": BW, **(links or {})}})
    world = World(seed)
    return world, build_fabric(world, scenario)


def line(n: int, links: dict[str, Any] | None = None) -> tuple[World, Fabric]:
    return make_fabric({"kind": "line", "nodes": n}, links)


def send_at(world: World, fabric: Fabric, at: float, src: str, dst: str,
            nbytes: int) -> simpy.Event:
    def go() -> Any:
        yield world.env.timeout(at)
        return (yield fabric.send(src, dst, nbytes, kind="model", round=0))
    return world.env.process(go())


# ----------------------------------------------------------------- timing
def test_single_hop_takes_latency_plus_size_over_bandwidth() -> None:
    world, fabric = line(2)
    done = fabric.send("n1", "n2", 3 * MB, kind="model", round=0)
    assert end_times(world, [done]) == [approx(LAT + 8 * 3 * MB / BW)]


def test_multi_hop_is_the_sum_of_its_hops() -> None:
    world, fabric = line(4, {"overrides": [
        {"between": ["n1", "n2"], "latency": 0.002, "bandwidth": 16e6},
        {"between": ["n2", "n3"], "latency": 0.03},
        {"between": ["n3", "n4"], "bandwidth": 4e6}]})
    done = fabric.send("n1", "n4", MB, kind="model", round=0)
    expected = (0.002 + 8 * MB / 16e6) + (0.03 + 8 * MB / BW) + (LAT + 8 * MB / 4e6)
    assert end_times(world, [done]) == [approx(expected)]


def test_two_equal_simultaneous_transfers_share_the_link() -> None:
    world, fabric = line(2)
    events = [fabric.send("n1", "n2", MB, kind="model", round=0) for _ in range(2)]
    assert end_times(world, events) == [approx(LAT + 2 * 8 * MB / BW)] * 2


def test_transfer_starting_mid_flight_gets_a_fair_share() -> None:
    # A (1 MB) alone for 0.5 s sends 0.5 MB; then A and B share 4 Mbps each, so A's
    # remaining 0.5 MB takes 1 s (A ends at 1.5 s); B has then sent 0.5 MB and sends
    # its other 0.5 MB alone at 8 Mbps in 0.5 s (B ends at 2.0 s). Latency comes after.
    world, fabric = line(2)
    a = send_at(world, fabric, 0.0, "n1", "n2", MB)
    b = send_at(world, fabric, 0.5, "n1", "n2", MB)
    assert end_times(world, [a, b]) == [approx(1.5 + LAT), approx(2.0 + LAT)]


def test_unequal_flows_leave_one_by_one() -> None:
    # 1, 2 and 3 MB at once: all three at 1/3 of the link until 1 MB each is sent (3 s),
    # then two at 1/2 until the 2 MB one is done (+2 s), then the last alone (+1 s).
    world, fabric = line(2, {"latency": 0})
    events = [fabric.send("n1", "n2", k * MB, kind="model", round=0) for k in (3, 1, 2)]
    assert end_times(world, events) == [approx(6.0), approx(3.0), approx(5.0)]


def test_opposite_directions_do_not_share() -> None:
    world, fabric = line(2)
    events = [fabric.send("n1", "n2", MB, kind="model", round=0),
              fabric.send("n2", "n1", MB, kind="model", round=0)]
    assert end_times(world, events) == [approx(LAT + 8 * MB / BW)] * 2


def test_store_and_forward_shares_only_the_hop_in_use() -> None:
    # The first transfer reaches n2->n3 after 1 s (its first hop, alone); by then the
    # second has 1 MB of its 2 MB left. Both then share n2->n3: 1 MB each at 4 Mbps,
    # so both arrive 2 s later.
    world, fabric = line(3, {"latency": 0})
    first = fabric.send("n1", "n3", MB, kind="model", round=0)
    second = fabric.send("n2", "n3", 2 * MB, kind="model", round=0)
    assert end_times(world, [first, second]) == [approx(3.0), approx(3.0)]


# ------------------------------------------------------------------ routes
def explicit(edges: list[tuple[str, str, float]], nodes: str = "abcd") -> tuple[World, Fabric]:
    return make_fabric({"kind": "explicit", "nodes": list(nodes),
                        "edges": [{"between": [u, v], "latency": lat} for u, v, lat in edges]})


def test_path_prefers_lowest_latency_over_fewer_hops() -> None:
    world, fabric = explicit([("a", "b", 0.1), ("a", "c", 0.01), ("c", "b", 0.01),
                              ("b", "d", 0.01)])
    assert fabric.path("a", "b") == ["a", "c", "b"]
    done = fabric.send("a", "b", MB, kind="model", round=0)
    assert end_times(world, [done]) == [approx(2 * (0.01 + 8 * MB / BW))]
    assert world.ledger.transfers[0].path == "a>c>b"


def test_path_ties_go_to_fewest_hops_then_lexicographic_order() -> None:
    _, fabric = explicit([("a", "b", 0.02), ("a", "c", 0.01), ("c", "b", 0.01),
                          ("b", "d", 0.01), ("c", "d", 0.01)])
    assert fabric.path("a", "b") == ["a", "b"]
    _, square = explicit([("a", "c", 0.01), ("c", "d", 0.01), ("a", "b", 0.01),
                          ("b", "d", 0.01)])
    assert square.path("a", "d") == ["a", "b", "d"]
    assert square.path("d", "a") == ["d", "b", "a"]
    assert square.path("a", "a") == ["a"]


# ------------------------------------------------------------------ ledger
def test_ledger_counts_bytes_per_hop_and_relays() -> None:
    world, fabric = line(4)
    fabric.send("n1", "n4", 5 * MB, kind="model", round=2)
    fabric.send("n2", "n1", MB, kind="grad", round=3)
    world.env.run()
    ledger = world.ledger
    assert dict(ledger.link_bytes) == {("n1", "n2"): 5 * MB, ("n2", "n3"): 5 * MB,
                                       ("n3", "n4"): 5 * MB, ("n2", "n1"): MB}
    assert dict(ledger.relayed_bytes) == {"n2": 5 * MB, "n3": 5 * MB}
    first, second = sorted(ledger.transfers, key=lambda t: t.transfer_id)
    assert (first.transfer_id, first.kind, first.round, first.src, first.dst, first.nbytes,
            first.hops, first.path, first.start_s) == (0, "model", 2, "n1", "n4", 5 * MB, 3,
                                                       "n1>n2>n3>n4", 0.0)
    assert first.end_s == approx(3 * (LAT + 8 * 5 * MB / BW))
    assert (second.transfer_id, second.path, second.hops) == (1, "n2>n1", 1)


def test_payload_is_the_value_and_self_sends_are_free() -> None:
    world, fabric = line(2)
    remote = fabric.send("n1", "n2", 10, kind="model", round=0, payload={"w": 1})
    local = fabric.send("n1", "n1", 10, kind="model", round=0, payload="same")
    world.env.run()
    assert remote.value == {"w": 1}
    assert local.value == "same"
    assert len(world.ledger.transfers) == 1
    assert world.ledger.transfers[0].transfer_id == 0


def test_zero_bytes_cost_only_latency() -> None:
    world, fabric = line(3)
    done = fabric.send("n1", "n3", 0, kind="ack", round=0)
    assert end_times(world, [done]) == [approx(2 * LAT)]


def test_unknown_nodes_raise_configuration_errors() -> None:
    _, fabric = line(2)
    with pytest.raises(ConfigurationError, match="unknown node"):
        fabric.send("n1", "nope", 1, kind="model", round=0)
    with pytest.raises(ConfigurationError, match="unknown node"):
        fabric.path("nope", "n1")
    with pytest.raises(ConfigurationError, match="not linked"):
        fabric.link_rate("n1", "n1")


# -------------------------------------------------------------- properties
Flows = st.lists(st.tuples(st.floats(0, 5), st.integers(1, 4 * MB)), min_size=1, max_size=8)


def run_channel(flows: list[tuple[float, int]], bandwidth: float) -> tuple[list[float], float]:
    """Finish times of flows ``(start_s, nbytes)`` on one channel, and its bits served."""
    env = simpy.Environment()
    channel = Channel(env, bandwidth)
    ends: list[float] = [0.0] * len(flows)

    def flow(i: int, start: float, nbytes: int) -> Any:
        yield env.timeout(start)
        yield channel.transmit(nbytes)
        ends[i] = float(env.now)

    for i, (start, nbytes) in enumerate(flows):
        env.process(flow(i, start, nbytes))
    env.run()
    assert channel.active_flows == 0
    return ends, channel.bits_served


@settings(max_examples=60, deadline=None)
@given(flows=Flows, bandwidth=st.floats(1e5, 1e9), factor=st.floats(1.0, 100.0))
def test_more_bandwidth_never_lengthens_a_transfer(flows: list[tuple[float, int]],
                                                   bandwidth: float, factor: float) -> None:
    slow, _ = run_channel(flows, bandwidth)
    fast, _ = run_channel(flows, bandwidth * factor)
    for f, s in zip(fast, slow, strict=True):
        assert f <= s * (1 + 1e-9) + 1e-12


@settings(max_examples=60, deadline=None)
@given(flows=Flows, bandwidth=st.floats(1e5, 1e9))
def test_bits_served_equal_the_sum_of_flows(flows: list[tuple[float, int]],
                                            bandwidth: float) -> None:
    _, served = run_channel(flows, bandwidth)
    # Bits served are integrated over simulated time; a flow starting at t carries the
    # float rounding of t (one ulp of t, times the bandwidth) into its own few bits.
    slack = sum(bandwidth * math.ulp(max(start, 1.0)) * 4 for start, _ in flows)
    assert served == pytest.approx(8 * sum(n for _, n in flows), rel=1e-8, abs=slack)


@settings(max_examples=60, deadline=None)
@given(flows=Flows, bandwidth=st.floats(1e5, 1e9))
def test_sharing_never_finishes_earlier_than_alone(flows: list[tuple[float, int]],
                                                   bandwidth: float) -> None:
    ends, _ = run_channel(flows, bandwidth)
    for (start, nbytes), end in zip(flows, ends, strict=True):
        alone = start + 8 * nbytes / bandwidth
        assert end >= alone * (1 - 1e-9)


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 4 * MB), min_size=1, max_size=10),
       bandwidth=st.floats(1e5, 1e9))
def test_a_busy_channel_is_work_conserving(sizes: list[int], bandwidth: float) -> None:
    ends, _ = run_channel([(0.0, n) for n in sizes], bandwidth)
    assert max(ends) == pytest.approx(8 * sum(sizes) / bandwidth, rel=1e-9)


# ---------------------------------------------------------- channel control
def test_paused_channel_resumes_where_it_stopped() -> None:
    env = simpy.Environment()
    channel = Channel(env, BW)
    done = channel.transmit(MB)

    def outage() -> Any:
        yield env.timeout(0.25)
        channel.set_bandwidth(0)
        yield env.timeout(1.0)
        channel.set_bandwidth(2 * BW)

    env.process(outage())
    env.run()
    # 0.25 MB before the outage, the other 0.75 MB at 2 MB/s after it.
    assert done.processed and float(env.now) == approx(1.25 + 0.375)
    assert channel.bits_served == approx(8 * MB)


def test_channel_rejects_bad_input() -> None:
    env = simpy.Environment()
    with pytest.raises(ValueError, match="bandwidth"):
        Channel(env, -1.0)
    with pytest.raises(ValueError, match="nbytes"):
        Channel(env, BW).transmit(-1)
