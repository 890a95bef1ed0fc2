"""Gantt charts of a run: when each node computed and each link direction transmitted,
and when nodes and links were down (reads ``timeline.parquet`` and ``nodes.parquet``).

Every outage of the run is drawn, one artist each (gid ``"outage"``): a node's on its
row, a link's as a band across the rows of both its directions, or on a row of its own
(``a-b``) when no traffic crossed the link. Large networks are cut to ``max_rows`` rows,
the busiest ones plus every row with an outage; the figure then says how many rows were
left out and how to draw them all.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from snakesim.analysis.canvas import subplots
from snakesim.experiments.store import read_summary, read_table

BUSY = {"node": "#1f77b4", "link": "#2ca02c"}
DOWN = "#d62728"
MAX_ROWS = 80
"""Default row limit: about 2,500 pixels of height at the CLI's resolution."""
ROW_INCHES = 0.26
_MAX_INCHES = 540.0  # Agg draws at most 2**16 pixels a side: 540 in at 110 dpi


@dataclass
class _Row:
    """One row of the chart: a node, a link direction ``a>b``, or an idle link ``a-b``."""

    label: str
    kind: str
    link: frozenset[str] | None = None
    busy: list[tuple[float, float]] = field(default_factory=list)

    @property
    def busy_s(self) -> float:
        return sum(end - start for start, end in self.busy)


def timeline_figure(run_dir: Path, max_rows: int = MAX_ROWS) -> Figure:
    """One row per node and link direction; busy intervals as bars, outages in red.

    Parameters
    ----------
    run_dir
        A run folder.
    max_rows
        Draw at most this many rows (0: all): those with the most busy time, plus every
        row an outage lies on, which are never left out. A note under the chart counts
        the rows left out.

    Returns
    -------
    matplotlib.figure.Figure
        Busy bars are one collection per row; every outage is its own collection with
        gid ``"outage"``, so their count equals the rows of ``outages.parquet``.
    """
    summary = read_summary(run_dir)
    table = read_table(run_dir, "timeline")
    nodes = [str(n) for n in read_table(run_dir, "nodes")["node"]]
    rows, outages = _rows(table, nodes)
    shown, hidden = _choose(rows, {label for label, _, _, _ in outages}, max_rows)
    ordered = _order(shown, nodes)
    per_row = min(ROW_INCHES, _MAX_INCHES / max(len(ordered), 1))
    fig, ax = subplots(figsize=(12, max(3.0, per_row * len(ordered) + 2.0)))
    index = {row.label: i for i, row in enumerate(ordered)}
    for i, row in enumerate(ordered):
        if row.busy:
            ax.broken_barh([(a, b - a) for a, b in row.busy], (i - 0.4, 0.8),
                           facecolors=BUSY[row.kind], zorder=2)
    for label, kind, start, end in outages:
        span = _span(ordered, index, label, kind)
        # Drawn over the rows' bars (a link is never busy while down: the ledger cuts
        # paused flows' spans around outages), so the band stays visible on every row.
        # Outages of a few ms vanish at the scale of a run: the edge keeps them visible.
        ax.broken_barh([(start, end - start)], (span[0] - 0.45, span[1] - span[0] + 0.9),
                       facecolors=DOWN, edgecolors=DOWN, linewidth=0.8, alpha=0.4,
                       zorder=3, gid="outage")
    node_rows = sum(1 for row in ordered if row.kind == "node")
    if 0 < node_rows < len(ordered):
        ax.axhline(node_rows - 0.5, color="0.4", linewidth=0.8)
    ax.set_yticks(range(len(ordered)), [row.label for row in ordered],
                  fontsize=7 if per_row >= 0.12 else 4)
    ax.set_ylim(len(ordered) - 0.5, -0.5)  # first row on top
    ax.set(xlabel="simulated time (s)")
    ax.set_title(f"{summary['run_id']} ({summary['strategy']}): busy and down intervals",
                 fontsize=11)
    ax.grid(axis="x", alpha=0.3)
    fig.legend(handles=[Patch(color=BUSY["node"], label="node computing"),
                        Patch(color=BUSY["link"], label="link direction transmitting"),
                        Patch(color=DOWN, alpha=0.4, label="node or link down")],
               loc="outside upper center", ncols=3, fontsize=8, frameon=False)
    if hidden:
        fig.supxlabel(_note(hidden, len(rows), run_dir), fontsize=9, color="#8b0000")
    return fig


