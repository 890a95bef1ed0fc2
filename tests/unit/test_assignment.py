"""Properties of `snakesim.strategies.assignment`: layer groups per node of a route."""

from __future__ import annotations

import math

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from snakesim.strategies.assignment import contiguous_windows, proportional_counts

FAST = settings(max_examples=100, deadline=None)

weights_st = st.lists(st.floats(min_value=1e-3, max_value=1e6, allow_nan=False,
                                allow_infinity=False), min_size=1, max_size=12)


# -------------------------------------------------------------- proportional_counts
@FAST
@given(weights=weights_st, n_groups=st.integers(1, 40))
def test_counts_are_positive_and_sum_to_the_larger_of_groups_and_nodes(
        weights: list[float], n_groups: int) -> None:
    counts = proportional_counts(weights, n_groups)
    assert len(counts) == len(weights)
    assert all(c >= 1 for c in counts)
    assert sum(counts) == max(n_groups, len(weights))


@FAST
@given(weights=weights_st, n_groups=st.integers(1, 40))
# Rounding makes the ideal shares of these unequal weights equal; a position-only tie
# break once gave the first (slower) node the extra group: [3, 2, 2].
@example(weights=[1.85802686710951, 1.85802686710951, 1.8580268671095101], n_groups=7)
def test_counts_are_monotone_in_weight(weights: list[float], n_groups: int) -> None:
    counts = proportional_counts(weights, n_groups)
    for i, wi in enumerate(weights):
        for j, wj in enumerate(weights):
            if wi > wj:
                assert counts[i] >= counts[j], (weights, n_groups, counts)


@FAST
@given(weight=st.floats(1e-3, 1e6), n_nodes=st.integers(1, 12), n_groups=st.integers(1, 40))
def test_equal_weights_give_near_equal_counts(weight: float, n_nodes: int,
                                              n_groups: int) -> None:
    counts = proportional_counts([weight] * n_nodes, n_groups)
    assert max(counts) - min(counts) <= 1


@FAST
@given(weights=weights_st, n_groups=st.integers(1, 40),
       scale=st.sampled_from([0.5, 2.0, 4.0, 1024.0]))
def test_counts_depend_on_relative_weights_only(weights: list[float], n_groups: int,
                                                scale: float) -> None:
    # Power-of-two scaling is exact in binary floating point.
    assert (proportional_counts(weights, n_groups)
            == proportional_counts([w * scale for w in weights], n_groups))


def test_counts_match_hand_computation() -> None:
    assert proportional_counts([1.0, 1.0], 4) == [2, 2]
    assert proportional_counts([3.0, 1.0], 4) == [3, 1]
    assert proportional_counts([100.0, 1.0, 1.0], 4) == [2, 1, 1]
    assert proportional_counts([1.0, 1.0, 1.0], 2) == [1, 1, 1]


@pytest.mark.parametrize(
    ("weights", "n_groups"),
    [([], 3), ([1.0, 0.0], 3), ([1.0, -1.0], 3), ([math.nan], 3), ([math.inf, 1.0], 3),
     ([1.0], 0), ([1.0, 2.0], -1)],
)
def test_bad_inputs_raise(weights: list[float], n_groups: int) -> None:
    with pytest.raises(ValueError):
        proportional_counts(weights, n_groups)


# --------------------------------------------------------------- contiguous_windows
@FAST
@given(counts=st.lists(st.integers(1, 6), min_size=1, max_size=10),
       n_groups=st.integers(1, 12))
def test_windows_are_contiguous_with_wrap_and_sized_by_counts(counts: list[int],
                                                              n_groups: int) -> None:
    groups = [10 + 3 * g for g in range(n_groups)]  # arbitrary ids, not 0..n-1
    windows = contiguous_windows(counts, groups)
    assert [len(w) for w in windows] == counts
    position = 0
    for window in windows:
        for k, group in enumerate(window):
            assert group == groups[(position + k) % n_groups]
        position += len(window)


@FAST
@given(weights=weights_st, n_groups=st.integers(1, 40))
def test_one_pass_covers_every_group(weights: list[float], n_groups: int) -> None:
    groups = list(range(n_groups))
    counts = proportional_counts(weights, n_groups)
    windows = contiguous_windows(counts, groups)
    assert {g for w in windows for g in w} == set(groups)
    if len(weights) <= n_groups:
        # Fewer nodes than groups: every group exactly once, in route order.
        assert [g for w in windows for g in w] == groups


@FAST
@given(counts=st.lists(st.integers(1, 6), min_size=1, max_size=10),
       n_groups=st.integers(1, 12))
def test_windows_cover_every_group_when_counts_suffice(counts: list[int],
                                                       n_groups: int) -> None:
    windows = contiguous_windows(counts, list(range(n_groups)))
    covered = {g for w in windows for g in w}
    if sum(counts) >= n_groups:
        assert covered == set(range(n_groups))
    else:
        assert covered == set(range(sum(counts)))
