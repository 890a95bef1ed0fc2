"""Placing sweep runs on GPUs (the logic, without a GPU)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snakesim.experiments.placement import GpuSlots, on_gpu, share, wants_gpu


def test_one_run_per_gpu_then_the_least_loaded() -> None:
    slots = GpuSlots(2)
    assert [slots.acquire(), slots.acquire()] == [0, 1]
    assert slots.acquire() == 0  # a third run shares the lowest least-loaded GPU
    slots.release(1)
    assert slots.acquire() == 1 and slots.load == [2, 1]
    with pytest.raises(ValueError, match="holds no run"):
        GpuSlots(1).release(0)
    with pytest.raises(ValueError, match="at least one GPU"):
        GpuSlots(0)


@given(gpus=st.integers(1, 8), events=st.lists(st.booleans(), max_size=60))
def test_loads_never_differ_by_more_than_one_when_runs_only_start(
        gpus: int, events: list[bool]) -> None:
    slots, held = GpuSlots(gpus), []
    for start in events:
        if start or not held:
            held.append(slots.acquire())
        else:
            slots.release(held.pop(0))
        assert sum(slots.load) == len(held)
    if all(events):  # only starts: balanced
        assert max(slots.load) - min(slots.load) <= 1


@pytest.mark.parametrize(("workers", "gpus", "fraction"),
                         [(1, 1, 1.0), (2, 2, 1.0), (4, 2, 0.5), (3, 2, 0.5), (8, 3, 1 / 3)])
def test_runs_sharing_a_gpu_split_its_memory(workers: int, gpus: int, fraction: float) -> None:
    assert share(workers, gpus) == pytest.approx(fraction)


def test_only_points_that_leave_the_device_to_the_sweep_are_placed() -> None:
    assert wants_gpu({}) and wants_gpu({"execution": {"device": "cuda"}})
    assert not wants_gpu({"execution": {"device": "cpu"}})
    assert not wants_gpu({"execution": {"device": "cuda:1"}})  # named: kept
    placed = on_gpu({"name": "x", "execution": {"batch_clients": 4}}, 3)
    assert placed["execution"] == {"batch_clients": 4, "device": "cuda:3"}
