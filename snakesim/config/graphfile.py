"""Topology files: GraphML or node-link JSON, read once per file and cached.

The config layer needs a file's node names to check a scenario's references (servers,
overrides, routes); the network layer builds its links from the same parsed graph.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path

import networkx as nx

from snakesim.errors import ConfigurationError


def read_graph(path: str, fmt: str = "auto") -> nx.Graph:
    """The undirected graph in ``path`` (``graphml`` or ``node_link`` JSON).

    Raises
    ------
    ConfigurationError
        If the file is missing, unreadable, of another format, or a multigraph.
    """
    file = Path(path).expanduser()
    stamp = file.stat().st_mtime_ns if file.is_file() else -1
    return _read(str(file), fmt, stamp).copy()


@functools.lru_cache(maxsize=16)
def _read(path: str, fmt: str, stamp: int) -> nx.Graph:
    where = "topology.path"
    if stamp < 0:
        raise ConfigurationError(f"{where}: no such file (got {path})")
    kind = fmt if fmt != "auto" else ("graphml" if path.endswith((".graphml", ".xml"))
                                      else "node_link")
    try:
        if kind == "graphml":
            graph = nx.read_graphml(path)
        else:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            edges = "links" if "links" in data else "edges"
            graph = nx.node_link_graph(data, edges=edges)
    except (OSError, ValueError, KeyError, TypeError, nx.NetworkXError) as err:
        raise ConfigurationError(f"{where}: cannot read {kind} file {path}: {err}") from None
    if graph.is_multigraph():
        raise ConfigurationError(f"{where}: {path} has parallel links; snakesim needs at "
                                 "most one link per pair of nodes")
    undirected = nx.Graph()
    undirected.add_nodes_from((str(n), d) for n, d in graph.nodes(data=True))
    undirected.add_edges_from((str(u), str(v), d) for u, v, d in graph.edges(data=True))
    return undirected


def file_nodes(path: str, fmt: str = "auto") -> list[str]:
    """Node names of a topology file, in file order."""
    return list(read_graph(path, fmt).nodes)
