"""Progressive filling of one region of flows: the solver under `snakesim.network.sharing`.

`snakesim.network.sharing.FlowNetwork` keeps flows, resources and their rates up to date
and, on each change, hands the *region* the change can reach to the functions here:
`region_of` finds it, `gather` sets up the scratch state, `fill` computes the weighted
max-min rates with caps, `commit` stores them.

Cost. A change reaches only the flows that share a *saturated* resource with it,
transitively: a resource with spare capacity constrains nobody, so through it flows share
only its spare capacity. A change re-solves that *region* (found breadth-first over
per-resource flow sets); resources it shares with outside flows enter with the capacity
the outside flows leave, and if the region fills one of them the outside flows there may be
owed a share, so it joins the region, which is solved again. The region is at most the
connected component of the change; in a tree whose flows all cross a cloud link with room
it is the flows of one device. Filling ``F`` flows of ``L`` hops over ``R`` resources, ``C``
of them capped, costs ``O(F L + R log R + C log C)``: a heap of resources keyed by their
saturation level (levels only rise as flows freeze, so stale keys are lower bounds,
refreshed when popped) and a heap of caps. When one full resource carries every flow (a
full cloud link), every event changes every rate: any exact solver then pays ``O(F)``.

Numerics. A resource is saturated when its load is within `REL_TOL` of its capacity.
Levels are recomputed from fresh sums when a resource freezes flows, so errors do not
build up: rates are never negative, loads exceed capacities by float rounding only. A
re-solved rate within ``1e-12`` (relative) of the old one keeps the old value, unreported.
A flow with no route and no cap has an infinite rate.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Hashable, Iterable
from heapq import heapify, heappop, heappush
from typing import Generic, TypeVar

F = TypeVar("F", bound=Hashable)
R = TypeVar("R", bound=Hashable)

REL_TOL = 1e-9
"""A resource whose load is within this fraction of its capacity is saturated."""

_NOISE = 1e-12
"""A recomputed rate within this fraction of the old one is the old one (float noise)."""

_REFRESH = 1024
"""A resource's running load is re-summed after this many incremental updates."""

_STAMPS = itertools.count()  # one per filling: marks which scratch state is current


class Resource(Generic[F, R]):
    # The second line of slots is scratch space of the filling in progress: attributes
    # are cheaper than dictionaries keyed by resource, and a stamp says which are fresh.
    __slots__ = ("base", "capacity", "drift", "flows", "group", "key", "left", "load", "rem",
                 "stamp", "wsum")

    def __init__(self, key: R, capacity: float) -> None:
        self.key = key
        self.capacity = capacity
        self.load = 0.0  # sum of the rates of its flows, kept up to date incrementally
        self.drift = 0  # incremental load updates since the last full sum
        # Insertion-ordered (a dict, not a set), so float sums run in the same order in
        # every process whatever the hash seed: runs stay reproducible to the last bit.
        self.flows: dict[Flow[F, R], None] = {}
        self.stamp = -1
        self.group: list[Flow[F, R]] = []  # the filling's flows on it
        self.base = self.rem = self.wsum = 0.0  # capacity for them; less frozen; weight
        self.left = 0  # of the group, flows not frozen yet


class Flow(Generic[F, R]):
    __slots__ = ("bottleneck", "cap", "key", "neck", "new", "rate", "route", "weight")

    def __init__(self, key: F, route: tuple[Resource[F, R], ...], weight: float,
                 cap: float) -> None:
        self.key = key
        self.route = route
        self.weight = weight
        self.cap = cap
        self.rate = 0.0
        self.bottleneck: Resource[F, R] | None = None  # the resource that froze it; None: cap
        self.new = -1.0  # the filling's rate; < 0 while not frozen
        self.neck: Resource[F, R] | None = None  # the filling's bottleneck


def saturated(res: Resource[F, R]) -> bool:
    # Capacity 0 is left out: its flows stay at 0 whatever happens elsewhere.
    return res.capacity > 0.0 and res.load >= res.capacity * (1.0 - REL_TOL)



def region_of(flows: Iterable[Flow[F, R]], opened: Iterable[Resource[F, R]]
            ) -> list[Flow[F, R]]:
    """The flows reached from ``flows`` and the flows on ``opened``, through saturated
    resources (breadth-first, in a deterministic order)."""
    region: dict[Flow[F, R], None] = dict.fromkeys(flows)
    seen: set[Resource[F, R]] = set()  # membership only: never iterated
    for res in opened:
        seen.add(res)
        region.update(dict.fromkeys(res.flows))
    queue = list(region)
    for flow in queue:  # grows while it is read
        for res in flow.route:
            # saturated(res), inlined: this is the hottest loop of a large region.
            if (res not in seen and res.capacity > 0.0
                    and res.load >= res.capacity * (1.0 - REL_TOL)):
                seen.add(res)
                for other in res.flows:
                    if other not in region:
                        region[other] = None
                        queue.append(other)
    return queue


