"""Write ``topozoo/Abilene.graphml`` from topohub's ``topozoo/Abilene.json``.

The GraphML file is generated, not shipped by anyone: it holds the same nodes and links
with the attribute names the Internet Topology Zoo's own GraphML files use (``label``,
``Latitude``, ``Longitude``), so that the file builder and the coordinates' default
attribute names are tested on GraphML too. Link ``dist`` (km) is kept as topohub gives
it. Deterministic; regenerate with::

    .venv/bin/python tests/data/topologies/make_graphml.py
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx

HERE = Path(__file__).resolve().parent


def main() -> None:
    document = json.loads((HERE / "topozoo" / "Abilene.json").read_text(encoding="utf-8"))
    graph = nx.Graph()
    for node in document["nodes"]:
        longitude, latitude = node["pos"]
        graph.add_node(node["id"], label=node["name"], Latitude=float(latitude),
                       Longitude=float(longitude))
    for edge in document["edges"]:
        graph.add_edge(edge["source"], edge["target"], dist=float(edge["dist"]))
    nx.write_graphml(graph, HERE / "topozoo" / "Abilene.graphml")


if __name__ == "__main__":
    main()
