"""Cross-section checks of a scenario that pydantic cannot express field by field.

Each check returns located `Problem`s (key path, value, rule) rather than raising, so a
file with several mistakes reports all of them at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import networkx as nx

from snakesim.config.file_checks import file_problems, file_warnings
from snakesim.config.model_checks import model_problems, partition_problems, scale_problems
from snakesim.config.schema import (
    ExplicitTopology,
    FileTopology,
    Listed,
    Scenario,
    StarTopology,
    client_names,
    node_names,
)
from snakesim.config.strategies import CentralStrategy, SnakeStrategy
from snakesim.errors import Problem


def check_scenario(scenario: Scenario) -> list[Problem]:
    """Return every cross-reference problem of ``scenario`` (empty when it is sound).

    The size of the network is checked first, alone: the other checks list node names,
    which for a topology over the limits would allocate before any rule is checked.
    """
    too_big = list(scale_problems(scenario))
    if too_big:
        return too_big
    return [*_topology(scenario), *_nodes(scenario), *_links(scenario), *_strategy(scenario),
            *_snake(scenario), *_outages(scenario), *model_problems(scenario),
            *partition_problems(scenario),
            *_file_links(scenario)]


def _file_links(s: Scenario) -> list[Problem]:
    if not isinstance(s.topology, FileTopology):
        return []
    return file_problems(s.topology, s.links)


def scenario_warnings(scenario: Scenario) -> list[str]:
    """Lines about a sound scenario that may not do what its author expects.

    Today: a topology file whose links give no latency or bandwidth, so that every link
    takes the ``links`` default. The CLI prints each as ``warning: <file>: <line>`` on
    ``validate`` and ``run``; nothing else changes.
    """
    if not isinstance(scenario.topology, FileTopology):
        return []
    return file_warnings(scenario.topology, scenario.links)


def _outages(s: Scenario) -> Iterator[Problem]:
    names = set(node_names(s.topology))
    for i, link in enumerate(s.outages.links):
        for end in link.between:
            if end not in names:
                yield Problem(f"outages.links.{i}.between", "unknown node", end)
        if not link.windows and link.stochastic is None:
            yield Problem(f"outages.links.{i}", "needs windows or stochastic", None, False)
    for i, node in enumerate(s.outages.nodes):
        if node.node not in names:
            yield Problem(f"outages.nodes.{i}.node", "unknown node", node.node)
        if not node.windows and node.stochastic is None:
            yield Problem(f"outages.nodes.{i}", "needs windows or stochastic", None, False)


def _topology(s: Scenario) -> Iterator[Problem]:
    names = node_names(s.topology)
    seen: set[str] = set()
    for i, name in enumerate(names):
        if name in seen:
            key = "topology.nodes" if not isinstance(s.topology, StarTopology) else (
                "topology.server" if i == len(names) - 1 else "topology.clients")
            yield Problem(key, "node names must be unique", name)
        seen.add(name)
    topo = s.topology
    if not isinstance(topo, StarTopology) and topo.server is not None and topo.server not in seen:
        yield Problem("topology.server", "must name one of topology.nodes", topo.server)
    if isinstance(topo, ExplicitTopology):
        for i, edge in enumerate(topo.edges):
            for end in edge.between:
                if end not in seen:
                    yield Problem(f"topology.edges.{i}.between", "unknown node", end)
            if edge.between[0] == edge.between[1]:
                yield Problem(f"topology.edges.{i}.between", "a link needs two different nodes",
                              list(edge.between))
    # Connectivity only once every edge is sound: a bad edge is the one problem to fix.
    if isinstance(topo, ExplicitTopology) and len(seen) > 1 and all(
            set(e.between) <= seen and e.between[0] != e.between[1] for e in topo.edges):
        yield from _explicit_connected(topo)
    if not client_names(topo):
        yield Problem("topology", "needs at least one node besides the server", None, False)


def _explicit_connected(topo: ExplicitTopology) -> Iterator[Problem]:
    graph = nx.Graph()
    graph.add_nodes_from(topo.nodes)
    graph.add_edges_from(edge.between for edge in topo.edges if set(edge.between) <= set(
        topo.nodes))
    first = topo.nodes[0]
    missing = [n for n in topo.nodes if n not in nx.node_connected_component(graph, first)]
    if missing:
        shown = ", ".join(missing[:10]) + (f" and {len(missing) - 10} more"
                                           if len(missing) > 10 else "")
        yield Problem("topology.edges", f"nodes {shown} are not reachable from {first}; "
                      "every node needs a path to every other", None, False)


def _nodes(s: Scenario) -> Iterator[Problem]:
    names = set(node_names(s.topology))
    clients = client_names(s.topology)
    for attr in ("compute", "memory", "storage"):
        spread = getattr(s.nodes, attr)
        if isinstance(spread, Listed) and len(spread.values) != len(clients):
            yield Problem(f"nodes.{attr}.values",
                          f"needs one value per client node ({len(clients)}: "
                          f"{', '.join(clients)})", len(spread.values))
    for name in s.nodes.overrides:
        if name not in names:
            yield Problem(f"nodes.overrides.{name}", "unknown node", name)


def _links(s: Scenario) -> Iterator[Problem]:
    names = set(node_names(s.topology))
    for i, link in enumerate(s.links.overrides):
        for end in link.between:
            if end not in names:
                yield Problem(f"links.overrides.{i}.between", "unknown node", end)


def _strategy(s: Scenario) -> Iterator[Problem]:
    strategy = s.strategy
    names = set(node_names(s.topology))
    clients = client_names(s.topology)
    for key, node in strategy.node_options().items():
        if node is not None and node not in names:
            yield Problem(f"strategy.{key}", "unknown node", node)
    if strategy.needs_server() and (strategy.named_server() or s.topology.server) is None:
        yield Problem("strategy.server", f"{strategy.title()} needs a server node: name one "
                      "here or in topology.server", None, False)
    if isinstance(strategy, CentralStrategy) and strategy.node is None \
            and s.topology.server is None:
        yield Problem("strategy.node", "centralised training needs a node to train on: "
                      "name one here or set topology.server", None, False)
    route = strategy.route_nodes()
    if route is not None:
        for i, name in enumerate(route):
            if name not in clients:
                yield Problem(f"strategy.route.{i}", "must name a client node "
                              f"({', '.join(clients)})", name)
        if len(set(route)) != len(route):
            yield Problem("strategy.route", "must not repeat a node", route)


def _snake(s: Scenario) -> Iterator[Problem]:
    strategy = s.strategy
    if not isinstance(strategy, SnakeStrategy):
        return
    names = set(node_names(s.topology))
    server = strategy.server or s.topology.server
    learners = strategy.route or [n for n in client_names(s.topology) if n != server]
    for name in (strategy.assignment.map or {}):
        if name not in names:
            yield Problem(f"strategy.assignment.map.{name}", "unknown node", name)
        elif name not in learners:
            yield Problem(f"strategy.assignment.map.{name}", "must name a node of the route "
                          f"({', '.join(learners)})", name)
    if strategy.window.kind == "sliding" and strategy.assignment.kind != "proportional":
        why = (f" (the window is preset {strategy.preset}'s: write window: fixed to keep "
               "this assignment)" if strategy.preset_window() else "")
        yield Problem("strategy.assignment", "applies to window kind fixed only (a sliding "
                      f"window has strategy.window.width groups){why}",
                      strategy.assignment.kind)
