"""Layer assignment: which contiguous layer groups each node of a route trains.

Pure functions, so their invariants can be property-tested: every node gets at least
one group, faster nodes never get fewer groups than slower ones, one pass of the route
covers every group, memory-aware windows fit their budgets and a sliding window moves
one group per hop.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence


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


def even_counts(n_nodes: int, n_groups: int) -> list[int]:
    """Groups per node as even as possible (earlier nodes take the remainder)."""
    return proportional_counts([1.0] * n_nodes, n_groups)


def memory_windows(n_nodes: int, groups: Sequence[int],
                   fits: Callable[[int, list[int]], bool]) -> list[list[int]]:
    """The largest contiguous window of ``groups`` per node that ``fits(node, window)``.

    Node i's window starts where node i-1's ended and never wraps past the last group
    (the next node then starts again at the first). A node for which nothing fits there
    takes the largest window that fits elsewhere (nearest start after the crawl's
    position first) without moving the crawl: a memory-poor device still trains the
    cheap groups. A node for which not even one group fits anywhere gets an empty
    window (the caller skips it). ``fits`` must be monotone: a window that fits stays
    fitting when shortened.
    """

    def grow(node: int, start: int) -> int:
        count = 0
        while start + count < len(groups) and fits(node, list(groups[start:start + count + 1])):
            count += 1
        return count

    windows: list[list[int]] = []
    start = 0
    for node in range(n_nodes):
        count = grow(node, start)
        if count == 0 and groups:
            offsets = range(1, len(groups))
            sizes = [(grow(node, (start + k) % len(groups)), -k) for k in offsets]
            best, neg_k = max(sizes, default=(0, 0))
            at = (start - neg_k) % len(groups)
            windows.append(list(groups[at:at + best]))
            continue
        windows.append(list(groups[start:start + count]))
        start = (start + count) % len(groups) if groups else 0
    return windows


def sliding_window(hop: int, groups: Sequence[int], width: int) -> list[int]:
    """The window of ``width`` contiguous groups at global hop ``hop`` (0-based).

    It starts at the first group and moves one group per hop; after reaching the last
    group it starts again at the first, so it is always contiguous.
    """
    if not 1 <= width <= len(groups):
        raise ValueError(f"width must be in 1..{len(groups)} (got {width})")
    start = hop % (len(groups) - width + 1)
    return list(groups[start:start + width])
