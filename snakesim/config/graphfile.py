"""Topology files: GraphML or node-link JSON, read once per file and cached.

The config layer needs a file's node names to check a scenario's references (servers,
overrides, routes); the network layer builds its links from the same parsed graph.

Files are read within the limits of `snakesim.config.limits` (file size, nodes, links).
GraphML with a document type declaration is refused before it is parsed: GraphML never
needs a DTD, and refusing it rules out entity expansion ("billion laughs") and external
entities whatever the XML parser does with them.
"""

from __future__ import annotations

import functools
import io
import json
from pathlib import Path
from typing import Any
from xml.etree import ElementTree

import networkx as nx

from snakesim.config.limits import Limits, current_limits, variable_of
from snakesim.config.textfile import FileTooLarge, read_bounded
from snakesim.errors import ConfigurationError

WHERE = "topology.path"


def read_graph(path: str, fmt: str = "auto", names: str | None = None) -> nx.Graph:
    """The undirected graph in ``path`` (``graphml`` or ``node_link`` JSON).

    Node names are the file's ids converted with ``str()``, or with ``names`` the text
    of that node attribute (topohub's ``name``, the Topology Zoo's ``label``); a node's
    id is then kept as its ``id`` attribute.

    Raises
    ------
    ConfigurationError
        ``topology.path: <file>: ...`` if the file is missing, unreadable, too large,
        malformed, of another format, a multigraph, or has more nodes or links than the
        limits allow; ``topology.names.attribute: ...`` if a node lacks the ``names``
        attribute or two nodes share a name.
    """
    file = Path(path).expanduser()
    stamp = file.stat().st_mtime_ns if file.is_file() else -1
    if names is None:
        return _read(str(file), fmt, stamp, current_limits()).copy()
    return _named(str(file), fmt, stamp, current_limits(), names).copy()


@functools.lru_cache(maxsize=16)
def _named(path: str, fmt: str, stamp: int, limits: Limits, attribute: str) -> nx.Graph:
    graph = _read(path, fmt, stamp, limits)
    where = "topology.names.attribute"
    labels: dict[str, str] = {}
    owner: dict[str, str] = {}
    for node, data in graph.nodes(data=True):
        label = data.get(attribute)
        if label is None or isinstance(label, (dict, list)) or not str(label).strip():
            raise ConfigurationError(f"{where}: {path}: node {node} has no usable "
                                     f"'{attribute}' (got {_short(label)})")
        text = str(label).strip()
        if text in owner:
            # Falling back to ids would make server: and overrides name other nodes
            # than the user meant; a duplicate is the user's to resolve.
            raise ConfigurationError(f"{where}: {path}: nodes {owner[text]} and {node} are "
                                     f"both named '{text}'; names must be unique (got "
                                     f"{text})")
        owner[text] = node
        labels[node] = text
    renamed = nx.relabel_nodes(graph, labels, copy=True)
    for node, text in labels.items():
        renamed.nodes[text]["id"] = node
    return renamed


@functools.lru_cache(maxsize=16)
def _read(path: str, fmt: str, stamp: int, limits: Limits) -> nx.Graph:
    if stamp < 0:
        raise ConfigurationError(f"{WHERE}: no such file (got {path})")
    kind = fmt if fmt != "auto" else ("graphml" if path.endswith((".graphml", ".xml"))
                                      else "node_link")
    try:
        data = read_bounded(Path(path), limits)
    except (FileTooLarge, OSError) as err:
        reason = err.strerror if isinstance(err, OSError) and err.strerror else str(err)
        raise ConfigurationError(f"{WHERE}: {path}: cannot read the {kind} file: "
                                 f"{reason}") from None
    graph = _graphml(path, data, limits) if kind == "graphml" else _node_link(path, data,
                                                                                limits)
    if graph.is_multigraph():
        raise ConfigurationError(f"{WHERE}: {path} has parallel links; snakesim needs at "
                                 "most one link per pair of nodes")
    undirected = nx.Graph()
    undirected.add_nodes_from((str(n), d) for n, d in graph.nodes(data=True))
    if undirected.number_of_nodes() != graph.number_of_nodes():
        raise ConfigurationError(f"{WHERE}: {path}: two node ids have the same text (such "
                                 "as 1 and \"1\"); node names must differ")
    undirected.add_edges_from((str(u), str(v), d) for u, v, d in graph.edges(data=True))
    return undirected


def _bad(path: str, kind: str, reason: object) -> ConfigurationError:
    text = " ".join(str(reason).split())[:300]
    return ConfigurationError(f"{WHERE}: {path}: cannot read the {kind} file: {text}")


