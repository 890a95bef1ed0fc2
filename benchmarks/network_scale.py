"""Network-only speed: transfers and compute jobs on a 10,000-node tiered topology.

No training: every job's FLOPs are given. The simulation does one FedAvg-like round per
base station group: each device downloads a model from the cloud (cloud -> edge -> base
station -> device), computes, and uploads it back, over shared links. We count the
simulated events SimPy processes and divide by wall time, then compare with a bare SimPy
loop that schedules the same number of plain timeouts. Both are measured in this run;
the ratio is what to track (these machines are noisy).

    python benchmarks/network_scale.py [--devices 10000]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import networkx as nx
import simpy

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


def simulate(devices: int) -> tuple[int, float, float]:
    """Run one round; return (events processed, wall seconds, simulated seconds)."""
    graph, nodes = tiered(devices)
    world = World(0)
    fabric = Fabric(world, graph, nodes)
    env = world.env
    model = 2_000_000

    def device(name: str) -> Any:
        yield fabric.send("cloud", name, model, kind="download", round=1)
        yield fabric.compute(name, Job(5e9), kind="train", round=1)
        yield fabric.send(name, "cloud", model, kind="upload", round=1)

    for d in range(devices):
        env.process(device(f"dev{d}"))
    events = 0
    start = time.perf_counter()
    while True:
        try:
            env.step()
        except simpy.core.EmptySchedule:
            break
        events += 1
    return events, time.perf_counter() - start, float(env.now)


def bare(n_events: int) -> float:
    """Wall seconds for a bare SimPy loop processing ``n_events`` timeouts."""
    env = simpy.Environment()

    def ticker(count: int) -> Any:
        for _ in range(count):
            yield env.timeout(0.001)

    workers = 100
    for _ in range(workers):
        env.process(ticker(n_events // workers))
    start = time.perf_counter()
    env.run()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=10_000)
    args = parser.parse_args()
    events, wall, simulated = simulate(args.devices)
    bare_wall = bare(events)
    rate, bare_rate = events / wall, events / bare_wall
    print(f"topology        {args.devices} devices + base stations, edges, cloud "
          f"({len(tiered(args.devices)[1])} nodes)")
    print(f"snakesim        {events} events in {wall:.2f} s = {rate:,.0f} events/s "
          f"(simulated {simulated:.1f} s)")
    print(f"bare SimPy      {events} timeouts in {bare_wall:.2f} s = {bare_rate:,.0f} events/s")
    print(f"ratio           {rate / bare_rate:.3f} of bare SimPy")


if __name__ == "__main__":
    main()
