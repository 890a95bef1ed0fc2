"""Properties of Snake Learning's route orders, window rules and frozen-weight formats."""

from __future__ import annotations

import math
from itertools import pairwise

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.learning.costs.precision import round_through, stored_bytes
from snakesim.strategies.assignment import even_counts, memory_windows, sliding_window
from snakesim.strategies.routes import (
    _nearest_neighbour,
    by_compute,
    shortest_tour,
    tour_length,
)

FAST = settings(max_examples=60, deadline=None)

points_st = st.lists(st.tuples(st.floats(0, 100), st.floats(0, 100)), min_size=1, max_size=9)


def _euclid(points: list[tuple[float, float]]):  # type: ignore[no-untyped-def]
    where = {f"n{i}": p for i, p in enumerate(points)}

    def distance(a: str, b: str) -> float:
        return math.dist(where[a], where[b])

    return list(where), distance


# ------------------------------------------------------------------------ routes
@FAST
@given(points=points_st)
def test_tour_visits_every_node_once_from_the_first(points: list[tuple[float, float]]) -> None:
    nodes, distance = _euclid(points)
    tour = shortest_tour(nodes, distance)
    assert sorted(tour) == sorted(nodes)
    assert tour[0] == nodes[0]
    if len(nodes) > 3:
        assert tour_length(tour, distance) <= tour_length(
            _nearest_neighbour(nodes, distance), distance) + 1e-9


@FAST
@given(n=st.integers(4, 10), data=st.data())
def test_tour_of_points_on_a_circle_is_the_circle(n: int, data: st.DataObject) -> None:
    # 2-opt leaves no crossing, and the only tour without one in convex position is the hull.
    order = data.draw(st.permutations(range(n)))
    points = [(math.cos(2 * math.pi * k / n), math.sin(2 * math.pi * k / n)) for k in order]
    nodes, distance = _euclid(points)
    perimeter = n * 2 * math.sin(math.pi / n)
    assert tour_length(shortest_tour(nodes, distance), distance) == pytest.approx(perimeter)


def test_tour_is_deterministic_on_ties() -> None:
    nodes = ["a", "b", "c", "d", "e"]
    assert shortest_tour(nodes, lambda u, v: 1.0) == nodes


@FAST
@given(compute=st.lists(st.sampled_from([1.0, 2.0, 5.0, 10.0]), min_size=1, max_size=10))
def test_by_compute_is_fastest_first_and_stable(compute: list[float]) -> None:
    nodes = [f"n{i}" for i in range(len(compute))]
    order = by_compute(nodes, compute)
    rate = dict(zip(nodes, compute, strict=True))
    assert sorted(order) == sorted(nodes)
    for a, b in pairwise(order):
        assert rate[a] > rate[b] or (rate[a] == rate[b] and nodes.index(a) < nodes.index(b))


# ----------------------------------------------------------------------- windows
@FAST
@given(n_groups=st.integers(1, 12), data=st.data())
def test_sliding_window_moves_one_group_per_hop(n_groups: int, data: st.DataObject) -> None:
    groups = list(range(n_groups))
    width = data.draw(st.integers(1, n_groups))
    windows = [sliding_window(hop, groups, width) for hop in range(3 * n_groups)]
    assert windows[0] == groups[:width]
    for before, after in pairwise(windows):
        assert len(after) == width and after == list(range(after[0], after[0] + width))
        moved = after[0] == before[0] + 1
        restarted = after[0] == 0 and before[-1] == n_groups - 1
        assert moved or restarted


@FAST
@given(n_nodes=st.integers(1, 10), n_groups=st.integers(1, 12))
def test_even_counts_differ_by_at_most_one(n_nodes: int, n_groups: int) -> None:
    counts = even_counts(n_nodes, n_groups)
    assert max(counts) - min(counts) <= 1 and sum(counts) == max(n_nodes, n_groups)


@FAST
@given(sizes=st.lists(st.integers(1, 50), min_size=1, max_size=8),
       budgets=st.lists(st.integers(0, 120), min_size=1, max_size=8))
def test_memory_windows_are_the_largest_that_fit(sizes: list[int], budgets: list[int]) -> None:
    groups = list(range(len(sizes)))

    def fits(node: int, window: list[int]) -> bool:
        return sum(sizes[g] for g in window) <= budgets[node]

    windows = memory_windows(len(budgets), groups, fits)
    start = 0
    for node, window in enumerate(windows):
        assert not window or fits(node, window)
        if fits(node, groups[start:start + 1]):
            # The crawl: contiguous from where the last window ended, as large as fits.
            assert window == groups[start:start + len(window)]
            end = start + len(window)
            assert end == len(groups) or not fits(node, groups[start:end + 1])
            start = end % len(groups)
        elif window:
            # Nothing fits where the crawl is: a contiguous window elsewhere that fits,
            # and none larger does; the crawl does not move.
            at = window[0]
            assert window == groups[at:at + len(window)]
            longest = max(max((n for n in range(1, len(groups) - s + 1)
                               if fits(node, groups[s:s + n])), default=0)
                          for s in range(len(groups)))
            assert len(window) == longest
        else:  # not even one group fits anywhere
            assert not any(fits(node, [g]) for g in groups)


# ---------------------------------------------------------------- frozen formats
@pytest.mark.parametrize(("fmt", "per_element", "extra"),
                         [("fp32", 4, 0), ("fp16", 2, 0), ("bf16", 2, 0), ("int8", 1, 4)])
def test_stored_bytes_per_format(fmt: str, per_element: int, extra: int) -> None:
    t = torch.zeros(6, 5)
    assert stored_bytes(t, fmt) == 30 * per_element + extra
    assert stored_bytes(torch.zeros(3, dtype=torch.int64), fmt) == 24  # integers as stored


@FAST
@given(values=st.lists(st.floats(-100, 100, width=32), min_size=1, max_size=50),
       fmt=st.sampled_from(["fp16", "bf16", "int8"]))
def test_rounding_is_close_and_idempotent(values: list[float], fmt: str) -> None:
    x = torch.tensor(values)
    once = round_through(x, fmt)
    assert once.dtype == x.dtype
    bound = {"fp16": 1e-3, "bf16": 8e-3, "int8": 1 / 254 * 1.01}[fmt]
    scale = x.abs() if fmt != "int8" else x.abs().max()
    assert ((once - x).abs() <= bound * scale + 1e-6).all()
    assert torch.allclose(round_through(once, fmt), once, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("fmt", ["fp16", "bf16", "int8"])
def test_memory_counts_frozen_groups_at_their_format(fmt: str) -> None:
    from snakesim.learning.costs.model import CostModel
    from snakesim.learning.models.stack import digits_cnn

    costs = CostModel(lambda: digits_cnn(width=4), (1, 8, 8), "adam", 0.0)
    full, small = costs.memory([1, 4], 8), costs.memory([1, 4], 8, frozen_dtype=fmt)
    frozen = (0, 2, 3)
    assert full.weights - small.weights == sum(
        costs.group_bytes(g) - costs.group_bytes(g, fmt) for g in frozen)
    if fmt != "int8":
        assert small.weights == costs.group_bytes(1) + costs.group_bytes(4) + sum(
            costs.group_bytes(g) // 2 for g in frozen)
    assert (small.gradients, small.optimizer, small.activations) == (
        full.gradients, full.optimizer, full.activations)
