"""Figures of a sweep: cost-versus-quality curves, parameter effects, heatmaps, topology.

Reads only the sweep folder (``summary.parquet`` and each run's tables). Curves of runs
that differ only in their seed are drawn as their mean with a band (min to max) across
seeds, after interpolation onto a common x grid.

Quality is test accuracy for classifiers and held-out perplexity (lower is better) for
causal language models (`sweep_quality`). Cost-only runs measure no quality at all; their
sweeps get `cost_figure` instead of the quality figures.
"""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from snakesim.analysis.canvas import subplots
from snakesim.experiments.store import read_table

COST_AXES = {
    "cum_total_bytes": ("cumulative payload bytes", "log"),
    "sim_time_s": ("simulated time (s)", "log"),
}


@dataclass(frozen=True)
class Quality:
    """How a sweep's model quality is read and drawn.

    Attributes
    ----------
    column : str
        Column of each run's ``rounds`` table.
    final : str
        Column of ``summary.parquet`` holding the last value.
    label : str
        Axis label.
    title : str
        Capitalised name for figure titles.
    scale : str
        Matplotlib y scale.
    ylim : tuple of float or None
        Fixed y limits, if the metric is bounded.
    legend_loc : str
        Where a legend hides the least: accuracy curves rise to the upper right;
        perplexity curves fall, and one-round runs are lone points, so matplotlib picks.
    """

    column: str
    final: str
    label: str
    title: str
    scale: str
    ylim: tuple[float, float] | None
    legend_loc: str


ACCURACY = Quality("accuracy", "final_accuracy", "test accuracy", "Accuracy", "linear",
                   (0.0, 1.0), "lower right")
# Perplexity is unbounded above and spans orders of magnitude early in training.
PERPLEXITY = Quality("perplexity", "final_perplexity", "held-out perplexity", "Perplexity",
                     "log", None, "best")


def sweep_quality(summary: pd.DataFrame) -> Quality:
    """Perplexity when every run is a language model, accuracy otherwise.

    Parameters
    ----------
    summary : pandas.DataFrame
        The sweep's ``summary.parquet``; older sweeps have no ``metric`` column.

    Returns
    -------
    Quality
        `PERPLEXITY` or `ACCURACY`.
    """
    metric = summary["metric"] if "metric" in summary else pd.Series(dtype=object)
    if len(metric) and bool((metric == "perplexity").all()):
        return PERPLEXITY
    return ACCURACY


def quality_measured(summary: pd.DataFrame, quality: Quality) -> np.ndarray:
    """Which runs (rows, as a boolean array) have a final quality value.

    Cost-only runs have none: their quality columns are None, NaN once read back.
    """
    if quality.final not in summary:
        return np.zeros(len(summary), dtype=bool)
    measured: np.ndarray = np.isfinite(_floats(summary[quality.final]))
    return measured


def _floats(values: pd.Series) -> np.ndarray:
    """A column as floats; the all-None columns of cost-only runs become NaN."""
    return pd.to_numeric(values, errors="coerce").to_numpy(float)


def _scale(values: np.ndarray, preferred: str) -> str:
    """``preferred``, unless it is log and no value is positive (matplotlib would raise)."""
    if preferred != "log":
        return preferred
    return "log" if bool((np.isfinite(values) & (values > 0)).any()) else "linear"


def series_keys(summary: pd.DataFrame, swept: Sequence[str]) -> list[str]:
    """The swept keys that tell curves apart (all but the seed)."""
    return [k for k in swept if k != "seed" and k in summary]


def _label(row: pd.Series, keys: Sequence[str]) -> str:
    """``alpha=0.1, strategy=name: snake, distill: on`` from the swept columns."""
    parts = []
    for key in keys:
        name = key.replace(" (swept)", "").rsplit(".", 1)[-1]
        value = str(row[key]).replace("'", "")  # a swept section, as YAML
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1]  # only the outer pair: strip("{}") ate nested closers
        parts.append(f"{name}={value}")
    return ", ".join(parts) or "all runs"


