"""Cost of flow-level bandwidth sharing on a tiered tree, incremental vs from scratch.

The tree: a data-centre host behind one cloud link, 10 edge sites, 10 base stations per
edge, 100 devices per base station (10,000 devices); every link direction is a resource,
so every flow crosses the cloud link and all uploads (and all downloads) form one huge
connected component, the case that makes per-component recomputation expensive. Flows go
from random devices to the data centre and back, with LV08-like weights (``1 / RTT``, the
RTT drawn per device) and TCP window caps (128 KiB per RTT). Two cloud links:

* ``fat`` (1 Tbps): the devices' radio links are the bottlenecks, the cloud link has room;
* ``thin`` (10 Gbps): the cloud link is full and every flow in a direction shares it, so
  every start or end changes every rate in that direction (any exact solver pays O(n)).

With few flows even the thin cloud link has room; it fills from about 1,000 flows on.

For each number of concurrent flows, in one run: (a) adding them one by one (within
``--budget`` seconds: with a full cloud link each start changes every rate, so this is
O(flows^2)) and all at once (`FlowNetwork.add_flows`); (b) steady state: alternately the
end of a random flow and the start of a new one, time per event and flows whose rate
changed per event, then the same events from the same start with every flow re-solved
each time (``incremental = False``; both within ``--budget``, at least 10 events), and
the ratio of the two; (c) the growth down the rows. One from-scratch solve of all the
flows is timed in the solver and in a vectorised numpy water-filling: numpy needs one
round per distinct saturation level, so it only keeps up when there are few (one full
cloud link), and is 10x slower when every device link is a bottleneck. The last column
checks the incremental rates against a full re-solve and the numpy rates (largest
relative difference). Setup objects are frozen out of the garbage collector's sight, as
a run does (``gc.freeze``).

    python benchmarks/flow_sharing.py [--flows 100,1000,10000] [--events 2000]
        [--budget 20]
"""

from __future__ import annotations

import argparse
import gc
import random
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from snakesim.network.sharing import FlowNetwork

Link = tuple[str, str]
Spec = tuple[list[Link], float, float]  # route, weight, cap
WINDOW_BITS = 128 * 1024 * 8


class Tree:
    """The tiered topology: device routes to the data centre and capacities."""

    def __init__(self, cloud_bps: float, rng: random.Random, edges: int = 10,
                 stations: int = 10, devices: int = 100) -> None:
        self.capacity: dict[Link, float] = {}
        self.up: list[list[Link]] = []  # per device: its route to the data centre
        self.rtt: list[float] = []
        self._link("dc", "cloud", cloud_bps, cloud_bps)
        for e in range(edges):
            edge = f"e{e}"
            self._link(edge, "cloud", 40e9, 40e9)
            for s in range(stations):
                station = f"{edge}b{s}"
                self._link(station, edge, 10e9, 10e9)
                for d in range(devices):
                    device = f"{station}d{d}"
                    down = rng.uniform(20e6, 200e6)
                    self._link(device, station, down / 2, down)
                    self.up.append([(device, station), (station, edge), (edge, "cloud"),
                                    ("cloud", "dc")])
                    self.rtt.append(rng.uniform(0.010, 0.060))

    def _link(self, a: str, b: str, ab: float, ba: float) -> None:
        self.capacity[(a, b)], self.capacity[(b, a)] = ab, ba

    def flow(self, rng: random.Random) -> Spec:
        """A random flow: (route, weight, cap)."""
        device = rng.randrange(len(self.up))
        route = self.up[device]
        if rng.random() < 0.5:
            route = [(v, u) for u, v in reversed(route)]
        rtt = self.rtt[device]
        return route, 1.0 / rtt, WINDOW_BITS / rtt


def timed(action: Callable[[], Any]) -> float:
    gc.collect()
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def one_by_one(tree: Tree, specs: list[Spec], budget_s: float) -> tuple[float, int]:
    """Add the flows one by one, within about ``budget_s``: (seconds, flows added)."""
    net: FlowNetwork[int, Link] = FlowNetwork(tree.capacity)
    gc.collect()
    start = time.perf_counter()
    for i, (route, weight, cap) in enumerate(specs):
        net.add_flow(i, route, weight=weight, cap=cap)
        if time.perf_counter() - start > budget_s:
            return time.perf_counter() - start, i + 1
    return time.perf_counter() - start, len(specs)


def at_once(tree: Tree, specs: list[Spec]) -> tuple[FlowNetwork[int, Link], float]:
    """All the flows added in one call: (network, seconds for the call)."""
    net: FlowNetwork[int, Link] = FlowNetwork(tree.capacity)
    seconds = timed(lambda: net.add_flows(
        (i, route, weight, cap) for i, (route, weight, cap) in enumerate(specs)))
    return net, seconds


def churn(net: FlowNetwork[int, Link], tree: Tree, seed: int, events: int,
          budget_s: float) -> tuple[int, float, float]:
    """Alternate ends and starts (at least 10, at most ``events``, within about
    ``budget_s``); returns (events, seconds per event, changed flows per event)."""
    rng = random.Random(seed)
    live = sorted(net.rates())
    first_id = max(live, default=-1) + 1
    changed = done = 0
    gc.collect()
    start = time.perf_counter()
    while done < events and (done < 10 or time.perf_counter() - start < budget_s):
        if done % 2 == 0:
            changed += len(net.remove_flow(live.pop(rng.randrange(len(live)))))
        else:
            route, weight, cap = tree.flow(rng)
            live.append(first_id + done)
            changed += len(net.add_flow(first_id + done, route, weight=weight, cap=cap))
        done += 1
    return done, (time.perf_counter() - start) / done, changed / done


