"""Network-only speed: transfers and compute jobs on a 10,000-node tiered topology.

No training: every job's FLOPs are given. The simulation does one FedAvg-like round per
base station group: each device downloads a model from the cloud (cloud -> edge -> base
station -> device), computes, and uploads it back, over shared links. We count the
simulated events SimPy processes and divide by wall time, and compare with two bare
SimPy loops measured in the same run (these machines are noisy, so each figure is the
best of ``--repeat`` runs; the ratios are what to track):

* ``bare, same events``: as many plain timeouts as snakesim processed events, spread
  over as many processes as there are transfers (so the event queue is as large as
  snakesim's); the ratio of events per second says what an event costs us;
* ``bare, same work``: one process per device that only waits out the same sequence of
  steps (per hop: transmission at full rate, then latency; then the job; then the
  upload), no sharing, no routing, no records; the ratio of wall times says how close
  to a model without the network model the simulation runs.

With the flow model (this benchmark's default, ``--network flow``) every device's download is a
flow from the cloud, so at 10,000 devices 10,000 flows are in flight at once, sharing
the edge and base-station links; ``--growth 1000,3000,10000`` also reports how the cost
per event grows with the number of concurrent flows (one run per size).
``--network store_and_forward`` times the per-hop model instead.

    python benchmarks/network_scale.py [--devices 10000] [--repeat 3]
        [--network flow|store_and_forward] [--growth 1000,3000,10000] [--no-gc]
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

import networkx as nx
import simpy

from snakesim.config.network import NetworkSpec
from snakesim.network.fabric import Fabric
from snakesim.network.nodes import NodeAttrs
from snakesim.sim.world import World


class Job:
    """A compute job with its cost given (no torch)."""

    def __init__(self, flops: float) -> None:
        self.flops, self.peak_memory_bytes, self.samples = flops, 1, 1


def tiered(devices: int, per_bs: int = 20, bs_per_edge: int = 10) -> tuple[nx.Graph,
                                                                          list[NodeAttrs]]:
    """cloud - edge servers - base stations - devices, with fan-out per tier."""
    graph = nx.Graph()
    nodes = [NodeAttrs("cloud", "server", 1e15, 1e12, 1e13)]
    n_bs = -(-devices // per_bs)
    n_edge = -(-n_bs // bs_per_edge)
    for e in range(n_edge):
        graph.add_edge("cloud", f"edge{e}", latency=5e-3, bandwidth=10e9)
        nodes.append(NodeAttrs(f"edge{e}", "client", 1e13, 64e9, 1e12))
    for b in range(n_bs):
        graph.add_edge(f"edge{b // bs_per_edge}", f"bs{b}", latency=1e-3, bandwidth=1e9)
        nodes.append(NodeAttrs(f"bs{b}", "client", 1e12, 16e9, 1e11))
    for d in range(devices):
        graph.add_edge(f"bs{d // per_bs}", f"dev{d}", latency=2e-3, bandwidth=100e6)
        nodes.append(NodeAttrs(f"dev{d}", "client", 1e10, 4e9, 64e9))
    return graph, nodes


def simulate(devices: int, freeze: bool = False,
             network: NetworkSpec | None = None) -> tuple[int, float, float]:
    """Run one round; return (events processed, wall seconds, simulated seconds).

    With ``freeze`` the objects made before the loop (graph, fabric, imported modules)
    are moved out of the collector's sight (`gc.freeze`) while the loop runs: the
    difference is what full collections scanning them cost.
    """
    graph, nodes = tiered(devices)
    world = World(0)
    fabric = Fabric(world, graph, nodes, network=network or NetworkSpec())
    env = world.env
    model = MODEL_BYTES

    def device(name: str) -> Any:
        yield fabric.send("cloud", name, model, kind="download", round=1)
        yield fabric.compute(name, Job(JOB_FLOPS), kind="train", round=1)
        yield fabric.send(name, "cloud", model, kind="upload", round=1)

    for d in range(devices):
        env.process(device(f"dev{d}"))
    events, wall = drain(env, freeze)
    return events, wall, float(env.now)


def drain(env: simpy.Environment, freeze: bool = False) -> tuple[int, float]:
    """Step ``env`` until nothing is scheduled; return (events, wall seconds)."""
    events = 0
    gc.collect()  # every timed loop starts from the same collector state
    if freeze:
        gc.freeze()
    start = time.perf_counter()
    while True:
        try:
            env.step()
        except simpy.core.EmptySchedule:
            break
        events += 1
    wall = time.perf_counter() - start
    gc.unfreeze()
    return events, wall


MODEL_BYTES = 2_000_000
JOB_FLOPS = 5e9


def bare(n_events: int, workers: int) -> float:
    """Wall seconds for a bare SimPy loop: ``n_events`` timeouts over ``workers`` processes."""
    env = simpy.Environment()

    def ticker(count: int, step: float) -> Any:
        for _ in range(count):
            yield env.timeout(step)

    per, extra = divmod(n_events, workers)
    for i in range(workers):
        # Distinct steps keep the queue's order shuffled, as in a real run.
        env.process(ticker(per + (i < extra), 1e-3 * (1.0 + (i % 97) / 97)))
    gc.collect()  # every timed loop starts from the same collector state
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def bare_work(devices: int) -> tuple[int, float]:
    """(events, wall seconds) of the same round as plain waits, one process per device."""
    env = simpy.Environment()
    hops = [(8 * MODEL_BYTES / 10e9, 5e-3), (8 * MODEL_BYTES / 1e9, 1e-3),
            (8 * MODEL_BYTES / 100e6, 2e-3)]
    job = JOB_FLOPS / 1e10

    def device() -> Any:
        for transmit, latency in hops:
            yield env.timeout(transmit)
            yield env.timeout(latency)
        yield env.timeout(job)
        for transmit, latency in reversed(hops):
            yield env.timeout(transmit)
            yield env.timeout(latency)

    for _ in range(devices):
        env.process(device())
    return drain(env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3, help="best of this many runs")
    parser.add_argument("--freeze", action="store_true",
                        help="also time snakesim with its setup objects frozen (gc.freeze)")
    parser.add_argument("--network", choices=["flow", "store_and_forward"], default="flow")
    parser.add_argument("--growth", default="",
                        help="comma-separated device counts: cost per event at each")
    parser.add_argument("--no-gc", action="store_true",
                        help="with --growth: also time each size with the garbage "
                             "collector off (what the collector's scans cost)")
    args = parser.parse_args()
    network = NetworkSpec(model=args.network)
    print(f"network         {network.model}"
          + (f", {network.transport}, {network.sharing}" if network.model == "flow" else ""))
    runs = [simulate(args.devices, network=network) for _ in range(args.repeat)]
    events, simulated = runs[0][0], runs[0][2]
    wall = min(run[1] for run in runs)
    transfers = 2 * args.devices
    same_events = min(bare(events, transfers) for _ in range(args.repeat))
    few_workers = min(bare(events, 100) for _ in range(args.repeat))
    work = [bare_work(args.devices) for _ in range(args.repeat)]
    work_events, work_wall = work[0][0], min(w[1] for w in work)
    rate = events / wall
    print(f"topology        {args.devices} devices + base stations, edges, cloud "
          f"({len(tiered(args.devices)[1])} nodes), {transfers} transfers, best of "
          f"{args.repeat}")
    print(f"snakesim        {events} events in {wall:.2f} s = {rate:,.0f} events/s "
          f"(simulated {simulated:.1f} s)")
    print(f"bare, same events  {events} timeouts, {transfers} processes, in "
          f"{same_events:.2f} s = {events / same_events:,.0f} events/s: ratio "
          f"{rate / (events / same_events):.3f}")
    print(f"  (100 processes   {few_workers:.2f} s = {events / few_workers:,.0f} events/s: "
          f"ratio {rate / (events / few_workers):.3f})")
    print(f"bare, same work    {work_events} timeouts, {args.devices} processes, in "
          f"{work_wall:.2f} s = {work_events / work_wall:,.0f} events/s: wall-time ratio "
          f"{work_wall / wall:.3f}")
    if args.growth:
        print("devices (= concurrent flows)   events   wall s   events/s   us/event   "
              "events per device")
        for n in (int(x) for x in args.growth.split(",")):
            grown = [simulate(n, network=network) for _ in range(args.repeat)]
            ev, best = grown[0][0], min(g[1] for g in grown)
            print(f"{n:>27}   {ev:>6}   {best:>6.2f}   {ev / best:>8,.0f}   "
                  f"{1e6 * best / ev:>8.1f}   {ev / n:>6.1f}")
            if args.no_gc:
                gc.disable()
                try:
                    off = min(simulate(n, network=network)[1] for _ in range(args.repeat))
                finally:
                    gc.enable()
                print(f"{'(collector off)':>27}   {ev:>6}   {off:>6.2f}   {ev / off:>8,.0f}   "
                      f"{1e6 * off / ev:>8.1f}")
    if args.freeze:
        frozen = min(simulate(args.devices, freeze=True, network=network)[1]
                     for _ in range(args.repeat))
        print(f"snakesim, setup frozen  {frozen:.2f} s = {events / frozen:,.0f} events/s "
              f"(same events ratio {events / frozen / (events / same_events):.3f}, same work "
              f"wall-time ratio {work_wall / frozen:.3f})")


if __name__ == "__main__":
    main()