def curve_figure(sweep_dir: Path, summary: pd.DataFrame, swept: Sequence[str],
                 quality: Quality = ACCURACY) -> Figure:
    """Quality against cumulative bytes and simulated time; one band per series.

    Parameters
    ----------
    sweep_dir : Path
        The sweep folder (each run's ``rounds`` table is read from it).
    summary : pandas.DataFrame
        Its ``summary.parquet``.
    swept : sequence of str
        The swept columns; all but the seed tell series apart.
    quality : Quality
        What the y axis shows (`sweep_quality`).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels; runs without any quality value (cost-only) are left out.
    """
    keys = series_keys(summary, swept)
    fig, axes = subplots(1, 2, figsize=(12, 4.5))
    groups = summary.groupby(keys, sort=False, dropna=False) if keys else [((), summary)]
    drawn: list[list[np.ndarray]] = [[], []]
    for _, group in groups:
        label = _label(group.iloc[0], keys)
        runs = [read_table(sweep_dir / d, "rounds") for d in group["run_dir"]]
        for i, (ax, column) in enumerate(zip(axes, COST_AXES, strict=True)):
            ys = _band(ax, [(r[column].to_numpy(float), _floats(r[quality.column])
                             if quality.column in r else np.full(len(r), np.nan))
                            for r in runs], label)
            drawn[i].extend(ys)
    for ax, values, (title, scale) in zip(axes, drawn, COST_AXES.values(), strict=True):
        # Every drawn x is positive (see _band), so only an empty panel stays linear.
        ax.set(xlabel=title, ylabel=quality.label, xscale=scale if values else "linear",
               yscale=_scale(np.concatenate(values) if values else np.empty(0),
                             quality.scale))
        if quality.ylim is not None:
            ax.set_ylim(quality.ylim)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_title(f"{quality.title} vs communication")
    axes[1].set_title(f"{quality.title} vs simulated time")
    if drawn[1]:
        axes[1].legend(fontsize=8, loc=quality.legend_loc)
    return fig


def _band(ax: Axes, runs: list[tuple[np.ndarray, np.ndarray]], label: str) -> list[np.ndarray]:
    """Draw the mean and min-max band of ``runs``; return the y values drawn."""
    # Unevaluated rows (NaN quality) would poison the interpolation around them.
    finite = [(x, y, np.isfinite(x) & np.isfinite(y)) for x, y in runs]
    positive = [(x[ok], y[ok]) for x, y, ok in finite if ok.any() and x[ok].max() > 0]
    if not positive:
        return []
    lo = max(min(x[x > 0].min() for x, _ in positive), 1e-12)
    hi = max(x.max() for x, _ in positive)
    grid = np.geomspace(lo, hi, 100) if hi > lo else np.array([hi])
    # A run's quality before its first evaluation is unknown: NaN, not extrapolated.
    ys = np.array([np.interp(grid, x, y, left=np.nan) for x, y in positive])
    # Grid points that no run has reached are NaN in every row: nanmean would warn there.
    finite = np.isfinite(ys)
    counts = finite.sum(axis=0)
    mean = np.divide(np.where(finite, ys, 0.0).sum(axis=0), counts,
                     out=np.full(grid.shape, np.nan), where=counts > 0)
    # A single evaluation (one-round runs) is a point: without a marker it is invisible.
    (line,) = ax.plot(grid, mean, linewidth=1.5, marker="o" if len(grid) == 1 else None,
                      label=f"{label} (n={len(positive)})")
    if len(positive) > 1:
        # fmin/fmax skip NaN like nanmin/nanmax, without warning on all-NaN columns.
        ax.fill_between(grid, np.fmin.reduce(ys, axis=0), np.fmax.reduce(ys, axis=0),
                        color=line.get_color(), alpha=0.2, linewidth=0)
    return [y for _, y in positive]


