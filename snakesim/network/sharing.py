"""Flow-level bandwidth sharing: weighted max-min fair rates with caps, kept up to date.

This module owns one question: at what rate does each flow go, given its route and the
capacity of every resource (a link direction)? It knows nothing of time or bits; the
fabric tells it when a flow starts or ends, a capacity changes (traces, outages) or a
flow's cap changes (TCP window, slow start), and re-plans the completion of just the flows
reported as changed.

Rates are *weighted max-min fair with caps*, by progressive filling: every unfrozen flow
runs at ``weight * t`` while a common level ``t`` rises; a flow freezes when a resource on
its route fills or when it reaches its cap. This is the unique allocation in which every
flow is at its cap or crosses a saturated resource on which its ``rate / weight`` is the
largest. A resource of capacity 0 (a link that is down) holds its flows at 0: they pause.

In SimGrid's flow-level TCP models (``src/kernel/lmm/maxmin.cpp``,
``src/kernel/resource/models/network_cm02.cpp``; studied in Velho, Schnorr, Casanova and
Legrand, "On the validity of flow-level TCP network models for grid and cloud
simulations", ACM TOMACS 23(4), 2013) each flow has a *sharing penalty* ``p`` (its rate is
``level / p`` during the filling: ``weight = 1 / p`` here; only ratios matter) and a bound
(the ``cap`` here). CM02 sets ``p`` to the route's latency (sum of the hops' one-way
latencies: weight ``1 / RTT`` gives the same shares) and bounds the rate by the TCP window,
``gamma / (2 * latency)`` = window / RTT (``gamma`` 4 MiB by default), and by any rate asked
for. LV08 adds ``S / bandwidth`` per hop to ``p`` (``S`` = 20537 bytes), so ``weight = 1 /
sum(latency + S / bandwidth)``; its bandwidth factor (0.97, headers) scales the capacities
the caller passes, its latency factor (13.01, slow start) is a delay, not a share. Its
cross-traffic (a flow also uses 5% of its rate on the reverse route, for ACKs) needs
per-resource usage factors, which this solver does not have. All weights 1 and no caps
give plain max-min fairness.

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
from collections.abc import Hashable, Iterable, Mapping, Sequence
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


class _Res(Generic[F, R]):
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
        self.flows: dict[_Flow[F, R], None] = {}
        self.stamp = -1
        self.group: list[_Flow[F, R]] = []  # the filling's flows on it
        self.base = self.rem = self.wsum = 0.0  # capacity for them; less frozen; weight
        self.left = 0  # of the group, flows not frozen yet


class _Flow(Generic[F, R]):
    __slots__ = ("bottleneck", "cap", "key", "neck", "new", "rate", "route", "weight")

    def __init__(self, key: F, route: tuple[_Res[F, R], ...], weight: float,
                 cap: float) -> None:
        self.key = key
        self.route = route
        self.weight = weight
        self.cap = cap
        self.rate = 0.0
        self.bottleneck: _Res[F, R] | None = None  # the resource that froze it; None: cap
        self.new = -1.0  # the filling's rate; < 0 while not frozen
        self.neck: _Res[F, R] | None = None  # the filling's bottleneck


def _saturated(res: _Res[F, R]) -> bool:
    # Capacity 0 is left out: its flows stay at 0 whatever happens elsewhere.
    return res.capacity > 0.0 and res.load >= res.capacity * (1.0 - REL_TOL)


class FlowNetwork(Generic[F, R]):
    """Flows on resources with weighted max-min fair rates, updated change by change.

    Parameters
    ----------
    capacities
        Initial resources and their capacities in bit/s (finite, >= 0).
    incremental
        With False every change re-solves every flow (a reference for tests and
        benchmarks); the rates are the same. Also an attribute, changeable at any time.

    Notes
    -----
    Every change returns the ids of the flows whose rate changed, in a deterministic
    order: exactly those, so the caller reschedules only their completions.
    """

    def __init__(self, capacities: Mapping[R, float] | None = None, *,
                 incremental: bool = True) -> None:
        self._res: dict[R, _Res[F, R]] = {}
        self._flows: dict[F, _Flow[F, R]] = {}
        self.incremental = incremental
        for key, capacity in (capacities or {}).items():
            self.set_capacity(key, capacity)

    # ------------------------------------------------------------------ queries
    def rate(self, flow: F) -> float:
        """Current rate of ``flow`` in bit/s."""
        return self._flow(flow).rate

    def rates(self) -> dict[F, float]:
        """Every flow's current rate in bit/s."""
        return {key: f.rate for key, f in self._flows.items()}

    def bottleneck(self, flow: F) -> R | None:
        """The resource that limits ``flow`` (None when its cap does, or it has no route)."""
        neck = self._flow(flow).bottleneck
        return None if neck is None else neck.key

    def route(self, flow: F) -> tuple[R, ...]:
        """The resources on ``flow``'s route, in order."""
        return tuple(r.key for r in self._flow(flow).route)

    def weight(self, flow: F) -> float:
        """``flow``'s share weight."""
        return self._flow(flow).weight

    def cap(self, flow: F) -> float:
        """``flow``'s largest rate in bit/s (``inf``: none)."""
        return self._flow(flow).cap

    def capacity(self, resource: R) -> float:
        """Capacity of ``resource`` in bit/s."""
        return self._resource(resource).capacity

    def load(self, resource: R) -> float:
        """Sum of the rates of the flows on ``resource`` (summed now, exactly)."""
        return math.fsum(f.rate for f in self._resource(resource).flows)

    def flows_on(self, resource: R) -> list[F]:
        """Ids of the flows crossing ``resource``."""
        return [f.key for f in self._resource(resource).flows]

    def __len__(self) -> int:
        return len(self._flows)

    # ------------------------------------------------------------------ changes
    def set_capacity(self, resource: R, capacity_bps: float) -> list[F]:
        """Set (or create) ``resource`` with a capacity in bit/s (0 pauses its flows);
        returns the ids of the flows whose rate changed."""
        capacity = _number(capacity_bps, "capacity")
        res = self._res.get(resource)
        if res is None:
            self._res[resource] = _Res(resource, capacity)
            return []
        # Nobody's bottleneck before, and the load still fits: every rate stays max-min.
        idle = not (res.capacity == 0.0 or _saturated(res)) and capacity >= res.load
        res.capacity = capacity
        if not res.flows or (idle and self.incremental):
            return []
        return self._update([], [res])

    def add_flow(self, flow: F, route: Sequence[R], *, weight: float = 1.0,
                 cap: float = math.inf) -> list[F]:
        """Start ``flow`` along ``route`` (resource keys, in order, each at most once).

        Parameters
        ----------
        flow
            A new flow id.
        route
            Resources the flow crosses; each must exist (see `set_capacity`).
        weight
            Share weight (> 0): on a common bottleneck, rates are proportional to weights.
        cap
            Largest rate in bit/s (>= 0; ``inf``: none).

        Returns
        -------
        list
            Ids of the flows whose rate changed, ``flow`` first.
        """
        return self.add_flows([(flow, route, weight, cap)])

    def add_flows(self, flows: Iterable[tuple[F, Sequence[R], float, float]]) -> list[F]:
        """Start several flows, ``(id, route, weight, cap)`` each (see `add_flow`), with
        one re-solve: much cheaper than one by one when they share a bottleneck. Returns
        the ids of the flows whose rate changed, the new ones first; adds none of them
        when one is refused."""
        return self.change(add=flows)

    def remove_flow(self, flow: F) -> list[F]:
        """End ``flow``; returns the ids of the other flows whose rate changed."""
        return self.change(remove=[flow])

    def remove_flows(self, flows: Iterable[F]) -> list[F]:
        """End several flows at once (with one re-solve, as `add_flows`); returns the ids
        of the remaining flows whose rate changed. Nothing is removed when one of the ids
        is unknown."""
        return self.change(remove=flows)

    def set_cap(self, flow: F, cap: float) -> list[F]:
        """Change ``flow``'s largest rate in bit/s (``inf``: none)."""
        return self.change(caps=[(flow, cap)])

    def change(self, *, add: Iterable[tuple[F, Sequence[R], float, float]] = (),
               remove: Iterable[F] = (), caps: Iterable[tuple[F, float]] = ()) -> list[F]:
        """End, re-cap and start flows in one step, with one re-solve.

        Parameters
        ----------
        add
            New flows, ``(id, route, weight, cap)`` each (see `add_flow`).
        remove
            Ids of flows that end.
        caps
            ``(id, cap)`` for flows whose largest rate changes (ignored for the ones
            that end here).

        Returns
        -------
        list
            Ids of the flows whose rate changed, the new ones first. Nothing changes
            when one of the arguments is refused.
        """
        gone = {key: self._flow(key) for key in remove}
        capped = [(self._flow(key), _number(cap, "cap", inf=True)) for key, cap in caps]
        new: dict[F, _Flow[F, R]] = {}
        for key, route, weight, cap in add:
            if key in self._flows or key in new:
                raise ValueError(f"flow {key!r} already exists")
            hops = tuple(self._resource(r) for r in route)
            if len(set(map(id, hops))) != len(hops):
                raise ValueError(f"flow {key!r}: a route crosses each resource at most once")
            new[key] = _Flow(key, hops, _number(weight, "weight", zero=False),
                             _number(cap, "cap", inf=True))
        # Where ending flows saturated a resource, the flows left there may take their share.
        seeds = {res: None for f in gone.values() for res in f.route if _saturated(res)}
        for key, flow in gone.items():
            del self._flows[key]
            for res in flow.route:
                del res.flows[flow]
                res.load = res.load - flow.rate if res.flows else 0.0
                res.drift += 1
        targets = []
        for target, cap in capped:
            if target.key in gone:
                continue
            target.cap = cap
            # Limited by a resource and still under the new cap: nothing moves.
            if not (self.incremental and target.bottleneck is not None
                    and cap >= target.rate):
                targets.append(target)
        for key, flow in new.items():
            self._flows[key] = flow
            for res in flow.route:
                res.flows[flow] = None
        if self.incremental and not (new or targets or seeds):
            return []
        changed = self._update([*new.values(), *targets], list(seeds))
        return [*new, *(key for key in changed if key not in new)]

    def set_weight(self, flow: F, weight: float) -> list[F]:
        """Change ``flow``'s share weight (> 0)."""
        target = self._flow(flow)
        target.weight = _number(weight, "weight", zero=False)
        return self._update([target], [])

    def recompute(self) -> list[F]:
        """Re-solve every flow from scratch; returns the ids of those whose rate changed."""
        region = list(self._flows.values())
        resources = _gather(region)
        _run(region, resources)
        return _commit(region, resources)

    # ------------------------------------------------------------------ solving
    def _update(self, flows: list[_Flow[F, R]], resources: list[_Res[F, R]]) -> list[F]:
        """Re-solve the region reached from ``flows`` and ``resources``; commit it."""
        if not self.incremental:
            return self.recompute()
        opened: dict[_Res[F, R], None] = dict.fromkeys(resources)
        while True:
            region = _region(flows, opened)
            touched = _gather(region)
            # A resource shared with outside flows filled up: they may be owed a share.
            fresh = [res for res in _run(region, touched) if res.capacity > 0.0]
            if not fresh:
                return _commit(region, touched)
            opened.update(dict.fromkeys(fresh))

    def _flow(self, flow: F) -> _Flow[F, R]:
        try:
            return self._flows[flow]
        except KeyError:
            raise KeyError(f"no flow {flow!r}") from None

    def _resource(self, resource: R) -> _Res[F, R]:
        try:
            return self._res[resource]
        except KeyError:
            raise KeyError(f"no resource {resource!r} (add it with set_capacity)") from None