def _rows(table: pd.DataFrame, nodes: list[str]
          ) -> tuple[list[_Row], list[tuple[str, str, float, float]]]:
    """The candidate rows and the outages ``(row label, kind, start, end)``."""
    rows = {node: _Row(node, "node") for node in nodes}
    busy = table[table["state"] == "busy"]
    for (resource, kind), group in busy.groupby(["resource", "kind"], sort=True):
        name, kind = str(resource), str(kind)
        if name not in rows:
            link = frozenset(name.split(">", 1)) if kind == "link" else None
            rows[name] = _Row(name, kind, link)
        rows[name].busy = sorted(zip(group["start_s"], group["end_s"], strict=True))
    directions: dict[frozenset[str], list[str]] = {}
    for row in rows.values():
        if row.link is not None:
            directions.setdefault(row.link, []).append(row.label)
    outages = []
    down = table[table["state"] == "down"]
    for resource, kind, start, end in zip(down["resource"], down["kind"], down["start_s"],
                                          down["end_s"], strict=True):
        name, kind = str(resource), str(kind)
        if kind == "link":
            link = _link(name, nodes)
            if link not in directions:  # no traffic crossed it: a row of its own
                rows[name] = _Row(name, "link", link)
                directions[link] = [name]
            name = directions[link][0]
        elif name not in rows:  # a node the nodes table does not list
            rows[name] = _Row(name, "node")
        outages.append((name, kind, float(start), float(end)))
    return list(rows.values()), outages


def _link(name: str, nodes: Iterable[str]) -> frozenset[str]:
    """The end nodes of the link ``a-b``; node names may hold ``-`` themselves."""
    known = set(nodes)
    for i, char in enumerate(name):
        if char == "-" and name[:i] in known and name[i + 1:] in known:
            return frozenset((name[:i], name[i + 1:]))
    return frozenset(name.split("-", 1))


def _choose(rows: list[_Row], must: set[str], max_rows: int) -> tuple[list[_Row], list[_Row]]:
    """Rows to draw and rows left out: every row with an outage (both directions of a
    link that was down), then the busiest others up to ``max_rows``."""
    down_links = {row.link for row in rows if row.label in must and row.link is not None}
    needed = [row for row in rows if row.label in must or (row.link in down_links
                                                           and row.link is not None)]
    if max_rows <= 0 or len(rows) <= max_rows:
        return rows, []
    kept = {id(row) for row in needed}
    others = sorted((row for row in rows if id(row) not in kept), key=lambda r: -r.busy_s)
    room = max(0, max_rows - len(needed))
    return needed + others[:room], others[room:]


def _order(rows: list[_Row], nodes: list[str]) -> list[_Row]:
    """Nodes in the nodes table's order, then links by busy time, both directions of a
    link next to each other (its outage band spans them)."""
    position = {node: i for i, node in enumerate(nodes)}
    node_rows = sorted((r for r in rows if r.kind == "node"),
                       key=lambda r: position.get(r.label, len(position)))
    links: dict[frozenset[str], list[_Row]] = {}
    for row in rows:
        if row.kind == "link" and row.link is not None:
            links.setdefault(row.link, []).append(row)
    groups = sorted(links.values(), key=lambda g: (-sum(r.busy_s for r in g), g[0].label))
    return node_rows + [row for group in groups
                        for row in sorted(group, key=lambda r: -r.busy_s)]


def _span(ordered: list[_Row], index: dict[str, int], label: str, kind: str
          ) -> tuple[int, int]:
    """First and last row an outage covers: a node's row, or all rows of a link."""
    first = index[label]
    if kind != "link":
        return first, first
    link = ordered[first].link
    rows = [i for i, row in enumerate(ordered) if row.link == link]
    return min(rows), max(rows)


def _note(hidden: list[_Row], total: int, run_dir: Path) -> str:
    """What was left out and how to see it, written under the chart."""
    nodes = sum(1 for row in hidden if row.kind == "node")
    parts = [f"{nodes} node{'s' * (nodes != 1)}"] if nodes else []
    if len(hidden) - nodes:
        count = len(hidden) - nodes
        parts.append(f"{count} link direction{'s' * (count != 1)}")
    text = (f"Not shown: {' and '.join(parts)} ({len(hidden)} of {total} rows, the least "
            "busy, none with an outage). All rows:")
    return f"{textwrap.fill(text, 150)}\nsnakesim plot --timeline {run_dir} --max-rows 0"


def plot_timeline(run_dir: Path, out: Path, max_rows: int = MAX_ROWS) -> Path:
    """Write `timeline_figure` of ``run_dir`` to ``out`` (PNG)."""
    fig = timeline_figure(run_dir, max_rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out