def memory_figure(summary: pd.DataFrame, swept: Sequence[str],
                  quality: Quality = ACCURACY) -> Figure:
    """Final quality against the largest per-node peak memory, one marker per run."""
    keys = series_keys(summary, swept)
    fig, ax = subplots(figsize=(6.5, 4.5))
    groups = summary.groupby(keys, sort=False, dropna=False) if keys else [((), summary)]
    for _, group in groups:
        ax.scatter(_floats(group["max_node_peak_memory_bytes"]), _floats(group[quality.final]),
                   s=30, label=_label(group.iloc[0], keys), alpha=0.8)
    ax.set(xlabel="max node peak memory (bytes)", ylabel=f"final {quality.label}",
           xscale=_scale(_floats(summary["max_node_peak_memory_bytes"]), "log"),
           yscale=_scale(_floats(summary[quality.final]), quality.scale),
           title=f"{quality.title} vs peak node memory")
    if quality.ylim is not None:
        ax.set_ylim(quality.ylim)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return fig


COST_EFFECTS = (("total_bytes", "payload bytes", "log"),
                ("sim_time_s", "simulated time (s)", "log"),
                ("max_node_peak_memory_bytes", "max node peak memory (bytes)", "log"))


def effect_figure(summary: pd.DataFrame, parameter: str, by: str | None,
                  quality: Quality | None = ACCURACY) -> Figure:
    """Final quality and costs against a numeric swept ``parameter``, per ``by`` value.

    Parameters
    ----------
    summary : pandas.DataFrame
        The sweep's ``summary.parquet``.
    parameter : str
        A numeric swept column: the x axis.
    by : str or None
        A second swept column: one line per value.
    quality : Quality or None
        The first panel's metric; None (cost-only sweeps) draws the cost panels only.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per metric, each the mean over runs with min-max error bars.
    """
    panels = [*([(quality.final, f"final {quality.label}", quality.scale)] if quality
                else []), *COST_EFFECTS]
    # Object columns (all None in cost-only runs) would not aggregate: floats throughout.
    table = summary.assign(**{m: _floats(summary[m]) for m, _, _ in panels})
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    groups = table.groupby(by, sort=False) if by else [("all runs", table)]
    for name, group in groups:
        stats = group.groupby(parameter)[[m for m, _, _ in panels]].agg(["mean", "min",
                                                                          "max"])
        x = stats.index.to_numpy(float)
        for ax, (metric, title, _) in zip(axes[0], panels, strict=True):
            mean = stats[(metric, "mean")].to_numpy(float)
            err = [mean - stats[(metric, "min")].to_numpy(float),
                   stats[(metric, "max")].to_numpy(float) - mean]
            ax.errorbar(x, mean, yerr=err, marker="o", capsize=3,
                        label=str(name).strip("{}").replace("'", ""))
            ax.set(xlabel=parameter, ylabel=title, title=title)
    for ax, (metric, _, scale) in zip(axes[0], panels, strict=True):
        ax.set_yscale(_scale(table[metric].to_numpy(float), scale))
        ax.set_xscale("log" if _spans_decades(summary[parameter]) else "linear")
        ax.grid(alpha=0.3, which="both")
    axes[0, 0].legend(fontsize=8)
    return fig


def heatmap_figure(summary: pd.DataFrame, rows: str, cols: str,
                   metric: str = "final_accuracy") -> Figure:
    """Mean ``metric`` over seeds on the grid of two swept parameters."""
    numbers = summary.assign(**{metric: _floats(summary[metric])})
    table = numbers.pivot_table(index=rows, columns=cols, values=metric, aggfunc="mean")
    fig, ax = subplots(figsize=(1.2 * len(table.columns) + 3, 0.6 * len(table) + 2.5))
    image = ax.imshow(table.to_numpy(float), cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(table.columns)), [str(c) for c in table.columns], rotation=30)
    ax.set_yticks(range(len(table.index)), [str(i) for i in table.index])
    for (i, j), value in np.ndenumerate(table.to_numpy(float)):
        ax.text(j, i, f"{value:.3g}", ha="center", va="center", color="white", fontsize=8)
    ax.set(xlabel=cols, ylabel=rows, title=f"mean {metric}")
    fig.colorbar(image, ax=ax)
    return fig


