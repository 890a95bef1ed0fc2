"""Compute on the fabric: FLOPs / FLOP/s, one job at a time per node, records."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from snakesim.config import validate_scenario
from snakesim.errors import ConfigurationError
from snakesim.network import Fabric, build_fabric
from snakesim.records import ComputeRecord
from snakesim.sim import World
from tests.conftest import end_times

RATE = 10e9


@dataclass(frozen=True)
class Job:
    flops: float
    peak_memory_bytes: int = 1000
    samples: int = 32

    def accepted(self) -> None:
        pass


def make_fabric() -> tuple[World, Fabric]:
    scenario = validate_scenario({
        "name": "t", "strategy": {"name": "fedavg"},
        "topology": {"kind": "star", "clients": 3},
        "nodes": {"compute": RATE, "server": {"compute": 4 * RATE}}})
    world = World(0)
    return world, build_fabric(world, scenario)


def test_duration_is_flops_over_rate() -> None:
    world, fabric = make_fabric()
    done = fabric.compute("n1", Job(5e9), kind="train", round=0)
    on_server = fabric.compute("server", Job(8e10), kind="eval", round=0)
    assert end_times(world, [done, on_server]) == [pytest.approx(0.5), pytest.approx(2.0)]


def test_jobs_on_one_node_run_back_to_back_in_order() -> None:
    world, fabric = make_fabric()
    jobs = [Job(2e10), Job(1e10), Job(3e10)]
    events = [fabric.compute("n1", job, kind="train", round=0) for job in jobs]
    assert end_times(world, events) == [pytest.approx(t) for t in (2.0, 3.0, 6.0)]
    assert [e.value for e in events] == jobs
    assert [(r.start_s, r.end_s) for r in world.ledger.computes] == [
        pytest.approx((0.0, 2.0)), pytest.approx((2.0, 3.0)), pytest.approx((3.0, 6.0))]


def test_a_job_queued_later_waits_for_the_running_one() -> None:
    world, fabric = make_fabric()
    first = fabric.compute("n1", Job(2e10), kind="train", round=0)

    def later() -> Any:
        yield world.env.timeout(0.5)
        return (yield fabric.compute("n1", Job(1e10), kind="train", round=0))

    second = world.env.process(later())
    assert end_times(world, [first, second]) == [pytest.approx(2.0), pytest.approx(3.0)]


def test_jobs_on_different_nodes_run_in_parallel() -> None:
    world, fabric = make_fabric()
    events = [fabric.compute(n, Job(1e10), kind="train", round=0) for n in fabric.clients]
    assert end_times(world, events) == [pytest.approx(1.0)] * 3


def test_compute_record_fields() -> None:
    world, fabric = make_fabric()
    job = Job(1.5e10, peak_memory_bytes=123_456, samples=64)
    fabric.compute("n2", job, kind="train", round=7)
    world.env.run()
    assert world.ledger.computes == [ComputeRecord(
        node="n2", kind="train", round=7, start_s=0.0, end_s=pytest.approx(1.5),
        flops=1.5e10, peak_memory_bytes=123_456, samples=64)]


def test_zero_flops_take_no_time() -> None:
    world, fabric = make_fabric()
    done = fabric.compute("n1", Job(0.0), kind="noop", round=0)
    assert end_times(world, [done]) == [0.0]


def test_bad_jobs_and_nodes_raise() -> None:
    _, fabric = make_fabric()
    with pytest.raises(ConfigurationError, match="unknown node"):
        fabric.compute("nope", Job(1.0), kind="train", round=0)
    with pytest.raises(ValueError, match="flops"):
        fabric.compute("n1", Job(-1.0), kind="train", round=0)


def test_fabric_queries_and_storage() -> None:
    world, fabric = make_fabric()
    assert fabric.clients == ["n1", "n2", "n3"]
    assert fabric.server == "server"
    assert [n.name for n in fabric.nodes] == ["n1", "n2", "n3", "server"]
    assert fabric.node("server").compute_flops_per_s == 4 * RATE
    assert fabric.now == 0.0
    fabric.store("n1", 500)
    fabric.store("n1", 200)
    assert world.ledger.storage_bytes["n1"] == 500
    with pytest.raises(ConfigurationError):
        fabric.store("nope", 1)


def test_a_job_over_the_memory_budget_does_not_run() -> None:
    from snakesim.errors import OutOfMemory

    world = World(0)
    scenario = validate_scenario({"name": "t", "strategy": {"name": "snake"},
                                  "topology": {"kind": "line", "nodes": 2},
                                  "nodes": {"memory": "1 MB"}})
    fabric = build_fabric(world, scenario)

    class Big:
        flops, peak_memory_bytes, samples = 1e9, 2_000_000, 1

    caught: list[BaseException] = []

    def strategy():  # type: ignore[no-untyped-def]
        try:
            yield fabric.compute("n1", Big(), kind="train", round=1)
        except OutOfMemory as error:
            caught.append(error)

    world.env.process(strategy())
    world.env.run()
    assert len(caught) == 1 and "node n1" in str(caught[0]) and "2 MB" in str(caught[0])
    assert [e.effect for e in world.ledger.effects] == ["oom"]
    assert world.ledger.computes == []
    assert not fabric.fits("n1", Big())
