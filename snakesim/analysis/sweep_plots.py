"""Figures of a sweep: cost-versus-accuracy curves, parameter effects, heatmaps, topology.

Reads only the sweep folder (``summary.parquet`` and each run's tables). Curves of runs
that differ only in their seed are drawn as their mean with a band (min to max) across
seeds, after interpolation onto a common x grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from snakesim.experiments.store import read_table

COST_AXES = {
    "cum_total_bytes": ("cumulative payload bytes", "log"),
    "sim_time_s": ("simulated time (s)", "log"),
}


def series_keys(summary: pd.DataFrame, swept: Sequence[str]) -> list[str]:
    """The swept keys that tell curves apart (all but the seed)."""
    return [k for k in swept if k != "seed" and k in summary]


def _label(row: pd.Series, keys: Sequence[str]) -> str:
    """``alpha=0.1, strategy=name: snake, distill: on`` from the swept columns."""
    parts = []
    for key in keys:
        name = key.replace(" (swept)", "").rsplit(".", 1)[-1]
        value = str(row[key]).strip("{}").replace("'", "")  # a swept section, as YAML
        parts.append(f"{name}={value}")
    return ", ".join(parts) or "all runs"


def curve_figure(sweep_dir: Path, summary: pd.DataFrame, swept: Sequence[str]) -> Figure:
    """Accuracy against cumulative bytes and simulated time; one band per series."""
    keys = series_keys(summary, swept)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5), constrained_layout=True)
    groups = summary.groupby(keys, sort=False, dropna=False) if keys else [((), summary)]
    for _, group in groups:
        label = _label(group.iloc[0], keys)
        runs = [read_table(sweep_dir / d, "rounds") for d in group["run_dir"]]
        for ax, (column, (title, scale)) in zip(axes, COST_AXES.items(), strict=True):
            _band(ax, [(r[column].to_numpy(float), r["accuracy"].to_numpy(float))
                       for r in runs], label)
            ax.set(xlabel=title, ylabel="test accuracy", xscale=scale, ylim=(0, 1))
    axes[0].set_title("Accuracy vs communication")
    axes[1].set_title("Accuracy vs simulated time")
    for ax in axes:
        ax.grid(alpha=0.3, which="both")
    axes[1].legend(fontsize=8, loc="lower right")
    return fig


def _band(ax: Axes, runs: list[tuple[np.ndarray, np.ndarray]], label: str) -> None:
    positive = [(x, y) for x, y in runs if len(x) and x.max() > 0]
    if not positive:
        return
    lo = max(min(x[x > 0].min() for x, _ in positive), 1e-12)
    hi = max(x.max() for x, _ in positive)
    grid = np.geomspace(lo, hi, 100) if hi > lo else np.array([hi])
    # A run's accuracy before its first evaluation is unknown: NaN, not extrapolated.
    ys = np.array([np.interp(grid, x, y, left=np.nan) for x, y in positive])
    mean = np.nanmean(ys, axis=0)
    (line,) = ax.plot(grid, mean, linewidth=1.5, label=f"{label} (n={len(positive)})")
    if len(positive) > 1:
        ax.fill_between(grid, np.nanmin(ys, axis=0), np.nanmax(ys, axis=0),
                        color=line.get_color(), alpha=0.2, linewidth=0)


def memory_figure(summary: pd.DataFrame, swept: Sequence[str]) -> Figure:
    """Final accuracy against the largest per-node peak memory, one marker per run."""
    keys = series_keys(summary, swept)
    fig, ax = plt.subplots(figsize=(6.5, 4.5), constrained_layout=True)
    groups = summary.groupby(keys, sort=False, dropna=False) if keys else [((), summary)]
    for _, group in groups:
        ax.scatter(group["max_node_peak_memory_bytes"], group["final_accuracy"], s=30,
                   label=_label(group.iloc[0], keys), alpha=0.8)
    ax.set(xlabel="max node peak memory (bytes)", ylabel="final test accuracy",
           xscale="log", ylim=(0, 1), title="Accuracy vs peak node memory")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


EFFECTS = (("final_accuracy", "final test accuracy", "linear"),
           ("total_bytes", "payload bytes", "log"),
           ("sim_time_s", "simulated time (s)", "log"),
           ("max_node_peak_memory_bytes", "max node peak memory (bytes)", "log"))


def effect_figure(summary: pd.DataFrame, parameter: str, by: str | None) -> Figure:
    """Final accuracy and costs against a numeric swept ``parameter``, per ``by`` value."""
    fig, axes = plt.subplots(1, len(EFFECTS), figsize=(4.2 * len(EFFECTS), 4),
                             constrained_layout=True)
    groups = summary.groupby(by, sort=False) if by else [("all runs", summary)]
    for name, group in groups:
        stats = group.groupby(parameter)[[m for m, _, _ in EFFECTS]].agg(["mean", "min",
                                                                           "max"])
        x = stats.index.to_numpy(float)
        for ax, (metric, title, scale) in zip(axes, EFFECTS, strict=True):
            mean = stats[(metric, "mean")].to_numpy(float)
            err = [mean - stats[(metric, "min")].to_numpy(float),
                   stats[(metric, "max")].to_numpy(float) - mean]
            ax.errorbar(x, mean, yerr=err, marker="o", capsize=3,
                        label=str(name).strip("{}").replace("'", ""))
            ax.set(xlabel=parameter, ylabel=title, yscale=scale, title=title)
    for ax in axes:
        ax.set_xscale("log" if _spans_decades(summary[parameter]) else "linear")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend(fontsize=8)
    return fig


def heatmap_figure(summary: pd.DataFrame, rows: str, cols: str,
                   metric: str = "final_accuracy") -> Figure:
    """Mean ``metric`` over seeds on the grid of two swept parameters."""
    table = summary.pivot_table(index=rows, columns=cols, values=metric, aggfunc="mean")
    fig, ax = plt.subplots(figsize=(1.2 * len(table.columns) + 3, 0.6 * len(table) + 2.5),
                           constrained_layout=True)
    image = ax.imshow(table.to_numpy(float), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns], rotation=30)
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    for (i, j), value in np.ndenumerate(table.to_numpy(float)):
        ax.text(j, i, f"{value:.3g}", ha="center", va="center", color="white", fontsize=8)
    ax.set(xlabel=cols, ylabel=rows, title=f"mean {metric}")
    fig.colorbar(image, ax=ax)
    return fig


def topology_figure(run_dir: Path, title: str) -> Figure:
    """A run's network with each link's width and colour by the bytes it carried."""
    nodes = read_table(run_dir, "nodes")
    links = read_table(run_dir, "links")
    graph = nx.Graph()
    graph.add_nodes_from(nodes["node"])
    for src, dst, nbytes in zip(links["src"], links["dst"], links["bytes"], strict=True):
        previous = graph.get_edge_data(src, dst, {"bytes": 0})["bytes"]
        graph.add_edge(src, dst, bytes=previous + int(nbytes))
    fig, ax = plt.subplots(figsize=(6.5, 5.5), constrained_layout=True)
    pos = nx.kamada_kawai_layout(graph) if len(graph) > 2 else nx.spring_layout(graph, seed=0)
    weights = np.array([d["bytes"] for _, _, d in graph.edges(data=True)], dtype=float)
    widths = 1 + 6 * weights / weights.max() if len(weights) and weights.max() > 0 else 1.0
    roles = dict(zip(nodes["node"], nodes["role"], strict=True))
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=420,
                           node_color=["#d62728" if roles.get(n) == "server" else "#1f77b4"
                                       for n in graph])
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=8, font_color="white")
    drawn = nx.draw_networkx_edges(graph, pos, ax=ax, width=widths, edge_color=weights,
                                   edge_cmap=plt.get_cmap("plasma"))
    if len(weights):
        fig.colorbar(drawn, ax=ax, label="bytes carried (both directions)")
    ax.set_title(title)
    ax.axis("off")
    return fig


def _spans_decades(values: pd.Series) -> bool:
    numeric = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(numeric) and (numeric > 0).all() and numeric.max() / numeric.min() >= 100)