COSTS = (("max_node_peak_memory_bytes", "max node peak memory (bytes)", "B"),
         ("bytes_per_round", "payload bytes per round", "B"),
         ("sim_time_s", "simulated time (s)", "s"),
         ("total_flops", "total FLOPs", "FLOP"))


def cost_figure(summary: pd.DataFrame, swept: Sequence[str]) -> Figure:
    """What each point of the sweep costs: one horizontal bar per point and metric.

    Drawn for cost-only sweeps, which have no quality to plot.

    Parameters
    ----------
    summary : pandas.DataFrame
        The sweep's ``summary.parquet``.
    swept : sequence of str
        The swept columns; a point is a distinct set of their values, seed aside.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per cost column present (peak memory, bytes per round, simulated time,
        FLOPs); a bar is the mean over the point's seeds, whiskers span min to max.
    """
    keys = series_keys(summary, swept)
    groups = (list(summary.groupby(keys, sort=False, dropna=False)) if keys
              else [((), summary)])
    panels = [(c, t, u) for c, t, u in COSTS
              if c in summary and bool(np.isfinite(_floats(summary[c])).any())]
    # Swept sections (a whole strategy block) make long labels: wrap, don't truncate.
    labels = [textwrap.fill(_label(g.iloc[0], keys), 40) for _, g in groups]
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, axes = subplots(1, max(len(panels), 1), sharey=True, squeeze=False,
                         figsize=(3.4 * len(panels) + 3.5,
                                  0.3 * lines + 0.4 * len(labels) + 1.6))
    rows = np.arange(len(groups))
    colors = [f"C{i % 10}" for i in rows]
    for ax, (column, title, unit) in zip(axes[0], panels, strict=False):
        values = [_floats(g[column]) for _, g in groups]
        mean, lo, hi = (np.array([_reduce(v, how) for v in values])
                        for how in ("mean", "min", "max"))
        spread = [len(v) > 1 for v in values]
        bars = ax.barh(rows, np.nan_to_num(mean), color=colors,
                       xerr=[mean - lo, hi - mean] if any(spread) else None, capsize=3)
        ax.bar_label(bars, labels=[_si(m, unit) for m in mean], fontsize=7, padding=2)
        ax.set(xlabel=title, title=title,
               xscale=_scale(mean, "log" if _spans_decades(pd.Series(mean)) else "linear"))
        ax.set_xmargin(0.2)  # room for the value printed past each bar's end
        ax.grid(alpha=0.3, axis="x")
    axes[0, 0].set_yticks(rows, labels, fontsize=8)
    axes[0, 0].invert_yaxis()  # first point on top, as in the summary table
    fig.suptitle("Cost per point of the sweep")
    return fig


def _si(value: float, unit: str) -> str:
    """``9.42 GB``: bar labels readable without the axis's offset text."""
    if not np.isfinite(value):
        return "n/a"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def _reduce(values: np.ndarray, how: str) -> float:
    """Mean, min or max of the finite values; NaN (no warning) when there are none."""
    finite = values[np.isfinite(values)]
    return float(getattr(np, how)(finite)) if len(finite) else float("nan")


def topology_figure(run_dir: Path, title: str) -> Figure:
    """A run's network with each link's width and colour by the bytes it carried."""
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
    nx.draw_networkx_nodes(graph, pos, ax=ax, node_size=420,
                           node_color=["#d62728" if roles.get(n) == "server" else "#1f77b4"
                                       for n in graph])
    nx.draw_networkx_labels(graph, pos, ax=ax, font_size=8, font_color="white")
    drawn = nx.draw_networkx_edges(graph, pos, ax=ax, width=widths, edge_color=weights,
                                   edge_cmap=matplotlib.colormaps["plasma"])
    if len(weights):
        fig.colorbar(drawn, ax=ax, label="bytes carried (both directions)")
    ax.set_title(title)
    ax.axis("off")
    return fig


def _spans_decades(values: pd.Series) -> bool:
    numeric = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(numeric) and (numeric > 0).all() and numeric.max() / numeric.min() >= 100)
