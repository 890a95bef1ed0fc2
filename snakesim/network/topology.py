"""Topology builders: a scenario's topology and link specs -> an undirected NetworkX graph.

This module owns which nodes are linked and each link's ``latency`` (seconds) and
``bandwidth`` (bit/s, per direction: links are full duplex). It knows nothing about
time or sharing; `snakesim.network.links` and `snakesim.network.fabric` turn the graph
into channels.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise

import networkx as nx
import numpy as np

from snakesim.config.schema import (
    ExplicitTopology,
    FileTopology,
    GeometricTopology,
    LineTopology,
    LinksSpec,
    LinkValues,
    MeshTopology,
    RingTopology,
    StarTopology,
    TieredTopology,
    Topology,
    node_names,
)
from snakesim.errors import ConfigurationError
from snakesim.network.generators import file_graph, geometric_graph, tiered_edges

Edge = tuple[str, str, float, float]
"""A link as ``(u, v, latency_s, bandwidth_bps)``."""


def build_graph(topology: Topology, links: LinksSpec,
                rng: np.random.Generator | None = None) -> nx.Graph:
    """Build the network graph of a scenario.

    Parameters
    ----------
    topology
        One of the schema's topology kinds (star, line, ring, mesh, explicit, tiered,
        geometric).
    rng
        The run's ``topology`` stream, for generators that draw (geometric).
    links
        Default latency and bandwidth of every link, and per-link overrides.

    Returns
    -------
    networkx.Graph
        Nodes in `snakesim.config.schema.node_names` order; every edge carries
        ``latency`` (s) and ``bandwidth`` (bit/s) as floats.

    Raises
    ------
    ConfigurationError
        If an explicit edge or a link override names an unknown node, an explicit edge
        repeats a link, an override names two nodes that are not linked, or an explicit
        topology leaves some nodes unreachable.
    """
    names = node_names(topology)
    if isinstance(topology, FileTopology):
        graph = file_graph(topology, links)
        nx.set_edge_attributes(graph, float(links.energy_per_bit), "energy_per_bit")
        _apply_links(graph, topology, links)
        return graph
    if isinstance(topology, GeometricTopology):
        graph = geometric_graph(topology, names, links,
                                rng if rng is not None else np.random.default_rng(0))
        nx.set_edge_attributes(graph, float(links.energy_per_bit), "energy_per_bit")
        _apply_links(graph, topology, links)
        return graph
    graph = nx.Graph()
    graph.add_nodes_from(names)
    if isinstance(topology, TieredTopology):
        for u, v, data in tiered_edges(topology, links):
            graph.add_edge(u, v, **data, energy_per_bit=float(links.energy_per_bit))
        _apply_links(graph, topology, links)
        return graph
    for u, v, latency, bandwidth in _edges(topology, names, links):
        graph.add_edge(u, v, latency=latency, bandwidth=bandwidth,
                       energy_per_bit=float(links.energy_per_bit))
    _apply_links(graph, topology, links)
    if isinstance(topology, ExplicitTopology):
        _require_connected(graph, names)
    return graph


def _edges(topology: Topology, names: list[str], links: LinksSpec) -> Iterator[Edge]:
    """The links a topology kind implies, with the default latency and bandwidth."""
    lat, bw = float(links.latency), float(links.bandwidth)
    if isinstance(topology, StarTopology):
        pairs: Iterable[tuple[str, str]] = ((topology.server, n) for n in names[:-1])
    elif isinstance(topology, LineTopology):
        pairs = pairwise(names)
    elif isinstance(topology, RingTopology):
        pairs = pairwise([*names, names[0]])
    elif isinstance(topology, MeshTopology):
        pairs = ((a, b) for i, a in enumerate(names) for b in names[i + 1:])
    else:
        if not isinstance(topology, ExplicitTopology):  # generated kinds build their own
            raise TypeError(f"_edges: no implied links for {type(topology).__name__}")
        yield from _explicit_edges(topology, set(names), lat, bw)
        return
    for u, v in pairs:
        yield u, v, lat, bw


def _explicit_edges(topology: ExplicitTopology, names: set[str], latency: float,
                    bandwidth: float) -> Iterator[Edge]:
    """Listed edges; an edge's own latency/bandwidth wins over the link defaults."""
    seen: dict[frozenset[str], int] = {}
    for i, edge in enumerate(topology.edges):
        where = f"topology.edges.{i}.between"
        a, b = edge.between
        _require_known(where, (a, b), names)
        if a == b:
            raise ConfigurationError(f"{where}: a link needs two different nodes (got {a})")
        key = frozenset((a, b))
        if key in seen:
            # A second entry would silently replace the first one's values; say so instead.
            raise ConfigurationError(
                f"{where}: nodes {a} and {b} are already linked by topology.edges.{seen[key]}")
        seen[key] = i
        yield (a, b,
               latency if edge.latency is None else float(edge.latency),
               bandwidth if edge.bandwidth is None else float(edge.bandwidth))


