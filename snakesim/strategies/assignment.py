"""Layer assignment: which contiguous layer groups each node of a route trains.

Pure functions, so their invariants can be property-tested: every node gets at least
one group, faster nodes never get fewer groups than slower ones, and one pass of the
route covers every group.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


def proportional_counts(weights: Sequence[float], n_groups: int) -> list[int]:
    """Groups per node in proportion to ``weights`` (e.g. compute), at least one each.

    With fewer nodes than groups the counts add up to ``n_groups`` (largest-remainder
    rounding); with more nodes than groups every node gets exactly one group.
    """
    if not weights or any(w <= 0 or not math.isfinite(w) for w in weights):
        raise ValueError("weights must be positive and finite")
    if n_groups < 1:
        raise ValueError("n_groups must be >= 1")
    n = len(weights)
    if n >= n_groups:
        return [1] * n
    total = sum(weights)
    ideal = [w / total * n_groups for w in weights]
    counts = [max(1, math.floor(q)) for q in ideal]
    # Ties are broken by weight, then position, so the result depends on the weights
    # alone and stays monotone when rounding makes the ideals of unequal weights equal.
    while sum(counts) < n_groups:
        i = max(range(n), key=lambda j: (ideal[j] - counts[j], weights[j], -j))
        counts[i] += 1
    while sum(counts) > n_groups:
        i = min((j for j in range(n) if counts[j] > 1),
                key=lambda j: (ideal[j] - counts[j], weights[j], j))
        counts[i] -= 1
    return counts


def contiguous_windows(counts: Sequence[int], groups: Sequence[int]) -> list[list[int]]:
    """Give node i the next ``counts[i]`` groups of ``groups``, wrapping around.

    Windows follow the route, so one pass trains the layers in order, input first;
    with more nodes than groups the window wraps back to the first group.
    """
    windows = []
    start = 0
    for count in counts:
        windows.append([groups[(start + k) % len(groups)] for k in range(count)])
        start += count
    return windows
