"""Gantt charts of a run: when each node computed and each link direction transmitted,
and when they were down (reads ``timeline.parquet`` only)."""

from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from snakesim.analysis.canvas import subplots
from snakesim.experiments.store import read_summary, read_table

COLOURS = {("node", "busy"): "#1f77b4", ("link", "busy"): "#2ca02c", ("node", "down"): "#d62728",
           ("link", "down"): "#d62728"}


def timeline_figure(run_dir: Path, max_links: int = 40) -> Figure:
    """One row per node, then per busiest link direction; busy and down intervals as bars.

    Parameters
    ----------
    run_dir
        A run folder.
    max_links
        Show at most this many link directions (the busiest), so large networks stay
        readable.
    """
    summary = read_summary(run_dir)
    table = read_table(run_dir, "timeline")
    nodes = list(read_table(run_dir, "nodes")["node"])
    links = table[table["kind"] == "link"]
    busy = (links[links["state"] == "busy"].assign(length=links["end_s"] - links["start_s"])
            .groupby("resource")["length"].sum().sort_values(ascending=False))
    shown = list(busy.index[:max_links])
    shown += sorted(set(links["resource"]) - set(shown))[:max(0, max_links - len(shown))]
    rows = nodes + shown
    height = max(3.0, 0.28 * len(rows) + 1.5)
    fig, ax = subplots(figsize=(12, height))
    index = {name: i for i, name in enumerate(rows)}
    for (kind, state), group in table.groupby(["kind", "state"]):
        group = group[group["resource"].isin(index)]
        spans = list(zip(group["start_s"], group["end_s"] - group["start_s"], strict=True))
        for name, (start, length) in zip(group["resource"], spans, strict=True):
            ax.broken_barh([(start, length)], (index[name] - 0.4, 0.8),
                           facecolors=COLOURS[(str(kind), str(state))],
                           alpha=0.9 if state == "busy" else 0.5)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.invert_yaxis()
    ax.set(xlabel="simulated time (s)",
           title=f"{summary['run_id']} ({summary['strategy']}): busy and down intervals")
    ax.grid(axis="x", alpha=0.3)
    ax.legend(handles=[Patch(color=COLOURS[("node", "busy")], label="node computing"),
                       Patch(color=COLOURS[("link", "busy")], label="link transmitting"),
                       Patch(color=COLOURS[("node", "down")], alpha=0.5, label="down")],
              loc="upper right", fontsize=8)
    return fig


def plot_timeline(run_dir: Path, out: Path) -> Path:
    """Write `timeline_figure` of ``run_dir`` to ``out`` (PNG)."""
    fig = timeline_figure(run_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    return out
