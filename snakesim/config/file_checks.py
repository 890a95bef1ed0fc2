"""Checks of a topology file against the scenario that names it, before any run.

`file_problems` maps every link of the file once (a missing attribute, a bad unit or
coordinate is one located problem per quantity) and checks the relay-only nodes;
`file_warnings` says when a quantity is not mapped and every link silently gets the
``links`` default, the usual case for backbone maps that carry only distances.
"""

from __future__ import annotations

from snakesim.config.file_links import (
    file_graph_of,
    link_bandwidth,
    link_latency,
    unit_problems,
)
from snakesim.config.file_topology import FileTopology, NodeMatch, relay_names
from snakesim.config.network import LinksSpec
from snakesim.errors import ConfigurationError, Problem
from snakesim.units import Dimension, format_quantity


def file_problems(topology: FileTopology, links: LinksSpec) -> list[Problem]:
    """Every problem of a file topology's mappings and relays (empty when sound)."""
    return [*_relay_problems(topology), *mapping_problems(topology, links)]


def mapping_problems(topology: FileTopology, links: LinksSpec) -> list[Problem]:
    """Check every link of the file against the mappings; the first bad link per key."""
    problems = unit_problems(topology)
    if problems or (topology.latency is None and topology.bandwidth is None):
        return problems
    graph = file_graph_of(topology)
    for key in ("latency", "bandwidth"):
        for u, v, data in graph.edges(data=True):
            try:
                if key == "latency":
                    link_latency(topology.latency, graph, u, v, float(links.latency))
                else:
                    link_bandwidth(topology.bandwidth, data, u, v, float(links.bandwidth))
            except ConfigurationError as err:
                where, _, rule = str(err).partition(": ")
                problems.append(Problem(where, rule, None, False))
                break
    return problems


def _relay_problems(topology: FileTopology) -> list[Problem]:
    relays = topology.relays
    if isinstance(relays, NodeMatch):
        if not relay_names(topology):
            return [Problem("topology.relays", f"no node of {topology.path} has "
                            f"'{relays.attribute}' equal to {relays.equals!r}", None, False)]
    else:
        names = set(file_graph_of(topology).nodes)
        unknown = [Problem(f"topology.relays.{i}", "unknown node", name)
                   for i, name in enumerate(relays) if name not in names]
        if unknown:
            return unknown
    if topology.server is not None and topology.server in relay_names(topology):
        return [Problem("topology.relays", "must not hold the server (a relay trains "
                        "nothing and holds no data)", topology.server)]
    return []


def file_warnings(topology: FileTopology, links: LinksSpec) -> list[str]:
    """One line per link quantity the file does not give and ``links`` does not set.

    A quantity whose default is written in ``links`` (``links: {bandwidth: 10 Gbps}``)
    was chosen on purpose and is not warned about.
    """
    lines = []
    graph = file_graph_of(topology)
    carried = sorted({str(k) for _, _, data in graph.edges(data=True) for k in data})
    has = f"its links carry {', '.join(carried[:8])}" if carried else "its links carry " \
          "no attributes"
    for key, dimension, hint in [
            ("latency", Dimension.TIME, "{attribute: dist, unit: km}, {coordinates: {}} "
             "or {attribute: delay, unit: ms}"),
            ("bandwidth", Dimension.BANDWIDTH, "{attribute: capacity, unit: Mbps}")]:
        if getattr(topology, key) is not None or key in links.model_fields_set:
            continue
        default = format_quantity(float(getattr(links, key)), dimension)
        lines.append(f"topology.{key}: {topology.path} gives no {key}, so every link gets "
                     f"links.{key} ({default}); {has}: map one with topology.{key}: {hint}, "
                     f"or write links.{key} to use the default on purpose")
    return lines