def gather(region: list[Flow[F, R]]) -> list[Resource[F, R]]:
    """Set up a filling's scratch state on the region's flows and resources (returned)."""
    stamp = next(_STAMPS)
    resources: list[Resource[F, R]] = []
    for flow in region:
        flow.new = -1.0
        for res in flow.route:
            if res.stamp == stamp:
                res.group.append(flow)
            else:
                res.stamp, res.group = stamp, [flow]
                resources.append(res)
    for res in resources:
        group = res.group
        res.left = size = len(group)
        if size == 1:  # most resources, in a tree: spare the sums
            res.wsum, inside = group[0].weight, group[0].rate
        else:
            res.wsum, inside = math.fsum(f.weight for f in group), 0.0
        # Capacity left to the region: all of it, or what the outside flows leave.
        if size == len(res.flows):
            res.base = res.rem = res.capacity
        else:
            if size > 1:
                inside = math.fsum(f.rate for f in group)
            res.base = res.rem = max(res.capacity - (res.load - inside), 0.0)
    return resources


def fill(region: list[Flow[F, R]], resources: list[Resource[F, R]]) -> list[Resource[F, R]]:
    """The filling proper; returns the shared resources that filled up."""
    heap = [(res.rem / res.wsum, i, res) for i, res in enumerate(resources)]
    heapify(heap)
    # A heap, not a sorted list: the filling often ends before most caps are reached.
    caps = [(f.cap / f.weight, i, f) for i, f in enumerate(region) if f.cap < math.inf]
    heapify(caps)
    full: list[Resource[F, R]] = []
    level, unfrozen = 0.0, len(region)
    while heap and unfrozen:
        key, i, res = heap[0]
        if caps and caps[0][0] <= key:
            flow = heappop(caps)[2]
            if flow.new < 0.0:
                _freeze(flow, flow.cap, None)
                unfrozen -= 1
            continue
        heappop(heap)
        if not res.left:
            continue
        current = max(res.rem / res.wsum, level) if res.wsum > 0.0 else level
        if current > key * (1.0 + _NOISE):
            heappush(heap, (current, i, res))  # flows froze since: a stale key
            continue
        live = [f for f in res.group if f.new < 0.0]
        level = max(level, _exact(res, live))
        if len(res.group) < len(res.flows):
            full.append(res)
        for flow in live:
            _freeze(flow, flow.weight * level, res)
        unfrozen -= len(live)
    for flow in region:  # no route: its cap (inf for none)
        if flow.new < 0.0:
            flow.new, flow.neck = flow.cap, None
    return full


def _exact(res: Resource[F, R], live: list[Flow[F, R]]) -> float:
    """The level at which ``res`` saturates, from fresh sums (the running ones drift)."""
    if len(res.group) == 1:  # nothing frozen on it: its base and its flow's weight
        res.rem, res.wsum = res.base, live[0].weight
        return res.rem / res.wsum
    res.rem = max(res.base - math.fsum(f.new for f in res.group if f.new >= 0.0), 0.0)
    res.wsum = math.fsum(f.weight for f in live)
    return res.rem / res.wsum


def _freeze(flow: Flow[F, R], value: float, neck: Resource[F, R] | None) -> None:
    flow.new, flow.neck = value, neck
    weight = flow.weight
    for res in flow.route:
        res.rem -= value
        res.wsum -= weight
        res.left -= 1


def commit(region: list[Flow[F, R]], resources: list[Resource[F, R]]) -> list[F]:
    """Store a filling's rates and the loads they make; the ids of the flows that
    changed."""
    changed: list[F] = []
    for flow in region:
        flow.bottleneck = flow.neck
        new, old = flow.new, flow.rate
        if new == old or abs(new - old) <= _NOISE * min(abs(new), abs(old)):
            continue  # float noise: keep the old rate, do not report it
        changed.append(flow.key)
        flow.rate = new
        for res in flow.route:
            res.load += new - old
            res.drift += 1
    for res in resources:
        res.group = []  # let go of the flows (the caller's ids may be large objects)
        if res.drift >= _REFRESH:
            res.load, res.drift = math.fsum(f.rate for f in res.flows), 0
    return changed