def _check_counts(path: str, nodes: int, links: int, limits: Limits) -> None:
    for count, limit, field, what in [(nodes, limits.max_nodes, "max_nodes", "nodes"),
                                      (links, limits.max_links, "max_links", "links")]:
        if count > limit:
            raise ConfigurationError(
                f"{WHERE}: {path}: {count} {what}, over the limit of {limit} (set "
                f"{variable_of(field)} to raise it)")


# A DTD written in any encoding XML allows (GraphML files are UTF-8 or UTF-16 in practice).
_DECLARATIONS = tuple(word.encode(encoding)
                      for word in ("<!DOCTYPE", "<!ENTITY")
                      for encoding in ("utf-8", "utf-16-le", "utf-16-be", "utf-32-le",
                                       "utf-32-be"))


def _graphml(path: str, data: bytes, limits: Limits) -> nx.Graph:
    if any(word in data for word in _DECLARATIONS):
        raise ConfigurationError(
            f"{WHERE}: {path}: refusing a GraphML file with a <!DOCTYPE> or <!ENTITY> "
            "declaration (GraphML needs none; they can expand or fetch entities)")
    try:
        # Count with the C parser first: networkx builds nodes one by one in Python.
        root = ElementTree.fromstring(data)
        counts = {"node": 0, "edge": 0}
        for element in root.iter():
            local = str(element.tag).rpartition("}")[2]
            if local in counts:
                counts[local] += 1
        _check_counts(path, counts["node"], counts["edge"], limits)
        return nx.read_graphml(io.BytesIO(data))
    except ConfigurationError:
        raise
    except RecursionError:
        raise _bad(path, "graphml", "nested too deeply") from None
    except Exception as err:  # ParseError, NetworkXError, bad attribute values, ...
        raise _bad(path, "graphml", f"{type(err).__name__}: {err}") from None


def _node_link(path: str, data: bytes, limits: Limits) -> nx.Graph:
    try:
        document = json.loads(data)
    except RecursionError:
        raise _bad(path, "node_link", "nested too deeply") from None
    except ValueError as err:  # JSONDecodeError, UnicodeDecodeError, a too-long integer
        raise _bad(path, "node_link", f"not JSON: {err}") from None
    nodes, links = _node_link_lists(path, document)
    _check_counts(path, len(nodes), len(links), limits)
    for i, node in enumerate(nodes):
        if not isinstance(node, dict):
            raise _bad(path, "node_link", f"nodes[{i}] must be an object such as "
                                          f"{{\"id\": \"n1\"}} (got {_short(node)})")
    for i, link in enumerate(links):
        if not (isinstance(link, dict) and "source" in link and "target" in link):
            raise _bad(path, "node_link", f"links[{i}] must be an object with 'source' and "
                                          f"'target' (got {_short(link)})")
    try:
        edges = "links" if "links" in document else "edges"
        # networkx assumes a multigraph when the file does not say; snakesim needs a
        # simple graph, and a file that declares "multigraph": true is refused later.
        return nx.node_link_graph(document, directed=False, multigraph=False, edges=edges)
    except (ValueError, KeyError, TypeError, nx.NetworkXError) as err:  # unhashable ids
        raise _bad(path, "node_link", f"{type(err).__name__}: {err}") from None


def _node_link_lists(path: str, document: object) -> tuple[list[Any], list[Any]]:
    """The ``nodes`` and ``links`` (or ``edges``) lists of a node-link document."""
    if not isinstance(document, dict):
        raise _bad(path, "node_link", "expected an object with 'nodes' and 'links' "
                                      f"(got {_short(document)})")
    nodes = document.get("nodes")
    links = document.get("links", document.get("edges"))
    if not isinstance(nodes, list):
        raise _bad(path, "node_link", f"'nodes' must be a list (got {_short(nodes)})")
    if not isinstance(links, list):
        raise _bad(path, "node_link", f"'links' (or 'edges') must be a list (got "
                                      f"{_short(links)})")
    return nodes, links


def _short(value: object) -> str:
    """A value for a one-line message: containers by size, others as JSON, cut short."""
    if value is None:
        return "nothing"
    if isinstance(value, dict):
        return f"an object with keys {', '.join(sorted(map(str, value))[:5]) or 'none'}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    return json.dumps(value)[:60]


def file_nodes(path: str, fmt: str = "auto", names: str | None = None) -> list[str]:
    """Node names of a topology file, in file order (see `read_graph` for ``names``)."""
    return list(read_graph(path, fmt, names).nodes)
