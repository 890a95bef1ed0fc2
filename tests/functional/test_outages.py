"""Outages: paused and retried transfers, re-routing, lost and resumed jobs, seeded draws."""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.config import validate_scenario
from snakesim.config.schema import Scenario
from snakesim.experiments import run_scenario
from snakesim.network import Fabric, build_fabric
from snakesim.network.outages import OutageController
from snakesim.sim import World
from tests.conftest import small_scenario

MB = 1_000_000
LAT = 0.01
BW = 8e6  # 1 MB per second


def scenario(topology: dict[str, Any], outages: dict[str, Any], **extra: Any) -> Scenario:
    # Closed forms of the store-and-forward model; the flow model's own outage
    # guarantees are in test_flow_model.py.
    extra.setdefault("network", {"model": "store_and_forward"})
    return validate_scenario({"name": "t", "strategy": {"name": "snake"},
                              "topology": topology, "outages": outages,
                              "links": {"latency": LAT, "bandwidth": BW}, **extra})


def build(spec: Scenario, seed: int = 0) -> tuple[World, Fabric, OutageController]:
    world = World(seed)
    fabric = build_fabric(world, spec)
    return world, fabric, OutageController(world, fabric, spec.outages)


def finish(world: World, event: simpy.Event, until: float = 1e6) -> float:
    end: list[float] = []
    event.callbacks.append(lambda _e: end.append(world.now))
    world.env.run(until=until)
    return end[0]


class Job:
    def __init__(self, flops: float) -> None:
        self.flops, self.peak_memory_bytes, self.samples = flops, 0, 0

    def accepted(self) -> None:
        pass


@settings(max_examples=60, deadline=None)
@given(size_mb=st.floats(0.1, 5), start=st.floats(0.001, 8), duration=st.floats(0.01, 4))
def test_pause_delays_a_transfer_by_exactly_the_window_it_overlaps(
        size_mb: float, start: float, duration: float) -> None:
    nbytes = int(size_mb * MB)
    spec = scenario({"kind": "line", "nodes": 2},
                    {"links": [{"between": ["n1", "n2"],
                                "windows": [{"start": start, "duration": duration}]}]})
    world, fabric, _ = build(spec)
    end = finish(world, fabric.send("n1", "n2", nbytes, kind="m", round=0))
    transmit = 8 * nbytes / BW
    overlap = duration if start < transmit else 0.0  # the bits wait out the whole window
    assert end == pytest.approx(transmit + overlap + LAT, rel=1e-9)


def test_ring_delivers_by_the_other_arc_when_the_short_one_is_down() -> None:
    spec = scenario({"kind": "ring", "nodes": 6},
                    {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0,
                                                                      "duration": 100}]}]})
    world, fabric, _ = build(spec)
    done = world.env.process(_later(world, fabric, 0.5, "n1", "n3", MB))
    end = finish(world, done, until=50)
    record = world.ledger.transfers[0]
    assert record.path == "n1>n6>n5>n4>n3"
    assert end == pytest.approx(0.5 + 4 * (8 * MB / BW + LAT))
    assert "rerouted" in {e.effect for e in world.ledger.effects}


def test_retry_policy_fails_the_hop_and_reroutes_after_the_backoff() -> None:
    spec = scenario({"kind": "ring", "nodes": 4},
                    {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0.5,
                                                                      "duration": 100}]}],
                     "policy": {"transfers": "retry", "retry_backoff": "2 s"}})
    world, fabric, _ = build(spec)
    end = finish(world, fabric.send("n1", "n2", MB, kind="m", round=0), until=50)
    # The first try dies at 0.5 s; after 2 s it goes round: n1>n4>n3>n2.
    assert end == pytest.approx(0.5 + 2 + 3 * (8 * MB / BW + LAT))
    assert world.ledger.transfers[0].path == "n1>n4>n3>n2"
    assert [e.effect for e in world.ledger.effects][:1] == ["failed"]


def test_a_payload_with_no_live_route_waits_for_one() -> None:
    spec = scenario({"kind": "line", "nodes": 2},
                    {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0,
                                                                      "duration": 3}]}]})
    world, fabric, _ = build(spec)
    done = world.env.process(_later(world, fabric, 1.0, "n1", "n2", MB))
    assert finish(world, done) == pytest.approx(3 + 8 * MB / BW + LAT)
    assert "waited" in {e.effect for e in world.ledger.effects}


@pytest.mark.parametrize(("policy", "expected"), [("rerun", 4.0 + 2.0), ("resume", 2.0 + 3.0)])
def test_a_node_down_during_its_job_reruns_or_resumes_it(policy: str,
                                                         expected: float) -> None:
    spec = scenario({"kind": "line", "nodes": 2},
                    {"nodes": [{"node": "n1", "windows": [{"start": 1, "duration": 3}]}],
                     "policy": {"jobs": policy}},
                    nodes={"compute": "1 GFLOPS"})
    world, fabric, _ = build(spec)
    # 2 GFLOP at 1 GFLOPS: 2 s of work; down from 1 s to 4 s.
    end = finish(world, fabric.compute("n1", Job(2e9), kind="train", round=1))
    assert end == pytest.approx(expected)
    effects = {e.effect for e in world.ledger.effects}
    assert ("job_lost" if policy == "rerun" else "job_paused") in effects


def test_a_down_node_does_not_relay() -> None:
    spec = scenario({"kind": "ring", "nodes": 4},
                    {"nodes": [{"node": "n2", "windows": [{"start": 0, "duration": 100}]}]})
    world, fabric, _ = build(spec)
    done = world.env.process(_later(world, fabric, 0.1, "n1", "n3", MB))
    finish(world, done, until=50)
    assert world.ledger.transfers[0].path == "n1>n4>n3"


