"""Topology generators: graphs built from a few parameters instead of listed edges.

`tiered_edges` builds a tree of tiers (cloud - edge servers - base stations -
devices), each tier linked to its parent by a named link technology
(`snakesim.config.presets`); `geometric_graph` places nodes at random in an area and
links those within a radius.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import networkx as nx
import numpy as np

from snakesim.config.file_links import file_graph_of, link_bandwidth, link_latency
from snakesim.config.presets import LINKS
from snakesim.config.schema import (
    FileTopology,
    GeometricTopology,
    LinksSpec,
    TieredTopology,
    tier_names,
)
from snakesim.errors import ConfigurationError


def tiered_edges(topology: TieredTopology,
                 links: LinksSpec) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Parent-child links of a tiered topology with their attributes.

    Each child links to the ``i // count``-th node of the tier above. A tier's ``link``
    preset sets latency, bandwidth and the technology's outage process; the tier's own
    ``latency``/``bandwidth`` win over it; without either the ``links`` defaults apply.
    ``links`` of a tier name exceptions per child node.
    """
    names = tier_names(topology)
    for level, tier in enumerate(topology.tiers[1:], start=1):
        unknown = sorted(set(tier.links) - set(names[level]))
        if unknown:
            raise ConfigurationError(
                f"topology.tiers.{level}.links: unknown node of tier {tier.name} "
                f"(got {', '.join(unknown)})")
        for i, child in enumerate(names[level]):
            parent = names[level - 1][i // tier.count]
            preset = tier.links.get(child, tier.link)
            tech = LINKS[preset] if preset is not None else None
            latency = (tier.latency if tier.latency is not None
                       else tech.latency_s if tech else links.latency)
            bandwidth = (tier.bandwidth if tier.bandwidth is not None
                         else tech.bandwidth_bps if tech else links.bandwidth)
            yield parent, child, {"latency": float(latency), "bandwidth": float(bandwidth),
                                  "technology": preset or "",
                                  "outage": tech.outage if tech else None}


def geometric_graph(topology: GeometricTopology, names: list[str], links: LinksSpec,
                    rng: np.random.Generator, max_draws: int = 100) -> nx.Graph:
    """A connected random geometric graph; nodes carry ``pos`` (metres).

    Raises
    ------
    ConfigurationError
        If no draw in ``max_draws`` is connected (the radius is too small for the area).
    """
    width, height = topology.area
    for _ in range(max_draws):
        pos = rng.uniform((0.0, 0.0), (width, height), size=(len(names), 2))
        graph = nx.Graph()
        for name, (x, y) in zip(names, pos, strict=True):
            graph.add_node(name, pos=(float(x), float(y)))
        for i in range(len(names)):
            for j in range(i + 1, len(names)):
                distance = math.dist(pos[i], pos[j])
                if distance <= topology.radius:
                    graph.add_edge(names[i], names[j],
                                   latency=float(links.latency)
                                   + distance / topology.propagation_speed,
                                   bandwidth=float(links.bandwidth), distance_m=distance)
        if nx.is_connected(graph):
            return graph
    raise ConfigurationError(
        f"topology.radius: no connected graph in {max_draws} draws of {len(names)} nodes "
        f"in {width:g} x {height:g} m (got {topology.radius:g} m); raise the radius")


def file_graph(topology: FileTopology, links: LinksSpec) -> nx.Graph:
    """The graph of a topology file with ``latency``/``bandwidth`` mapped from attributes.

    Nodes are named as the scenario names them (ids, or ``topology.names``); the file's
    other node attributes are not carried over.

    Raises
    ------
    ConfigurationError
        If a mapped attribute or coordinate is missing or is not a valid quantity.
    """
    source = file_graph_of(topology)
    graph = nx.Graph()
    graph.add_nodes_from(source.nodes)
    for u, v, data in source.edges(data=True):
        graph.add_edge(u, v, latency=link_latency(topology.latency, source, u, v,
                                                  float(links.latency)),
                       bandwidth=link_bandwidth(topology.bandwidth, data, u, v,
                                                float(links.bandwidth)))
    if not nx.is_connected(graph):
        parts = sorted(sorted(c)[0] for c in nx.connected_components(graph))
        raise ConfigurationError(f"topology.path: {topology.path} is not connected "
                                 f"(components start at {', '.join(parts[:5])})")
    return graph
