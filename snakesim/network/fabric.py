"""The fabric: the only network API strategies see.

This module owns executing what strategies decide: `Fabric.send` moves a payload along
the lowest-latency live path, by the scenario's network model (store-and-forward per hop,
`snakesim.network.hops`, or one flow along the route, `snakesim.network.flows`), sharing
bandwidth with the other transfers; `Fabric.compute` holds a node for a job's FLOPs
divided by the node's FLOP/s, one job at a time. Every transfer, hop, relay and compute
job is written to the run's ledger by the fabric and its transports, so strategies never
touch links, queues or counters.

Each link direction has a nominal rate: its bandwidth (or its trace's current value)
times ``1 - loss``. A trace moves the nominal rate at its rows' times (waking only while
flows are on the direction, so an idle trace never keeps a run going); the channel runs
at the nominal rate while the link is up and at 0 while it is down.

Outages (driven by `snakesim.network.outages`) reach the fabric as `set_link` and
`set_node`: routes avoid what is down (each hop is routed when it starts, so a payload
re-routes at the node where it is), flows on a link that goes down pause or fail by
policy, and a job on a node that goes down is lost and re-run, or resumed, by policy.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import networkx as nx
import simpy

from snakesim.config.schema import NetworkSpec, Scenario
from snakesim.errors import ConfigurationError, OutOfMemory, SimulationStalled
from snakesim.network.compute import ComputeJob, Processors
from snakesim.network.flows import flow_transport
from snakesim.network.hops import StoreAndForward
from snakesim.network.links import Trace, read_trace
from snakesim.network.nodes import NodeAttrs, draw_nodes
from snakesim.network.routing import Router
from snakesim.network.topology import LinkTrace, build_graph
from snakesim.network.traces import TracePlayer
from snakesim.network.transfers import Transfer, Transport, describe_transfer
from snakesim.records import EffectRecord
from snakesim.sim.world import World


class Fabric:
    """Network and compute of one run, built on a graph and the drawn node budgets.

    Parameters
    ----------
    world
        The run's world (environment and ledger).
    graph
        Undirected graph whose edges carry ``latency`` (s) and ``bandwidth`` (bit/s per
        direction), as built by `snakesim.network.topology.build_graph`; optionally
        ``bandwidth_by_direction`` (``{(a, b): bit/s, (b, a): bit/s}``), ``loss`` (each
        direction carries ``bandwidth * (1 - loss)``) and ``trace`` (a
        `snakesim.network.topology.LinkTrace`, read here: a bad file raises
        `ConfigurationError`).
    nodes
        One `NodeAttrs` per graph node.
    transfers, retry_backoff, jobs
        Outage policies (see `snakesim.config.outages.OutagePolicy`).
    """

    def __init__(self, world: World, graph: nx.Graph, nodes: Sequence[NodeAttrs], *,
                 transfers: Literal["pause", "retry"] = "pause", retry_backoff: float = 1.0,
                 jobs: Literal["rerun", "resume"] = "rerun",
                 network: NetworkSpec | None = None) -> None:
        self._world = world
        self._env = world.env
        self._nodes = {n.name: n for n in nodes}
        unmatched = sorted(set(map(str, graph.nodes)) ^ set(self._nodes))
        if unmatched:
            raise ConfigurationError("fabric: graph nodes and node budgets differ on "
                                     f"{', '.join(unmatched[:10])}")
        self._order = list(nodes)
        self._graph = graph
        self._router = Router(self._env, graph)
        self._processors = Processors(self._env, world.ledger, self._router, jobs,
                                      self._effect)
        self._nominal: dict[tuple[str, str], float] = {}
        self._latency: dict[tuple[str, str], float] = {}
        for u, v, latency in graph.edges(data="latency"):
            self._nominal[(u, v)] = self._nominal_of((u, v))
            self._nominal[(v, u)] = self._nominal_of((v, u))
            self._latency[(u, v)] = self._latency[(v, u)] = max(float(latency), 0.0)
        self._retry = transfers == "retry"  # else pause: flows wait out the outage
        self._next_transfer = 0
        self._in_flight: dict[int, Transfer] = {}  # sent, not yet delivered
        traces: dict[tuple[str, str], Trace] = {}
        for _, _, data in graph.edges(data=True):
            spec: LinkTrace | None = data.get("trace")
            if spec is not None:
                trace = read_trace(spec.path, spec.where, repeat=spec.repeat)
                traces.update({key: trace for key in spec.directions()})
        # The network model, driven only through `Transport`.
        self._transport: Transport = flow_transport(
            world.env, world.ledger, self._router, self._latency, self._nominal, network,
            float(retry_backoff), self._effect) or StoreAndForward(
            world.env, self._router, world.ledger, self._latency, self._nominal,
            self._effect, float(retry_backoff))
        self._traces = TracePlayer(self._env, traces, self.set_bandwidth,
                                   lambda key: self._router.link_up(*key),
                                   lambda key: self._transport.count(key) > 0,
                                   self._stuck if transfers == "pause" else None)
        if self._traces:
            self._transport.on_start = self._sync_trace
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

    @property
    def graph(self) -> nx.Graph:
        """The topology (read-only by convention)."""
        return self._graph

    def node(self, name: str) -> NodeAttrs:
        """The budgets of node ``name``."""
        self._require_node(name)
        return self._nodes[name]

    def _require_link(self, src: str, dst: str) -> tuple[str, str]:
        if (src, dst) not in self._latency:
            raise ConfigurationError(f"fabric: nodes {src} and {dst} are not linked")
        return (src, dst)

    def _nominal_of(self, key: tuple[str, str]) -> float:
        """Direction ``key``'s nominal rate from the graph (loss deducted)."""
        data = self._graph.edges[key]
        ways = data.get("bandwidth_by_direction")
        raw = float(ways[key] if ways else data["bandwidth"])
        return raw * (1.0 - float(data.get("loss", 0.0)))

    def nominal_bandwidth(self, src: str, dst: str) -> float:
        """Goodput of direction ``src -> dst`` while up: its (traced) rate x (1 - loss)."""
        return self._nominal[self._require_link(src, dst)]

    def set_bandwidth(self, src: str, dst: str, bandwidth_bps: float) -> None:
        """Set the raw bandwidth of direction ``src -> dst`` from now on (for traces).

        It becomes the direction's nominal rate (times ``1 - loss``); the channel runs at
        it while the link is up and at 0 while it is down, and returns to it when the
        link comes back.
        """
        key = self._require_link(src, dst)
        loss = float(self._graph.edges[key].get("loss", 0.0))
        self._nominal[key] = nominal = float(bandwidth_bps) * (1.0 - loss)
        if self._router.link_up(src, dst):
            self._transport.set_capacity(key, nominal)

    def path(self, src: str, dst: str) -> list[str]:
        """The route a payload from ``src`` to ``dst`` would take now, both included.

        The lowest total latency over live links and nodes; ties go to the fewest hops,
        then to the lexicographically smallest node sequence. Without outages this is
        the topology's best path.
        """
        self._require_node(src)
        self._require_node(dst)
        return self._router.path(src, dst) or self._router.static_path(src, dst)

    # ----------------------------------------------------------------- outages
    def set_link(self, u: str, v: str, up: bool) -> None:
        """Take the link u-v down or bring it back (both directions)."""
        self._require_link(u, v)
        self._router.set_link(u, v, up)
        self._apply(u, v, f"link {min(u, v)}-{max(u, v)}")

    def set_node(self, node: str, up: bool) -> None:
        """Take ``node`` down or bring it back: its links, relaying and compute."""
        self._require_node(node)
        self._router.set_node(node, up)
        for nbr in self._graph.adj[node]:
            self._apply(node, nbr, f"node {node}")
        if not up:
            self._processors.interrupt(node)

    def node_up(self, node: str) -> bool:
        """Whether ``node`` is up."""
        return self._router.node_up(node)

    def _apply(self, u: str, v: str, element: str) -> None:
        live = self._router.link_up(u, v)
        transport = self._transport
        for key in ((u, v), (v, u)):
            if live:
                transport.set_capacity(key, self._nominal[key])
                if key in self._traces:
                    self._traces.sync(key)
                continue
            flows = transport.count(key)
            transport.set_capacity(key, 0.0)
            if flows and self._retry:
                transport.fail(key)
            if flows:
                effect = "failed" if self._retry else "paused"
                self._effect(element, effect, -1, key[0], flows)

    def _effect(self, element: str, effect: str, transfer_id: int, node: str,
                count: int = 1) -> None:
        self._world.ledger.effect(EffectRecord(self.now, element, effect, transfer_id, node,
                                               count))

    # --------------------------------------------------------------- transfers
    def send(self, src: str, dst: str, nbytes: int, *, kind: str, round: int,
             payload: object = None) -> simpy.Event:
        """Send ``nbytes`` from ``src`` to ``dst`` over live links, by the network model
        (per hop, store-and-forward; or one flow along the route, TCP or fluid).

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
        self._require_node(src)
        self._require_node(dst)
        if src == dst:
            return self._env.event().succeed(payload)
        transfer_id = self._next_transfer
        self._next_transfer += 1
        transfer = Transfer(self._env, self, transfer_id, src, dst, int(nbytes), kind, round,
                            payload)
        self._in_flight[transfer_id] = transfer
        self._transport.send(transfer)
        return transfer.done

    # ----------------------------------------------------------------- compute
    def compute(self, node: str, job: ComputeJob, *, kind: str, round: int) -> simpy.Event:
        """Run ``job`` on ``node`` after the jobs queued before it (one at a time, FIFO).

        Once the node is free (and up) the job holds it for
        ``job.flops / compute_flops_per_s`` seconds; then a `ComputeRecord` is written.
        If the node goes down meanwhile the job is lost and re-run from the start when
        the node returns, or resumed, by the jobs policy.

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
            Succeeds with ``job`` when the node has finished it; fails with
            `OutOfMemory` at once (recording an ``oom`` effect) if the job's peak memory
            exceeds the node's budget.
        """
        attrs = self.node(node)
        flops = float(job.flops)
        if not flops >= 0.0:
            raise ValueError(f"job.flops must be >= 0 (got {job.flops})")
        if job.peak_memory_bytes > attrs.memory_bytes:
            # A budget that binds: the job does not run at all.
            self._effect(f"node {node}", "oom", -1, node)
            return self._env.event().fail(OutOfMemory(node, job.peak_memory_bytes,
                                                      attrs.memory_bytes, kind))
        event = self._processors.submit(attrs, job, flops, kind, round)
        job.accepted()
        return event

    def unfinished(self) -> list[str]:
        """What is still under way, in words: transfers not delivered, jobs not done.

        Asked when the simulation has run out of events before the strategy finished,
        so each entry says why it cannot move on (e.g. a link whose rate is 0).
        """
        lines = [*(describe_transfer(self, t) for t in self._in_flight.values()),
                 *self._processors.unfinished()]
        # What cannot move first; a transfer still moving only waits on the others.
        return sorted(lines, key=lambda line: " bit/s" in line and " 0 bit/s" not in line)

    def link_rate(self, src: str, dst: str) -> float:
        """The rate direction ``src -> dst`` carries now (0 while it is down)."""
        return self._transport.capacity(self._require_link(src, dst))

    def delivered(self, t: Transfer) -> None:
        """A transfer reached its destination (it leaves the stall report)."""
        del self._in_flight[t.id]

    def _stuck(self, key: tuple[str, str]) -> None:
        # Paused flows on a direction whose trace stays at 0: nothing can free them (an
        # outage elsewhere may still keep the event queue going, so say it now).
        raise SimulationStalled(self.now, self.unfinished())

    def _sync_trace(self, key: tuple[str, str]) -> None:
        if key in self._traces:
            self._traces.sync(key)

    def link_up(self, src: str, dst: str) -> bool:
        """Whether the link ``src - dst`` and both its nodes are up."""
        return self._router.link_up(src, dst)

    def exclude(self, node: str, reason: str) -> None:
        """Record a strategy's decision to leave ``node`` out (an ``excluded`` effect).

        ``reason`` names the budget or rule; it goes to the effects table's element.
        """
        self._require_node(node)
        self._effect(reason, "excluded", -1, node)

    def fits(self, node: str, job: ComputeJob) -> bool:
        """Whether ``job``'s peak memory fits ``node``'s memory budget."""
        return job.peak_memory_bytes <= self.node(node).memory_bytes

    def store(self, node: str, nbytes: int) -> bool:
        """Keep ``nbytes`` at rest on ``node``, if its storage budget allows.

        Returns False, and records an ``out_of_storage`` effect instead of storing, when
        ``nbytes`` exceeds the node's storage budget (the ledger keeps the maximum kept).
        """
        attrs = self.node(node)
        if nbytes > attrs.storage_bytes:
            self._effect(f"node {node}", "out_of_storage", -1, node)
            return False
        self._world.ledger.store(node, nbytes)
        return True

    def _require_node(self, name: str) -> None:
        if name not in self._nodes:
            raise ConfigurationError(f"fabric: unknown node (got {name!r})")


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
    graph = build_graph(scenario.topology, scenario.links, world.rng("topology"))
    nodes = draw_nodes(scenario.nodes, scenario.topology, world.rng("nodes"))
    policy = scenario.outages.policy
    return Fabric(world, graph, nodes, transfers=policy.transfers,
                  retry_backoff=policy.retry_backoff, jobs=policy.jobs,
                  network=scenario.network)