def _region(flows: Iterable[_Flow[F, R]], opened: Iterable[_Res[F, R]]
            ) -> list[_Flow[F, R]]:
    """The flows reached from ``flows`` and the flows on ``opened``, through saturated
    resources (breadth-first, in a deterministic order)."""
    region: dict[_Flow[F, R], None] = dict.fromkeys(flows)
    seen: set[_Res[F, R]] = set()  # membership only: never iterated
    for res in opened:
        seen.add(res)
        region.update(dict.fromkeys(res.flows))
    queue = list(region)
    for flow in queue:  # grows while it is read
        for res in flow.route:
            # _saturated(res), inlined: this is the hottest loop of a large region.
            if (res not in seen and res.capacity > 0.0
                    and res.load >= res.capacity * (1.0 - REL_TOL)):
                seen.add(res)
                for other in res.flows:
                    if other not in region:
                        region[other] = None
                        queue.append(other)
    return queue


def _gather(region: list[_Flow[F, R]]) -> list[_Res[F, R]]:
    """Set up a filling's scratch state on the region's flows and resources (returned)."""
    stamp = next(_STAMPS)
    resources: list[_Res[F, R]] = []
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


def _run(region: list[_Flow[F, R]], resources: list[_Res[F, R]]) -> list[_Res[F, R]]:
    """The filling proper; returns the shared resources that filled up."""
    heap = [(res.rem / res.wsum, i, res) for i, res in enumerate(resources)]
    heapify(heap)
    # A heap, not a sorted list: the filling often ends before most caps are reached.
    caps = [(f.cap / f.weight, i, f) for i, f in enumerate(region) if f.cap < math.inf]
    heapify(caps)
    full: list[_Res[F, R]] = []
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