def numpy_fill(tree: Tree, specs: list[Spec]) -> np.ndarray:
    """From-scratch weighted max-min with caps, vectorised: one round per saturation
    level, each round O(flows x hops) in numpy."""
    index = {link: i for i, link in enumerate(tree.capacity)}
    capacity = np.array(list(tree.capacity.values()))
    fi = np.repeat(np.arange(len(specs)), [len(route) for route, _, _ in specs])
    ri = np.array([index[link] for route, _, _ in specs for link in route])
    weight = np.array([w for _, w, _ in specs])
    cap = np.array([c for _, _, c in specs])
    rate = np.zeros(len(specs))
    frozen = np.zeros(len(specs), dtype=bool)
    while not frozen.all():
        active = ~frozen
        wsum = np.bincount(ri, weights=(weight * active)[fi], minlength=len(capacity))
        used = np.bincount(ri, weights=(rate * frozen)[fi], minlength=len(capacity))
        with np.errstate(divide="ignore", invalid="ignore"):
            level = np.where(wsum > 0, (capacity - used) / wsum, np.inf)
        cap_level = np.where(active, cap / weight, np.inf)
        t = min(level.min(), cap_level.min())
        hit = np.zeros(len(specs), dtype=bool)
        hit[fi[level[ri] <= t * (1 + 1e-12)]] = True
        capped = active & (cap_level <= t * (1 + 1e-12))
        hit &= active & ~capped
        rate[capped], rate[hit] = cap[capped], weight[hit] * t
        frozen |= hit | capped
    return rate


def gap(a: dict[int, float], b: dict[int, float]) -> float:
    """Largest relative difference between two sets of rates."""
    return max((abs(a[f] - b[f]) / max(abs(b[f]), 1e-300) for f in a), default=0.0)


def row(cloud_bps: float, flows: int, args: argparse.Namespace) -> dict[str, Any]:
    rng = random.Random(args.seed)
    tree = Tree(cloud_bps, rng)
    specs = [tree.flow(rng) for _ in range(flows)]
    out: dict[str, Any] = {"flows": flows}
    out["one_by_one_s"], out["one_by_one_n"] = one_by_one(tree, specs, args.budget)
    net, out["at_once_s"] = at_once(tree, specs)
    # As a run does: the long-lived set-up hidden from the cyclic garbage collector.
    gc.collect()
    gc.freeze()
    try:
        out["solve_ms"] = min(timed(net.recompute) for _ in range(3)) * 1e3
        rates: list[np.ndarray] = []
        out["numpy_ms"] = min(timed(lambda: rates.append(numpy_fill(tree, specs)))
                              for _ in range(3)) * 1e3
        out["gap"] = gap(dict(enumerate(rates[0].tolist())), net.rates())
        out["events"], per_event, out["changed"] = churn(net, tree, args.seed + 1,
                                                          args.events, args.budget)
        before = net.rates()
        net.recompute()
        out["gap"] = max(out["gap"], gap(before, net.rates()))
        # The same events from the same start, every one re-solving every flow.
        scratch, _ = at_once(tree, specs)
        scratch.incremental = False
        out["scratch_events"], scratch_per_event, _ = churn(
            scratch, tree, args.seed + 1, args.events, args.budget)
    finally:
        gc.unfreeze()
    out["event_us"], out["scratch_us"] = per_event * 1e6, scratch_per_event * 1e6
    out["ratio"] = scratch_per_event / per_event
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flows", default="100,1000,10000")
    parser.add_argument("--events", type=int, default=2000,
                        help="steady-state events per measurement (at most)")
    parser.add_argument("--budget", type=float, default=20.0,
                        help="seconds per measurement (at least 10 events)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    print("| cloud | flows | add 1 by 1 (s) | add at once (s) | us/event (n) | changed/event"
          " | scratch us/event (n) | scratch/incr | 1 solve (ms) | numpy solve (ms)"
          " | max rel gap |")
    print("|" + "---|" * 11)
    for name, cloud in (("fat", 1e12), ("thin", 10e9)):
        for flows in (int(n) for n in args.flows.split(",")):
            r = row(cloud, flows, args)
            serial = f"{r['one_by_one_s']:.2f}"
            if r["one_by_one_n"] < flows:  # out of budget: how far it got
                serial = f"> {serial} ({r['one_by_one_n']} added)"
            print(f"| {name} | {flows} | {serial} | {r['at_once_s']:.2f}"
                  f" | {r['event_us']:.0f} ({r['events']}) | {r['changed']:.1f}"
                  f" | {r['scratch_us']:.0f} ({r['scratch_events']}) | {r['ratio']:.1f}"
                  f" | {r['solve_ms']:.1f} | {r['numpy_ms']:.1f} | {r['gap']:.1e} |",
                  flush=True)


if __name__ == "__main__":
    main()