def _apply_links(graph: nx.Graph, topology: Topology, links: LinksSpec) -> None:
    """The link model's values beyond latency/bandwidth: the default loss, then an
    explicit topology's per-edge values, then the overrides (each wins over the last)."""
    if links.loss > 0.0:
        for _, _, data in graph.edges(data=True):
            data["loss"] = float(links.loss)
    if isinstance(topology, ExplicitTopology):
        _apply_overrides(graph, topology.edges, "topology.edges")
    _apply_overrides(graph, links.overrides)


def _apply_overrides(graph: nx.Graph, overrides: Iterable[LinkValues],
                     key: str = "links.overrides") -> None:
    """Set the values of existing links; an override never creates a link.

    Besides ``latency``, ``bandwidth`` and ``energy_per_bit`` an edge may get
    ``bandwidth_by_direction`` (``{(a, b): bit/s, (b, a): bit/s}``, only while its two
    directions differ), ``loss`` (only when > 0) and ``trace`` (a `LinkTrace`).
    """
    for i, link in enumerate(overrides):
        where = f"{key}.{i}.between"
        a, b = link.between
        _require_known(where, (a, b), graph)
        if not graph.has_edge(a, b):
            raise ConfigurationError(f"{where}: nodes {a} and {b} are not linked")
        data = graph.edges[a, b]
        if link.latency is not None:
            data["latency"] = float(link.latency)
        if link.bandwidth is not None or link.reverse_bandwidth is not None:
            ways = data.pop("bandwidth_by_direction", None) or {}
            forward = (float(link.bandwidth) if link.bandwidth is not None
                       else ways.get((a, b), float(data["bandwidth"])))
            reverse = (float(link.reverse_bandwidth) if link.reverse_bandwidth is not None
                       else forward)
            data["bandwidth"] = forward
            if reverse != forward:
                data["bandwidth_by_direction"] = {(a, b): forward, (b, a): reverse}
        if link.energy_per_bit is not None:
            data["energy_per_bit"] = float(link.energy_per_bit)
        if link.loss is not None:
            if link.loss > 0.0:
                data["loss"] = float(link.loss)
            else:
                data.pop("loss", None)
        if link.trace is not None:
            data["trace"] = LinkTrace(link.trace, (a, b), link.trace_direction,
                                      link.trace_repeat, f"{key}.{i}.trace")


@dataclass(frozen=True)
class LinkTrace:
    """A link's bandwidth trace as configured; the fabric reads the file at its start.

    ``forward`` is the ``between`` pair (a, b); ``direction`` says which way the trace
    drives: ``both``, ``forward`` (a -> b) or ``reverse`` (b -> a). ``where`` is the key
    path errors name.
    """

    path: str
    forward: tuple[str, str]
    direction: str
    repeat: bool
    where: str

    def directions(self) -> list[tuple[str, str]]:
        """The link directions the trace drives."""
        a, b = self.forward
        return {"both": [(a, b), (b, a)], "forward": [(a, b)], "reverse": [(b, a)]}[
            self.direction]


def _require_known(where: str, ends: Iterable[str], known: Iterable[str] | nx.Graph) -> None:
    for end in ends:
        if end not in known:
            raise ConfigurationError(f"{where}: unknown node (got {end})")


def _require_connected(graph: nx.Graph, names: list[str]) -> None:
    """Every node must reach every other, or transfers to it could never be delivered."""
    reached = nx.node_connected_component(graph, names[0])
    if len(reached) == len(names):
        return
    missing = [n for n in names if n not in reached]
    shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more" if len(missing) > 10
                                       else "")
    raise ConfigurationError(
        f"topology.edges: nodes {shown} are not reachable from {names[0]}; "
        "every node needs a path to every other")
