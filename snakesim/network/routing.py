"""Routing over the live network: which links and nodes are up, and the best next hops.

This module owns the live state of the topology (links and nodes taken down by outages)
and lowest-latency routing over what is up. Routes are cached and the cache is dropped
whenever the state changes, so a transfer that starts, or moves on to its next hop,
after a link went down takes the best live alternative. Waiters for a change (a payload
with no live path) get a SimPy event that fires on the next change.
"""

from __future__ import annotations

from heapq import heappop, heappush

import networkx as nx
import simpy

from snakesim.errors import ConfigurationError

_PathKey = tuple[float, int, tuple[str, ...]]
"""Dijkstra order: total latency, then hop count, then the node sequence itself."""


class Router:
    """Lowest-latency paths over the links and nodes that are currently up.

    Ties go to the fewest hops, then to the lexicographically smallest node sequence
    read from the endpoint whose name sorts first: the path between two nodes is the
    same in both directions, and one search from a hub (a server) serves every path to
    and from it.

    Parameters
    ----------
    env
        The simulation environment (for change notifications).
    graph
        The full topology; edges carry ``latency`` in seconds.
    """

    def __init__(self, env: simpy.Environment, graph: nx.Graph) -> None:
        self._env = env
        self._nodes = set(graph.nodes)
        # Plain adjacency lists: the searches are the hot path of large networks.
        self._adj: dict[str, list[tuple[str, float]]] = {
            node: [(nbr, float(data["latency"])) for nbr, data in graph.adj[node].items()]
            for node in graph.nodes}
        self._down_links: set[frozenset[str]] = set()
        self._down_nodes: set[str] = set()
        self._searches: dict[str, _Search] = {}
        self._static: dict[str, _Search] = {}
        self._changed: simpy.Event | None = None
        self.version = 0
        """Increases at every change of the live state (0: nothing ever went down)."""

    # ------------------------------------------------------------------ state
    def link_up(self, u: str, v: str) -> bool:
        """Whether the link u-v and both its ends are up."""
        return (u not in self._down_nodes and v not in self._down_nodes
                and frozenset((u, v)) not in self._down_links)

    def node_up(self, node: str) -> bool:
        """Whether ``node`` is up."""
        return node not in self._down_nodes

    def set_link(self, u: str, v: str, up: bool) -> None:
        """Mark link u-v up or down."""
        key = frozenset((u, v))
        if up == (key not in self._down_links):
            return
        (self._down_links.discard if up else self._down_links.add)(key)
        self._changed_now()

    def set_node(self, node: str, up: bool) -> None:
        """Mark ``node`` up or down (a down node neither sends, receives nor relays)."""
        if up == (node not in self._down_nodes):
            return
        (self._down_nodes.discard if up else self._down_nodes.add)(node)
        self._changed_now()

    def change(self) -> simpy.Event:
        """An event that fires at the next change of the live state."""
        if self._changed is None:
            self._changed = self._env.event()
        return self._changed

    def _changed_now(self) -> None:
        self.version += 1
        self._searches.clear()
        if self._changed is not None:
            event, self._changed = self._changed, None
            event.succeed()

    # ---------------------------------------------------------------- routing
    def path(self, src: str, dst: str) -> list[str] | None:
        """The best live path from ``src`` to ``dst`` (both included), or None."""
        for name in (src, dst):
            if name not in self._nodes:
                raise ConfigurationError(f"fabric: unknown node (got {name!r})")
        if src == dst:
            return [src]
        if not (self.node_up(src) and self.node_up(dst)):
            return None
        return _between(self._searches, src, dst, self)

    def route(self, src: str, dst: str) -> tuple[str, ...] | None:
        """Like `path` for two known nodes, as a tuple (the fabric's hot path)."""
        if src == dst:
            return (src,)
        if src in self._down_nodes or dst in self._down_nodes:
            return None
        root, other = (src, dst) if src <= dst else (dst, src)
        search = self._searches.get(root)
        if search is None:
            search = self._searches[root] = _Search(root)
        nodes = search.path_to(other, self)
        if nodes is None or root == src:
            return nodes
        return nodes[::-1]

    def static_path(self, src: str, dst: str) -> list[str]:
        """The best path ignoring outages (raises if the topology has none)."""
        if self.version == 0:  # nothing ever went down: the live search is the static one
            nodes = self.path(src, dst)
        else:
            nodes = _between(self._static, src, dst, _AllUp(self._adj))
        if nodes is None:
            raise ConfigurationError(f"fabric: no path from {src} to {dst}")
        return nodes

    def neighbours(self, node: str) -> list[tuple[str, float]]:
        """Live neighbours of ``node`` with the latency of the link to each."""
        if not self._down_links and not self._down_nodes:
            return self._adj[node]
        if node in self._down_nodes:
            return []
        return [(nbr, lat) for nbr, lat in self._adj[node] if self.link_up(node, nbr)]


def _between(searches: dict[str, _Search], src: str, dst: str,
             view: Router | _AllUp) -> list[str] | None:
    """The path src -> dst from the search rooted at the endpoint that sorts first."""
    root, other = (src, dst) if src <= dst else (dst, src)
    search = searches.get(root)
    if search is None:
        search = searches[root] = _Search(root)
    nodes = search.path_to(other, view)
    if nodes is None:
        return None
    return list(nodes) if root == src else list(reversed(nodes))


class _AllUp:
    """Adjacency with every link up (for `Router.static_path`)."""

    def __init__(self, adj: dict[str, list[tuple[str, float]]]) -> None:
        self._adj = adj

    def neighbours(self, node: str) -> list[tuple[str, float]]:
        return self._adj[node]


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

    def path_to(self, dst: str, view: Router | _AllUp) -> tuple[str, ...] | None:
        """The best path to ``dst`` over ``view``'s live links, or None."""
        while dst not in self._settled:
            # Expand lazily: settling dst must not push the whole neighbourhood of dst.
            for key in self._unexpanded:
                self._expand(key, view)
            self._unexpanded.clear()
            if not self._heap:
                return None
            key = heappop(self._heap)
            node = key[2][-1]
            if node not in self._settled:
                self._settled[node] = key[2]
                self._unexpanded.append(key)
        return self._settled[dst]

    def _expand(self, key: _PathKey, view: Router | _AllUp) -> None:
        latency, hops, nodes = key
        for nbr, link_latency in view.neighbours(nodes[-1]):
            if nbr in self._settled:
                continue
            candidate = (latency + link_latency, hops + 1, (*nodes, nbr))
            best = self._best.get(nbr)
            if best is None or candidate < best:
                self._best[nbr] = candidate
                heappush(self._heap, candidate)
