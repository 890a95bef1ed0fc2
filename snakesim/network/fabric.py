"""The fabric: the only network API strategies see.

This module owns executing what strategies decide: `Fabric.send` moves a payload along
the lowest-latency path, store-and-forward, sharing each link direction's bandwidth with
the other flows on it; `Fabric.compute` holds a node for a job's FLOPs divided by the
node's FLOP/s, one job at a time. Every transfer, hop, relay and compute job is written to
the run's ledger here, so strategies never touch links, queues or counters.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from heapq import heappop, heappush
from itertools import pairwise
from typing import Any, Protocol

import networkx as nx
import simpy

from snakesim.config.schema import Scenario
from snakesim.errors import ConfigurationError
from snakesim.network.links import Channel
from snakesim.network.nodes import NodeAttrs, draw_nodes
from snakesim.network.topology import build_graph
from snakesim.records import ComputeRecord, TransferRecord
from snakesim.sim.world import World

Hop = tuple[str, str, Channel, float]
"""One hop of a route: ``(u, v, channel u->v, latency_s)``."""

_PathKey = tuple[float, int, tuple[str, ...]]
"""Dijkstra order: total latency, then hop count, then the node sequence itself."""


class ComputeJob(Protocol):
    """What the fabric needs to know about a compute job (a lazy future).

    Its cost is known before it runs; the strategy asks the job for its result after
    the fabric's event fires. The fabric never runs torch.
    """

    @property
    def flops(self) -> float:
        """Floating-point operations the job performs."""
        ...

    @property
    def peak_memory_bytes(self) -> int:
        """Peak memory the job needs on its node."""
        ...

    @property
    def samples(self) -> int:
        """Training samples the job processes."""
        ...


class Fabric:
    """Network and compute of one run, built on a graph and the drawn node budgets.

    Parameters
    ----------
    world
        The run's world (environment and ledger).
    graph
        Undirected graph whose edges carry ``latency`` (s) and ``bandwidth`` (bit/s per
        direction), as built by `snakesim.network.topology.build_graph`.
    nodes
        One `NodeAttrs` per graph node.
    """

    def __init__(self, world: World, graph: nx.Graph, nodes: Sequence[NodeAttrs]) -> None:
        self._world = world
        self._env = world.env
        self._nodes = {n.name: n for n in nodes}
        unmatched = sorted(set(map(str, graph.nodes)) ^ set(self._nodes))
        if unmatched:
            raise ConfigurationError("fabric: graph nodes and node budgets differ on "
                                     f"{', '.join(unmatched[:10])}")
        self._order = list(nodes)
        self._graph = graph
        self._channels: dict[tuple[str, str], Channel] = {}
        for u, v, data in graph.edges(data=True):
            self._channels[(u, v)] = Channel(self._env, data["bandwidth"])
            self._channels[(v, u)] = Channel(self._env, data["bandwidth"])
        self._cpus = {n.name: simpy.Resource(self._env, capacity=1) for n in nodes}
        self._routes: dict[tuple[str, str], tuple[Hop, ...]] = {}
        self._searches: dict[str, _Search] = {}
        self._next_transfer = 0
        self.clients = [n.name for n in nodes if n.role == "client"]
        """Client node names, in topology order."""
        self.server: str | None = next((n.name for n in nodes if n.role == "server"), None)
        """The server node's name, or ``None`` when the topology has none."""

    # ------------------------------------------------------------------ queries
    @property
    def now(self) -> float:
        """Current simulated time in seconds."""
        return float(self._env.now)

    @property
    def nodes(self) -> list[NodeAttrs]:
        """Every node's budgets, in topology order."""
        return list(self._order)

    def node(self, name: str) -> NodeAttrs:
        """The budgets of node ``name``."""
        self._require_node(name)
        return self._nodes[name]

    def channel(self, src: str, dst: str) -> Channel:
        """The channel of link direction ``src -> dst`` (for outages and tests)."""
        try:
            return self._channels[(src, dst)]
        except KeyError:
            raise ConfigurationError(f"fabric: nodes {src} and {dst} are not linked") from None

    def path(self, src: str, dst: str) -> list[str]:
        """The route from ``src`` to ``dst``, both included.

        The route has the lowest total latency; ties go to the fewest hops, then to the
        lexicographically smallest node sequence, so routes never depend on insertion
        order. Routes are computed once and cached.
        """
        hops = self._route(src, dst)
        return [src, *(v for _, v, _, _ in hops)]

    # --------------------------------------------------------------- transfers
    def send(self, src: str, dst: str, nbytes: int, *, kind: str, round: int,
             payload: object = None) -> simpy.Event:
        """Send ``nbytes`` from ``src`` to ``dst``, store-and-forward along `path`.

        On each hop the bytes share the link direction's bandwidth with the other flows
        on it, then take the hop's latency; the next hop starts when they have arrived.

        Parameters
        ----------
        src, dst
            Node names; ``src == dst`` delivers at once and records nothing.
        nbytes
            Payload size in bytes (of the real tensors sent).
        kind
            What is sent (``"model"``, ``"activations"``, ...), for the result tables.
        round
            The strategy's round number, for the result tables.
        payload
            Returned as the event's value on delivery.

        Returns
        -------
        simpy.Event
            Succeeds with ``payload`` when the last byte reaches ``dst``.
        """
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0 (got {nbytes})")
        hops = self._route(src, dst)
        if not hops:
            return self._env.event().succeed(payload)
        transfer_id = self._next_transfer
        self._next_transfer += 1
        return self._env.process(
            self._deliver(transfer_id, hops, int(nbytes), kind, round, payload))

    def _deliver(self, transfer_id: int, hops: tuple[Hop, ...], nbytes: int, kind: str,
                 round: int, payload: object) -> Generator[simpy.Event, Any, object]:
        env, ledger = self._env, self._world.ledger
        start = float(env.now)
        for i, (u, v, channel, latency) in enumerate(hops):
            if i:
                ledger.relay(u, nbytes)
            yield channel.transmit(nbytes)
            if latency > 0.0:
                yield env.timeout(latency)
            ledger.hop(u, v, nbytes)
        path = ">".join([hops[0][0], *(v for _, v, _, _ in hops)])
        ledger.transfer(TransferRecord(
            transfer_id=transfer_id, kind=kind, round=round, src=hops[0][0], dst=hops[-1][1],
            nbytes=nbytes, hops=len(hops), path=path, start_s=start, end_s=float(env.now)))
        return payload

    # ----------------------------------------------------------------- compute
    def compute(self, node: str, job: ComputeJob, *, kind: str, round: int) -> simpy.Event:
        """Run ``job`` on ``node`` after the jobs queued before it (one at a time, FIFO).

        Once the node is free the job holds it for ``job.flops / compute_flops_per_s``
        seconds; then a `ComputeRecord` is written.

        Parameters
        ----------
        node
            Node name.
        job
            The job's cost (see `ComputeJob`); its real work is not run here.
        kind
            What the job is (``"train"``, ``"forward"``, ...), for the result tables.
        round
            The strategy's round number, for the result tables.

        Returns
        -------
        simpy.Event
            Succeeds with ``job`` when the node has finished it.
        """
        attrs = self.node(node)
        flops = float(job.flops)
        if not flops >= 0.0:
            raise ValueError(f"job.flops must be >= 0 (got {job.flops})")
        return self._env.process(self._run(attrs, job, flops, kind, round))

    def _run(self, attrs: NodeAttrs, job: ComputeJob, flops: float, kind: str,
             round: int) -> Generator[simpy.Event, Any, ComputeJob]:
        with self._cpus[attrs.name].request() as turn:
            yield turn
            start = float(self._env.now)
            yield self._env.timeout(flops / attrs.compute_flops_per_s)
            self._world.ledger.compute(ComputeRecord(
                node=attrs.name, kind=kind, round=round, start_s=start,
                end_s=float(self._env.now), flops=flops,
                peak_memory_bytes=int(job.peak_memory_bytes), samples=int(job.samples)))
        return job

    def store(self, node: str, nbytes: int) -> None:
        """Record that ``node`` keeps ``nbytes`` at rest (the ledger keeps the maximum)."""
        self._require_node(node)
        self._world.ledger.store(node, nbytes)

    # ----------------------------------------------------------------- routing
    def _require_node(self, name: str) -> None:
        if name not in self._nodes:
            raise ConfigurationError(f"fabric: unknown node (got {name!r})")

    def _route(self, src: str, dst: str) -> tuple[Hop, ...]:
        key = (src, dst)
        hops = self._routes.get(key)
        if hops is None:
            self._require_node(src)
            self._require_node(dst)
            search = self._searches.get(src)
            if search is None:
                search = self._searches[src] = _Search(src)
            nodes = search.path_to(dst, self._graph)
            hops = tuple((u, v, self._channels[(u, v)], float(self._graph.edges[u, v]["latency"]))
                         for u, v in pairwise(nodes))
            self._routes[key] = hops
        return hops


