"""Route orders for Snake Learning: which node follows which along the snake.

Pure functions over names, compute rates and a distance function, so their invariants
(every node visited exactly once, the first node kept) can be property-tested.

- ``given``: the nodes in the order given (the route list, or the clients in topology
  order).
- ``by_compute``: fastest first (ties keep the given order). The fastest node becomes
  the P2P controller and, with proportional assignment, the nodes with the most groups
  come first, so the input-side layers are trained by the strongest nodes.
- ``shortest_tour``: a closed tour (the route wraps from the last node to the first in
  the next pass) of low total path latency: nearest neighbour from the first given
  node, then 2-opt until no reversal of a segment shortens the tour. Deterministic
  (ties go to the earlier node in the given order); a heuristic, not always optimal.
- ``label_diversity``: interleave label distributions: from the first given node,
  greedily the unvisited node whose label distribution is farthest, in total variation
  distance, from the previous node's (ties to the earlier node), so that consecutive
  hops train on different classes rather than a run of similar nodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

Distance = Callable[[str, str], float]


def total_variation(p: Sequence[float], q: Sequence[float]) -> float:
    """Total variation distance ``sum |p - q| / 2`` of two distributions (in [0, 1])."""
    return 0.5 * sum(abs(a - b) for a, b in zip(p, q, strict=True))


def label_diversity(nodes: Sequence[str], labels: Sequence[Sequence[float]]) -> list[str]:
    """``nodes`` from the first, each next one farthest in label distribution from the
    previous (`total_variation` of ``labels``, one distribution per node; ties to the
    earlier node)."""
    left = list(range(1, len(nodes)))
    order = [0] if nodes else []
    while left:
        prev = labels[order[-1]]
        best = max(left, key=lambda i: (total_variation(prev, labels[i]), -i))
        left.remove(best)
        order.append(best)
    return [nodes[i] for i in order]


def by_compute(nodes: Sequence[str], compute: Sequence[float]) -> list[str]:
    """``nodes`` ordered fastest first; equal rates keep their given order."""
    order = sorted(range(len(nodes)), key=lambda i: (-compute[i], i))
    return [nodes[i] for i in order]


def tour_length(tour: Sequence[str], distance: Distance) -> float:
    """Length of the closed tour (including the way back from the last node to the first)."""
    return sum(distance(tour[i - 1], tour[i]) for i in range(len(tour))) if len(tour) > 1 \
        else 0.0


def shortest_tour(nodes: Sequence[str], distance: Distance) -> list[str]:
    """A short closed tour through ``nodes`` that starts at ``nodes[0]`` (see module doc)."""
    if len(nodes) <= 3:
        return list(nodes)  # every closed tour of up to 3 nodes has the same length
    known: dict[tuple[str, str], float] = {}

    def cached(a: str, b: str) -> float:
        if (a, b) not in known:
            known[(a, b)] = distance(a, b)
        return known[(a, b)]

    return _two_opt(_nearest_neighbour(nodes, cached), cached)


def _nearest_neighbour(nodes: Sequence[str], distance: Distance) -> list[str]:
    tour = [nodes[0]]
    left = list(nodes[1:])
    while left:
        here = tour[-1]
        best = min(range(len(left)), key=lambda i: (distance(here, left[i]), i))
        tour.append(left.pop(best))
    return tour


def _two_opt(tour: list[str], distance: Distance) -> list[str]:
    n = len(tour)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for j in range(i + 1, n):
                a, b = tour[i - 1], tour[i]
                c, d = tour[j], tour[(j + 1) % n]
                gain = distance(a, b) + distance(c, d) - distance(a, c) - distance(b, d)
                if gain > 1e-12:
                    tour[i:j + 1] = reversed(tour[i:j + 1])
                    improved = True
    return tour
