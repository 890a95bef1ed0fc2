"""Properties of flow-level bandwidth sharing: weighted max-min fair rates with caps.

The solver is checked against its definition (feasible, every flow bottlenecked), against
an independent slow water-filling in exact rational arithmetic written here, against
itself re-solved from scratch after any sequence of changes, and for the exactness of the
sets of changed flows it reports.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import pairwise
from typing import Any

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.network import filling
from snakesim.network.sharing import REL_TOL, FlowNetwork

FAST = settings(max_examples=120, deadline=None)

TOL = 1e-9  # rates agree to this (relative, or absolute near 0)


def close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


@dataclass
class Case:
    """Resources with capacities, and flows as (route, weight, cap or None)."""

    capacity: dict[Any, int]
    flows: list[tuple[tuple[Any, ...], Fraction, int | None]] = field(default_factory=list)

    def build(self, *, incremental: bool = True) -> FlowNetwork[int, Any]:
        net: FlowNetwork[int, Any] = FlowNetwork(
            {r: float(c) for r, c in self.capacity.items()}, incremental=incremental)
        for i, (route, weight, cap) in enumerate(self.flows):
            net.add_flow(i, route, weight=float(weight),
                         cap=math.inf if cap is None else float(cap))
        return net


# ---------------------------------------------------------------- the oracle
def water_filling(capacity: dict[Any, Any], flows: dict[int, tuple[tuple[Any, ...], Any, Any]]
                  ) -> dict[int, Fraction | float]:
    """Progressive filling from its definition, in exact arithmetic, O(rounds * F * R).

    All unfrozen flows sit at rate ``weight * t``. Each round finds the smallest level at
    which a resource fills (capacity less its frozen flows' rates, over its unfrozen
    flows' weights) or a flow reaches its cap, freezes what reaches it, and repeats.
    """
    rate: dict[int, Fraction | float] = {}
    while len(rate) < len(flows):
        active = [f for f in flows if f not in rate]
        levels: dict[Any, Fraction] = {}
        for res, cap in capacity.items():
            users = [f for f in flows if res in flows[f][0]]
            live = [f for f in users if f not in rate]
            if live:
                used = sum((Fraction(rate[f]) for f in users if f in rate), Fraction(0))
                weight = sum((Fraction(flows[f][1]) for f in live), Fraction(0))
                levels[res] = (Fraction(cap) - used) / weight
        caps = {f: Fraction(flows[f][2]) / Fraction(flows[f][1])
                for f in active if flows[f][2] is not None}
        candidates = list(levels.values()) + list(caps.values())
        if not candidates:  # no route and no cap: nothing holds them
            rate.update({f: math.inf for f in active})
            break
        t = min(candidates)
        for f, level in caps.items():
            if level == t:
                rate[f] = Fraction(flows[f][2])
        for res, level in levels.items():
            if level == t:
                for f in active:
                    if f not in rate and res in flows[f][0]:
                        rate[f] = Fraction(flows[f][1]) * t
    return rate


# ---------------------------------------------------------------- strategies
WEIGHTS = st.sampled_from([Fraction(1), Fraction(2), Fraction(3), Fraction(1, 2),
                           Fraction(1, 3)])
CAPS = st.one_of(st.none(), st.integers(0, 30))


@st.composite
def subset_cases(draw: st.DrawFn, weighted: bool = True) -> Case:
    """Up to 6 resources (some may be down), up to 8 flows on arbitrary routes."""
    n = draw(st.integers(1, 6))
    capacity = {f"r{i}": draw(st.integers(0, 20) | st.integers(1, 20)) for i in range(n)}
    names = list(capacity)
    flows = []
    for _ in range(draw(st.integers(1, 8))):
        route = tuple(draw(st.permutations(names))[:draw(st.integers(1, n))])
        weight = draw(WEIGHTS) if weighted else Fraction(1)
        flows.append((route, weight, draw(CAPS)))
    return Case(capacity, flows)


@st.composite
def graph_cases(draw: st.DrawFn) -> Case:
    """A random connected graph of up to 7 nodes; flows along shortest paths, each link
    direction a resource."""
    n = draw(st.integers(2, 7))
    graph = nx.path_graph(n)  # connected, then extra edges
    for u, v in draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                              max_size=8)):
        if u != v:
            graph.add_edge(u, v)
    capacity = {}
    for u, v in graph.edges:
        capacity[(u, v)] = draw(st.integers(1, 20))
        capacity[(v, u)] = draw(st.integers(0, 20))
    flows = []
    for _ in range(draw(st.integers(1, 10))):
        src, dst = draw(st.integers(0, n - 1)), draw(st.integers(0, n - 1))
        path = nx.shortest_path(graph, src, dst)
        flows.append((tuple(pairwise(path)), draw(WEIGHTS), draw(CAPS)))
    return Case(capacity, flows)


cases = st.one_of(subset_cases(), graph_cases())


# ---------------------------------------------------------------- checks
def assert_max_min(net: FlowNetwork[Any, Any]) -> None:
    """Feasible, and every flow at its cap or bottlenecked on a saturated resource on
    which its normalised rate is the largest (the characterisation of weighted max-min
    fairness); `bottleneck` names such a resource."""
    rates = net.rates()
    resources = {r for f in rates for r in net.route(f)}
    for res in resources:
        capacity = net.capacity(res)
        assert net.load(res) <= capacity * (1 + REL_TOL) + 1e-12, res
    for flow, rate in rates.items():
        assert 0.0 <= rate <= net.cap(flow) * (1 + TOL)
        neck = net.bottleneck(flow)
        if neck is None:
            assert close(rate, net.cap(flow)), flow
            continue
        assert neck in net.route(flow)
        assert close(net.load(neck), net.capacity(neck)), (flow, neck)
        share = rate / net.weight(flow)
        assert all(net.rate(g) / net.weight(g) <= share * (1 + TOL) + TOL
                   for g in net.flows_on(neck)), (flow, neck)


def assert_same_rates(net: FlowNetwork[Any, Any], expected: dict[Any, Any]) -> None:
    rates = net.rates()
    assert rates.keys() == expected.keys()
    for flow, rate in rates.items():
        assert close(rate, float(expected[flow])), (flow, rate, expected[flow])


# ---------------------------------------------------------------- properties
@FAST
@given(st.lists(st.floats(0.0, 1e12), min_size=1, max_size=5),
       st.one_of(st.none(), st.floats(0.0, 1e12)))
def test_a_single_flow_gets_the_smallest_capacity_on_its_route_or_its_cap(
        capacities: list[float], cap: float | None) -> None:
    net: FlowNetwork[str, int] = FlowNetwork(dict(enumerate(capacities)))
    changed = net.add_flow("f", list(range(len(capacities))),
                           cap=math.inf if cap is None else cap)
    assert changed == ["f"]
    assert net.rate("f") == min(*capacities, math.inf if cap is None else cap)


@FAST
@given(cases)
def test_rates_are_feasible_and_every_flow_is_bottlenecked(case: Case) -> None:
    assert_max_min(case.build())


@FAST
@given(cases)
def test_rates_equal_an_independent_exact_water_filling(case: Case) -> None:
    expected = water_filling(case.capacity, dict(enumerate(case.flows)))
    assert_same_rates(case.build(), expected)
    assert_same_rates(case.build(incremental=False), expected)


@FAST
@given(subset_cases(weighted=False))
def test_with_unit_weights_and_no_caps_rates_are_plain_max_min(case: Case) -> None:
    case.flows = [(route, weight, None) for route, weight, _ in case.flows]
    assert_same_rates(case.build(), water_filling(case.capacity, dict(enumerate(case.flows))))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.floats(1e-3, 1e3), st.floats(0.0, 1e12)),
                min_size=1, max_size=30),
       st.lists(st.floats(0.0, 1e12) | st.just(0.0), min_size=4, max_size=4))
def test_wide_float_ranges_stay_feasible_and_bottlenecked(
        flows: list[tuple[int, float, float]], capacities: list[float]) -> None:
    net: FlowNetwork[int, int] = FlowNetwork(dict(enumerate(capacities)))
    for i, (first, weight, cap) in enumerate(flows):
        net.add_flow(i, list(range(first, 4)), weight=weight, cap=cap if i % 3 else math.inf)
    assert_max_min(net)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.sets(st.integers(0, 5), min_size=1), st.integers(0, 3),
                          st.one_of(st.none(), st.integers(-3, 3))), min_size=1, max_size=25),
       st.lists(st.integers(-3, 3), min_size=6, max_size=6))
def test_near_ties_between_resources_and_caps_are_ordered_right(
        flows: list[tuple[set[int], int, int | None]], wiggles: list[int]) -> None:
    # Capacities, weights and caps all within a few 1e-7 of each other's multiples, so
    # that the order of events is decided by tiny differences; floats are exact inputs
    # to the rational oracle.
    capacity = {r: 6.0 * (1 + 1e-7 * w) for r, w in enumerate(wiggles)}
    case = [(tuple(sorted(route)), 1.0 + 1e-7 * w, None if c is None else 1.0 + 1e-7 * c)
            for route, w, c in flows]
    net: FlowNetwork[int, int] = FlowNetwork(capacity)
    for i, (route, weight, cap) in enumerate(case):
        net.add_flow(i, route, weight=weight, cap=math.inf if cap is None else cap)
    assert_max_min(net)
    assert_same_rates(net, water_filling(capacity, dict(enumerate(case))))


def test_a_cap_just_below_the_fair_share_is_met_exactly() -> None:
    net: FlowNetwork[int, str] = FlowNetwork({"a": 10.0})
    net.add_flow(0, ["a"], cap=4.999)
    net.add_flow(1, ["a"])
    assert net.rates() == {0: 4.999, 1: pytest.approx(5.001)}
    assert net.bottleneck(0) is None and net.bottleneck(1) == "a"


OPS = st.lists(st.tuples(st.sampled_from(["add", "remove", "capacity", "cap", "weight"]),
                         st.integers(0, 1000), st.integers(0, 1000), WEIGHTS, CAPS),
               max_size=25)


State = dict[int, tuple[tuple[Any, ...], Fraction, "int | None"]]


def decode(op: tuple[Any, ...], capacity: dict[Any, int], state: State, new_id: int
           ) -> tuple[str, Any, Any]:
    """A random operation made concrete on the current state; ``capacity`` and ``state``
    are updated to the state after it. Returns (kind, target, value)."""
    kind, a, b, weight, cap = op
    names = sorted(capacity, key=repr)
    ids = sorted(state)
    if kind == "add" or not ids:
        route = tuple(dict.fromkeys(names[(a + k * (b + 1)) % len(names)]
                                    for k in range(1 + b % 3)))
        state[new_id] = (route, weight, cap)
        return "add", new_id, state[new_id]
    flow = ids[a % len(ids)]
    route, old_weight, old_cap = state[flow]
    if kind == "remove":
        del state[flow]
        return "remove", flow, None
    if kind == "capacity":
        res = names[a % len(names)]
        capacity[res] = b % 25
        return "capacity", res, capacity[res]
    if kind == "cap":
        state[flow] = (route, old_weight, cap)
        return "cap", flow, cap
    state[flow] = (route, weight, old_cap)
    return "weight", flow, weight


def perform(net: FlowNetwork[int, Any], kind: str, target: Any, value: Any) -> list[int]:
    if kind == "add":
        route, weight, cap = value
        return net.add_flow(target, route, weight=float(weight),
                            cap=math.inf if cap is None else float(cap))
    if kind == "remove":
        return net.remove_flow(target)
    if kind == "capacity":
        return net.set_capacity(target, float(value))
    if kind == "cap":
        return net.set_cap(target, math.inf if value is None else float(value))
    return net.set_weight(target, float(value))


def assert_changes_reported(before: dict[int, float], after: dict[int, float],
                            changed: list[int], kind: str, target: Any) -> None:
    """Exactly the flows whose rate changed are reported (a new flow always is)."""
    assert len(changed) == len(set(changed))
    moved = {f for f in after.keys() & before.keys() if after[f] != before[f]}
    if kind == "add":
        assert changed[0] == target
        moved.add(target)
    assert set(changed) == moved


@FAST
@given(cases, OPS)
def test_after_any_changes_rates_equal_a_fresh_solve_and_changes_are_reported_exactly(
        case: Case, ops: list[tuple[Any, ...]]) -> None:
    net, reference = case.build(), case.build(incremental=False)
    capacity, state = dict(case.capacity), dict(enumerate(case.flows))
    for n, op in enumerate(ops):
        kind, target, value = decode(op, capacity, state, len(case.flows) + n)
        for solver in (net, reference):
            before = solver.rates()
            changed = perform(solver, kind, target, value)
            assert_changes_reported(before, solver.rates(), changed, kind, target)
        assert_same_rates(net, reference.rates())
    assert_max_min(net)
    assert_same_rates(net, water_filling(capacity, state))
    fresh = Case(capacity, [state[f] for f in sorted(state)]).build()
    assert_same_rates(net, dict(zip(sorted(state), fresh.rates().values(), strict=True)))


@FAST
@given(cases, st.lists(st.booleans(), min_size=10, max_size=10))
def test_flows_added_or_removed_together_get_the_rates_of_one_by_one(
        case: Case, leaving: list[bool]) -> None:
    together: FlowNetwork[int, Any] = FlowNetwork({r: float(c) for r, c in case.capacity.items()})
    specs = [(i, route, float(w), math.inf if cap is None else float(cap))
             for i, (route, w, cap) in enumerate(case.flows)]
    assert together.add_flows(specs)[:len(specs)] == list(range(len(specs)))
    one_by_one = case.build()
    assert_same_rates(together, one_by_one.rates())
    gone = [i for i in range(len(specs)) if leaving[i % len(leaving)]]
    before = together.rates()
    changed = together.remove_flows(gone)
    for i in gone:
        one_by_one.remove_flow(i)
    assert_same_rates(together, one_by_one.rates())
    after = together.rates()
    assert set(changed) == {f for f in after if after[f] != before[f]}
    assert_max_min(together)


def test_a_refused_batch_changes_nothing() -> None:
    net: FlowNetwork[str, str] = FlowNetwork({"a": 4.0})
    net.add_flow("x", ["a"])
    with pytest.raises(KeyError):
        net.add_flows([("y", ["a"], 1.0, math.inf), ("z", ["nowhere"], 1.0, math.inf)])
    with pytest.raises(ValueError, match="already exists"):
        net.add_flows([("y", ["a"], 1.0, math.inf), ("y", ["a"], 1.0, math.inf)])
    with pytest.raises(KeyError):
        net.remove_flows(["x", "nobody"])
    assert net.rates() == {"x": 4.0} and net.flows_on("a") == ["x"]


@FAST
@given(subset_cases(), subset_cases(), st.sampled_from(["add", "remove", "capacity", "cap"]),
       st.integers(0, 100))
def test_a_change_never_reports_flows_of_untouched_components(
        left: Case, right: Case, kind: str, pick: int) -> None:
    capacity = {("L", r): c for r, c in left.capacity.items()}
    capacity |= {("R", r): c for r, c in right.capacity.items()}
    flows = [(tuple(("L", r) for r in route), w, cap) for route, w, cap in left.flows]
    flows += [(tuple(("R", r) for r in route), w, cap) for route, w, cap in right.flows]
    net = Case(capacity, flows).build()
    lefts = set(range(len(left.flows)))
    flow = pick % len(left.flows)
    res = flows[flow][0][0]
    if kind == "add":
        changed = net.add_flow(-1, flows[flow][0])
    elif kind == "remove":
        changed = net.remove_flow(flow)
    elif kind == "capacity":
        changed = net.set_capacity(res, capacity[res] * 2 + 1)
    else:
        changed = net.set_cap(flow, 0.5)
    assert set(changed) <= lefts | {-1}
    assert_max_min(net)


@FAST
@given(subset_cases(), st.integers(1, 40))
def test_more_capacity_on_a_bottleneck_every_flow_shares_never_slows_a_flow(
        case: Case, extra: int) -> None:
    case.capacity["shared"] = 10
    case.flows = [(("shared", *route), w, cap) for route, w, cap in case.flows]
    net = case.build()
    before = net.rates()
    changed = net.set_capacity("shared", 10 + extra)
    after = net.rates()
    assert all(after[f] >= before[f] * (1 - TOL) for f in before)
    assert set(changed) == {f for f in after if after[f] != before[f]}


@FAST
@given(st.lists(st.tuples(st.integers(0, 20), WEIGHTS, CAPS), min_size=2, max_size=10),
       st.integers(1, 30), st.integers(0, 100))
def test_removing_a_flow_never_slows_another_on_a_single_bottleneck(
        flows: list[tuple[int, Fraction, int | None]], shared: int, pick: int) -> None:
    # Every flow crosses the shared link and a link of its own (its access link).
    capacity = {"shared": shared} | {i: access for i, (access, _, _) in enumerate(flows)}
    net = Case(capacity, [(("shared", i), w, cap) for i, (_, w, cap) in enumerate(flows)]
               ).build()
    before = net.rates()
    gone = pick % len(flows)
    changed = net.remove_flow(gone)
    after = net.rates()
    assert all(after[f] >= before[f] * (1 - TOL) for f in after)
    assert set(changed) == {f for f in after if after[f] != before[f]}


def test_removing_a_flow_can_slow_another_in_general_as_max_min_says() -> None:
    # A crosses r1 and r2; B only r1, C only r2. While B is there, r1 holds A to 0.5 and
    # C takes the rest of r2; without B, A and C split r2 evenly, so C slows.
    net: FlowNetwork[str, str] = FlowNetwork({"r1": 1.0, "r2": 2.0})
    net.add_flow("A", ["r1", "r2"])
    net.add_flow("B", ["r1"])
    net.add_flow("C", ["r2"])
    assert net.rates() == {"A": 0.5, "B": 0.5, "C": 1.5}
    assert sorted(net.remove_flow("B")) == ["A", "C"]
    assert net.rates() == {"A": 1.0, "C": 1.0}


def test_weights_share_a_bottleneck_in_proportion() -> None:
    # RTT-weighted sharing as in LV08: weight 1/RTT, a 10 ms flow gets 4x a 40 ms one.
    net: FlowNetwork[str, str] = FlowNetwork({"link": 100.0})
    net.add_flow("near", ["link"], weight=1 / 0.010)
    net.add_flow("far", ["link"], weight=1 / 0.040)
    assert net.rate("near") == pytest.approx(80.0)
    assert net.rate("far") == pytest.approx(20.0)
    assert net.bottleneck("near") == net.bottleneck("far") == "link"


def test_a_link_going_down_pauses_its_flows_and_coming_back_restores_them() -> None:
    net: FlowNetwork[int, str] = FlowNetwork({"a": 10.0, "b": 10.0})
    net.add_flow(1, ["a", "b"])
    net.add_flow(2, ["a"])
    assert net.rates() == {1: 5.0, 2: 5.0}
    assert sorted(net.set_capacity("b", 0.0)) == [1, 2]
    assert net.rates() == {1: 0.0, 2: 10.0}
    assert net.bottleneck(1) == "b"
    assert sorted(net.set_capacity("b", 10.0)) == [1, 2]
    assert net.rates() == {1: 5.0, 2: 5.0}


def test_a_fat_shared_link_does_not_couple_the_flows_behind_it() -> None:
    # A tiered tree: each device's link is its bottleneck, the cloud link has room. A
    # device's new flow changes that device's flows only, although all are connected.
    capacity = {("dev", i): 10.0 for i in range(50)} | {"cloud": 1e6}
    net: FlowNetwork[tuple[int, int], Any] = FlowNetwork(capacity)
    for i in range(50):
        net.add_flow((i, 0), [("dev", i), "cloud"])
    assert net.add_flow((7, 1), [("dev", 7), "cloud"]) == [(7, 1), (7, 0)]
    assert net.rate((7, 0)) == net.rate((7, 1)) == 5.0
    # Now the cloud link is full: device 7's two flows keep 5 each, the others share.
    assert len(net.set_capacity("cloud", 300.0)) == 49
    assert net.rate((0, 0)) == pytest.approx(290.0 / 49)
    assert net.rate((7, 0)) == 5.0
    assert_max_min(net)


def test_a_change_re_solves_only_the_flows_it_can_affect(
        monkeypatch: pytest.MonkeyPatch) -> None:
    fillings: list[list[Any]] = []
    run = filling.fill

    def spy(region: list[Any], resources: list[Any]) -> list[Any]:
        fillings.append(sorted(f.key for f in region))
        return run(region, resources)

    monkeypatch.setattr(filling, "fill", spy)
    capacity = {("dev", i): 10.0 for i in range(20)} | {"cloud": 1e6}
    net: FlowNetwork[tuple[int, int], Any] = FlowNetwork(capacity)
    for i in range(20):  # each device: a flow held by its link, one held by its cap
        net.add_flow((i, 0), [("dev", i), "cloud"], cap=4.0)
        net.add_flow((i, 1), [("dev", i), "cloud"])
    fillings.clear()
    net.add_flow((7, 2), [("dev", 7), "cloud"])  # device 7's link is full: its flows
    net.set_cap((3, 0), 1.0)  # gives device 3's other flow more
    net.set_cap((5, 0), 5.0)  # its fair share is 5: it gains
    net.remove_flow((9, 0))
    assert fillings == [[(7, 0), (7, 1), (7, 2)], [(3, 0), (3, 1)], [(5, 0), (5, 1)],
                        [(9, 1)]]
    assert net.rate((3, 1)) == 9.0 and net.rate((5, 0)) == 5.0 and net.rate((9, 1)) == 10.0
    net.set_cap((13, 1), 4.0)  # device 13's link now has room
    fillings.clear()
    net.set_capacity(("dev", 11), 20.0)  # both of its flows gain
    net.set_cap((12, 1), 100.0)  # held by its link, not its cap: nothing to solve
    net.set_capacity("cloud", 2e6)  # had room, still has: nothing to solve
    net.set_cap((13, 0), 5.0)  # fits in the room left: its neighbour is not involved
    assert fillings == [[(11, 0), (11, 1)], [(13, 0)]]
    assert net.rate((13, 0)) == 5.0 and net.rate((13, 1)) == 4.0


def test_a_cap_above_the_fair_share_changes_nothing_and_below_it_frees_bandwidth() -> None:
    net: FlowNetwork[int, str] = FlowNetwork({"a": 12.0})
    for i in range(3):
        net.add_flow(i, ["a"])
    assert net.set_cap(0, 100.0) == []
    assert sorted(net.set_cap(0, 2.0)) == [0, 1, 2]
    assert net.rates() == {0: 2.0, 1: 5.0, 2: 5.0}
    assert net.bottleneck(0) is None
    assert sorted(net.set_cap(0, math.inf)) == [0, 1, 2]
    assert net.rates() == {0: 4.0, 1: 4.0, 2: 4.0}


def test_a_flow_without_a_route_runs_at_its_cap() -> None:
    net: FlowNetwork[str, str] = FlowNetwork()
    assert net.add_flow("local", []) == ["local"]
    assert net.rate("local") == math.inf
    net.set_cap("local", 3.0)
    assert net.rate("local") == 3.0


def test_bad_input_is_refused_and_leaves_the_network_as_it_was() -> None:
    net: FlowNetwork[str, str] = FlowNetwork({"a": 1.0})
    with pytest.raises(ValueError, match="finite number >= 0"):
        net.set_capacity("a", -1.0)
    with pytest.raises(ValueError, match="finite number >= 0"):
        net.set_capacity("b", math.inf)
    with pytest.raises(KeyError, match="no resource 'zz'"):
        net.add_flow("f", ["a", "zz"])
    with pytest.raises(ValueError, match="at most once"):
        net.add_flow("f", ["a", "a"])
    with pytest.raises(ValueError, match="weight"):
        net.add_flow("f", ["a"], weight=0.0)
    with pytest.raises(ValueError, match="cap"):
        net.add_flow("f", ["a"], cap=-1.0)
    assert len(net) == 0 and net.flows_on("a") == []
    net.add_flow("f", ["a"])
    with pytest.raises(ValueError, match="already exists"):
        net.add_flow("f", ["a"])
    with pytest.raises(KeyError, match="no flow 'g'"):
        net.remove_flow("g")
    assert net.rates() == {"f": 1.0}