def _exact(res: _Res[F, R], live: list[_Flow[F, R]]) -> float:
    """The level at which ``res`` saturates, from fresh sums (the running ones drift)."""
    if len(res.group) == 1:  # nothing frozen on it: its base and its flow's weight
        res.rem, res.wsum = res.base, live[0].weight
        return res.rem / res.wsum
    res.rem = max(res.base - math.fsum(f.new for f in res.group if f.new >= 0.0), 0.0)
    res.wsum = math.fsum(f.weight for f in live)
    return res.rem / res.wsum


def _freeze(flow: _Flow[F, R], value: float, neck: _Res[F, R] | None) -> None:
    flow.new, flow.neck = value, neck
    weight = flow.weight
    for res in flow.route:
        res.rem -= value
        res.wsum -= weight
        res.left -= 1


def _commit(region: list[_Flow[F, R]], resources: list[_Res[F, R]]) -> list[F]:
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


def _number(value: float, what: str, *, zero: bool = True, inf: bool = False) -> float:
    """``value`` as a float, refused unless it is >= 0 (> 0 without ``zero``), finite
    (or ``inf`` too with ``inf``)."""
    number = float(value)
    if not ((number >= 0.0 if zero else number > 0.0) and (inf or math.isfinite(number))):
        rule = (">= 0" if zero else "> 0") + (" or inf" if inf else "")
        raise ValueError(f"{what} must be a {'number' if inf else 'finite number'} {rule} "
                         f"(got {value!r})")
    return number