class _Search:
    """Dijkstra from one source that stops at the asked node and resumes on demand.

    A server that sends to every client then costs one full search, and a client that
    only talks to its neighbour settles two nodes instead of the whole graph.
    """

    __slots__ = ("_best", "_heap", "_settled", "_src", "_unexpanded")

    def __init__(self, src: str) -> None:
        self._src = src
        start: _PathKey = (0.0, 0, (src,))
        self._heap: list[_PathKey] = [start]
        self._best: dict[str, _PathKey] = {src: start}
        self._settled: dict[str, tuple[str, ...]] = {}
        self._unexpanded: list[_PathKey] = []

    def path_to(self, dst: str, graph: nx.Graph) -> tuple[str, ...]:
        """The best path to ``dst`` (see `Fabric.path` for the order)."""
        while dst not in self._settled:
            # Expand lazily: settling dst must not push the whole neighbourhood of dst.
            for key in self._unexpanded:
                self._expand(key, graph)
            self._unexpanded.clear()
            if not self._heap:
                raise ConfigurationError(
                    f"fabric: no path from {self._src} to {dst}")
            key = heappop(self._heap)
            node = key[2][-1]
            if node not in self._settled:
                self._settled[node] = key[2]
                self._unexpanded.append(key)
        return self._settled[dst]

    def _expand(self, key: _PathKey, graph: nx.Graph) -> None:
        latency, hops, nodes = key
        for nbr, data in graph.adj[nodes[-1]].items():
            if nbr in self._settled:
                continue
            candidate = (latency + float(data["latency"]), hops + 1, (*nodes, nbr))
            best = self._best.get(nbr)
            if best is None or candidate < best:
                self._best[nbr] = candidate
                heappush(self._heap, candidate)


def build_fabric(world: World, scenario: Scenario) -> Fabric:
    """Build a scenario's graph, draw its nodes from ``world.rng("nodes")``, wrap both.

    Parameters
    ----------
    world
        The run's world.
    scenario
        A validated scenario.

    Returns
    -------
    Fabric
        The fabric strategies of this run use.
    """
    graph = build_graph(scenario.topology, scenario.links)
    nodes = draw_nodes(scenario.nodes, scenario.topology, world.rng("nodes"))
    return Fabric(world, graph, nodes)