def test_periodic_windows_and_the_outage_table() -> None:
    spec = scenario({"kind": "line", "nodes": 2},
                    {"links": [{"between": ["n1", "n2"],
                                "windows": [{"start": 1, "duration": 0.5, "period": 2}]}]})
    world, _, _ = build(spec)
    world.env.run(until=6)
    starts = [(o.start_s, o.end_s) for o in world.ledger.outages]
    assert starts == [(1, 1.5), (3, 3.5), (5, 5.5)]


def stochastic_table(seed: int) -> list[tuple[float, float]]:
    spec = scenario({"kind": "line", "nodes": 3},
                    {"links": [{"between": ["n1", "n2"], "stochastic": {
                        "up": {"dist": "exponential", "mean": "5 s"},
                        "down": {"dist": "uniform", "low": "0.1 s", "high": "1 s"}}}]})
    world, _, _ = build(spec, seed)
    world.env.run(until=100)
    return [(o.start_s, o.end_s) for o in world.ledger.outages]


def test_stochastic_outages_follow_the_seed() -> None:
    assert stochastic_table(1) == stochastic_table(1)
    assert stochastic_table(1) != stochastic_table(2)
    assert len(stochastic_table(1)) > 5


def test_bad_outage_references_are_errors() -> None:
    spec = scenario({"kind": "line", "nodes": 3},
                    {"links": [{"between": ["n1", "n3"], "windows": [{"start": 0,
                                                                      "duration": 1}]}]})
    with pytest.raises(Exception, match=r"outages\.links\.0\.between"):
        build(spec)


@pytest.mark.slow
def test_outages_in_a_full_run_are_tabled_and_cost_time() -> None:
    base = small_scenario({"name": "fedavg"}, training={"rounds": 1})
    calm = run_scenario(validate_scenario(base))
    stormy = run_scenario(validate_scenario({**base, "outages": {"links": [
        {"between": ["n1", "server"], "windows": [{"start": 0, "duration": 5}]}]}}))
    assert stormy.summary["outage_events"] == 1
    assert stormy.summary["sim_time_s"] > calm.summary["sim_time_s"] + 4
    assert stormy.summary["total_bytes"] == calm.summary["total_bytes"]
    table = stormy.frames["outages"]
    assert isinstance(table, pd.DataFrame) and list(table["element"]) == ["link n1-server"]


def _later(world: World, fabric: Fabric, at: float, src: str, dst: str, nbytes: int) -> Any:
    yield world.env.timeout(at)
    return (yield fabric.send(src, dst, nbytes, kind="m", round=0))


def test_unknown_nodes_in_outages_are_located_errors(write_yaml) -> None:
    from snakesim.config import load_scenario
    from snakesim.errors import ScenarioError

    path = write_yaml({"name": "x", "strategy": {"name": "snake"}, "outages": {
        "links": [{"between": ["n1", "zz"], "windows": [{"start": 0, "duration": 1}]}],
        "nodes": [{"node": "n2"}]}})
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert lines == [f"{path}: outages.links.0.between: unknown node (got zz)",
                     f"{path}: outages.nodes.0: needs windows or stochastic"]


@settings(max_examples=40, deadline=None)
@given(sends=st.lists(st.tuples(st.floats(0, 5), st.integers(1, 6), st.integers(1, 6),
                                st.integers(1, 3 * MB)), min_size=1, max_size=8),
       down=st.floats(0, 5), policy=st.sampled_from(["pause", "retry"]))
def test_bytes_sent_on_each_link_are_the_bytes_received(
        sends: list[tuple[float, int, int, int]], down: float, policy: str) -> None:
    spec = scenario({"kind": "ring", "nodes": 6},
                    {"links": [{"between": ["n1", "n2"],
                                "windows": [{"start": down, "duration": 2}]}],
                     "policy": {"transfers": policy, "retry_backoff": "0.5 s"}})
    world, fabric, _ = build(spec)
    for at, a, b, nbytes in sends:
        world.env.process(_later(world, fabric, at, f"n{a}", f"n{b}", nbytes))
    world.env.run(until=1e4)
    delivered = list(world.ledger.transfers)
    assert len(delivered) == sum(1 for _, a, b, _ in sends if a != b)  # all arrive
    expected: dict[tuple[str, str], int] = {}
    for t in delivered:
        hops = t.path.split(">")
        assert hops[0] == t.src and hops[-1] == t.dst and len(hops) - 1 == t.hops
        for u, v in itertools.pairwise(hops):
            expected[(u, v)] = expected.get((u, v), 0) + t.nbytes
    # Each link direction carried exactly the bytes of the payloads that crossed it:
    # a failed (retried) attempt delivers nothing and counts nothing.
    assert dict(world.ledger.link_bytes) == expected


def test_two_outage_entries_on_one_link_combine() -> None:
    # Windows [0, 10 s) and [5 s, 6 s) on one link: it is down until 10 s, not up at 6 s.
    spec = scenario({"kind": "line", "nodes": 2},
                    {"links": [{"between": ["n1", "n2"], "windows": [{"start": 0,
                                                                      "duration": 10}]},
                               {"between": ["n2", "n1"], "windows": [{"start": 5,
                                                                      "duration": 1}]}]})
    world, fabric, controller = build(spec)
    done = world.env.process(_later(world, fabric, 0.0, "n1", "n2", 1000))
    world.env.run(until=done)
    controller.close()
    assert world.now >= 10
    outages = world.ledger.to_frames("r", "s", [], {})["outages"]
    assert list(zip(outages["start_s"], outages["end_s"], strict=True)) == [(0.0, 10.0)]
