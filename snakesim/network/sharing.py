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

The filling itself (its cost and numerics) is `snakesim.network.filling`.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Generic, TypeVar

from snakesim.network import filling
from snakesim.network.filling import REL_TOL

F = TypeVar("F", bound=Hashable)
R = TypeVar("R", bound=Hashable)

__all__ = ["REL_TOL", "FlowNetwork"]


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
        self._res: dict[R, filling.Resource[F, R]] = {}
        self._flows: dict[F, filling.Flow[F, R]] = {}
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
            self._res[resource] = filling.Resource(resource, capacity)
            return []
        # Nobody's bottleneck before, and the load still fits: every rate stays max-min.
        idle = not (res.capacity == 0.0 or filling.saturated(res)) and capacity >= res.load
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
        new: dict[F, filling.Flow[F, R]] = {}
        for key, route, weight, cap in add:
            if key in self._flows or key in new:
                raise ValueError(f"flow {key!r} already exists")
            hops = tuple(self._resource(r) for r in route)
            if len(set(map(id, hops))) != len(hops):
                raise ValueError(f"flow {key!r}: a route crosses each resource at most once")
            new[key] = filling.Flow(key, hops, _number(weight, "weight", zero=False),
                             _number(cap, "cap", inf=True))
        # Where ending flows saturated a resource, the flows left there may take their share.
        seeds = {res: None for f in gone.values() for res in f.route if filling.saturated(res)}
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
        resources = filling.gather(region)
        filling.fill(region, resources)
        return filling.commit(region, resources)

    # ------------------------------------------------------------------ solving
    def _update(self, flows: list[filling.Flow[F, R]],
                resources: list[filling.Resource[F, R]]) -> list[F]:
        """Re-solve the region reached from ``flows`` and ``resources``; commit it."""
        if not self.incremental:
            return self.recompute()
        opened: dict[filling.Resource[F, R], None] = dict.fromkeys(resources)
        while True:
            region = filling.region_of(flows, opened)
            touched = filling.gather(region)
            # A resource shared with outside flows filled up: they may be owed a share.
            fresh = [res for res in filling.fill(region, touched) if res.capacity > 0.0]
            if not fresh:
                return filling.commit(region, touched)
            opened.update(dict.fromkeys(fresh))

    def _flow(self, flow: F) -> filling.Flow[F, R]:
        try:
            return self._flows[flow]
        except KeyError:
            raise KeyError(f"no flow {flow!r}") from None

    def _resource(self, resource: R) -> filling.Resource[F, R]:
        try:
            return self._res[resource]
        except KeyError:
            raise KeyError(f"no resource {resource!r} (add it with set_capacity)") from None


def _number(value: float, what: str, *, zero: bool = True, inf: bool = False) -> float:
    """``value`` as a float, refused unless it is >= 0 (> 0 without ``zero``), finite
    (or ``inf`` too with ``inf``)."""
    number = float(value)
    if not ((number >= 0.0 if zero else number > 0.0) and (inf or math.isfinite(number))):
        rule = (">= 0" if zero else "> 0") + (" or inf" if inf else "")
        raise ValueError(f"{what} must be a {'number' if inf else 'finite number'} {rule} "
                         f"(got {value!r})")
    return number
