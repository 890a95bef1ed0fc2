"""A run's network drawn with the bytes each link carried (reads ``nodes`` and ``links``)."""

from __future__ import annotations

from pathlib import Path

import matplotlib
import networkx as nx
import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import EngFormatter

from snakesim.analysis.axes import wrap
from snakesim.analysis.canvas import subplots
from snakesim.experiments.store import read_table


def topology_figure(run_dir: Path, title: str) -> Figure:
    """A run's network with each link's width and colour by the bytes it carried.

    Parameters
    ----------
    run_dir : Path
        A run folder.
    title : str
        The figure title (wrapped to fit).

    Returns
    -------
    matplotlib.figure.Figure
        Nodes (servers red) labelled beside their marker, links coloured by bytes.
    """
    nodes = read_table(run_dir, "nodes")
    links = read_table(run_dir, "links")
    graph = nx.Graph()
    graph.add_nodes_from(nodes["node"])
    for src, dst, nbytes in zip(links["src"], links["dst"], links["bytes"], strict=True):
        previous = graph.get_edge_data(src, dst, {"bytes": 0})["bytes"]
        graph.add_edge(src, dst, bytes=previous + int(nbytes))
    fig, ax = subplots(figsize=(6.5, 5.5))
    pos = nx.kamada_kawai_layout(graph) if len(graph) > 2 else nx.spring_layout(graph, seed=0)
    weights = np.array([d["bytes"] for _, _, d in graph.edges(data=True)], dtype=float)
    widths = 1 + 6 * weights / weights.max() if len(weights) and weights.max() > 0 else 1.0
    roles = dict(zip(nodes["node"], nodes["role"], strict=True))
    small = len(graph) <= 40
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=220 if small else 30,
                           node_color=["#d62728" if roles.get(n) == "server" else "#1f77b4"
                                       for n in graph])
    if small:
        # Beside the marker, on a white box: names longer than a marker stay readable.
        ax.margins(0.15)  # room for the labels of nodes on the border
        for node, (x, y) in pos.items():
            ax.annotate(str(node), (x, y), xytext=(0, 9), textcoords="offset points",
                        ha="center", va="bottom", fontsize=8, clip_on=False,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                              "alpha": 0.8})
    drawn = nx.draw_networkx_edges(graph, pos, ax=ax, width=widths, edge_color=weights,
                                   edge_cmap=matplotlib.colormaps["plasma"])
    if len(weights):
        bar = fig.colorbar(drawn, ax=ax, label="bytes carried (both directions)")
        bar.formatter = EngFormatter(unit="B", sep=" ")
        bar.update_ticks()
    ax.set_title(wrap(title, 60), fontsize=10)
    ax.axis("off")
    return fig
