"""Figures of a sweep: cost-versus-quality curves, parameter effects, heatmaps, topology.

Reads only the sweep folder (``summary.parquet`` and each run's tables). Curves of runs
that differ only in their seed are drawn as their mean with a band (min to max) across
seeds, after interpolation onto a common x grid.

Quality is test accuracy for classifiers and held-out perplexity (lower is better) for
causal language models (`sweep_quality`). Cost-only runs measure no quality at all; their
sweeps get `cost_figure` instead of the quality figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from snakesim.analysis.axes import set_scale, thin_tick_labels, wrap
from snakesim.analysis.canvas import subplots
from snakesim.experiments.store import read_table

COST_AXES = {
    "cum_total_bytes": ("cumulative payload bytes", "B"),
    "sim_time_s": ("simulated time", "s"),
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
    """``alpha=0.1, strategy=snake (distill=on, mode=p2p)`` from the swept columns."""
    parts = []
    for key in keys:
        name = key.replace(" (swept)", "").rsplit(".", 1)[-1]
        parts.append(f"{name}={_value(row[key])}")
    return ", ".join(parts) or "all runs"


def _value(value: object) -> str:
    """A swept value, short: a swept section (YAML of a mapping) as ``name (k=v, ...)``."""
    text = str(value)
    if not (text.startswith("{") and text.endswith("}")):
        return text
    try:
        section = yaml.safe_load(text)
    except yaml.YAMLError:
        return text[1:-1].replace("'", "")
    if not isinstance(section, dict):
        return text[1:-1].replace("'", "")
    name = section.pop("name", None)
    inner = ", ".join(f"{k}={_nested(v)}" for k, v in section.items())
    if name is None:
        return inner
    return f"{name} ({inner})" if inner else str(name)


def _nested(value: object) -> str:
    """A value inside a swept section: mappings as ``{k=v, ...}``."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}={_nested(v)}" for k, v in value.items()) + "}"
    return str(value)


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
    for ax, values, (title, unit) in zip(axes, drawn, COST_AXES.values(), strict=True):
        # Every drawn x is positive (see _band); log where the runs span a decade.
        set_scale(ax, "x", np.array(ax.dataLim.intervalx) if values else np.empty(0),
                  "log", unit)
        ax.set(xlabel=title, ylabel=quality.label,
               yscale=_scale(np.concatenate(values) if values else np.empty(0),
                             quality.scale))
        if quality.ylim is not None:
            ax.set_ylim(quality.ylim)
        ax.grid(alpha=0.3, which="both")
    axes[0].set_title(f"{quality.title} vs communication")
    axes[1].set_title(f"{quality.title} vs simulated time")
    if drawn[1]:
        _legend(fig, axes[1], 12)
    thin_tick_labels(fig)
    return fig


def _legend(fig: Figure, ax: Axes, width_in: float) -> None:
    """The legend of ``ax`` under the figure, in as many columns as its width holds:
    inside the axes, long series labels hide the curves."""
    handles, labels = ax.get_legend_handles_labels()
    if not labels:
        return
    # About 14 characters of 8-point text per inch, plus the marker and gaps.
    per_column = max(len(label) for label in labels) + 6
    ncols = max(1, min(len(labels), int(width_in * 14) // per_column))
    fig.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize=8,
               frameon=False)


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
    set_scale(ax, "x", _floats(summary["max_node_peak_memory_bytes"]), "log", "B")
    ax.set(xlabel="max node peak memory", ylabel=f"final {quality.label}",
           yscale=_scale(_floats(summary[quality.final]), quality.scale),
           title=f"{quality.title} vs peak node memory")
    if quality.ylim is not None:
        ax.set_ylim(quality.ylim)
    ax.grid(alpha=0.3, which="both")
    _legend(fig, ax, 6.5)
    thin_tick_labels(fig)
    return fig


COST_EFFECTS = (("total_bytes", "payload bytes", "log", "B"),
                ("sim_time_s", "simulated time", "log", "s"),
                ("max_node_peak_memory_bytes", "max node peak memory", "log", "B"))


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
    panels = [*([(quality.final, f"final {quality.label}", quality.scale, None)] if quality
                else []), *COST_EFFECTS]
    # Object columns (all None in cost-only runs) would not aggregate: floats throughout.
    table = summary.assign(**{m: _floats(summary[m]) for m, _, _, _ in panels})
    fig, axes = subplots(1, len(panels), figsize=(4.2 * len(panels), 4), squeeze=False)
    groups = table.groupby(by, sort=False) if by else [("all runs", table)]
    for name, group in groups:
        stats = group.groupby(parameter)[[m for m, _, _, _ in panels]].agg(["mean", "min",
                                                                             "max"])
        x = stats.index.to_numpy(float)
        for ax, (metric, title, _, _) in zip(axes[0], panels, strict=True):
            mean = stats[(metric, "mean")].to_numpy(float)
            err = [mean - stats[(metric, "min")].to_numpy(float),
                   stats[(metric, "max")].to_numpy(float) - mean]
            ax.errorbar(x, mean, yerr=err, marker="o", capsize=3, label=_value(name))
            ax.set(xlabel=_name(parameter), ylabel=title, title=wrap(title, 30))
    values = pd.to_numeric(summary[parameter], errors="coerce").to_numpy(float)
    for ax, (metric, _, scale, unit) in zip(axes[0], panels, strict=True):
        if unit is None:  # quality: accuracy or perplexity, matplotlib's own labels
            ax.set_yscale(_scale(table[metric].to_numpy(float), scale))
        else:
            set_scale(ax, "y", table[metric].to_numpy(float), scale, unit)
        set_scale(ax, "x", values, "log" if _spans_decades(summary[parameter]) else "linear")
        ax.grid(alpha=0.3, which="both")
    if by:
        _legend(fig, axes[0, 0], 4.2 * len(panels))
    thin_tick_labels(fig)
    return fig


def _name(column: str) -> str:
    """A swept column as an axis label: ``strategy``, not ``strategy (swept)``."""
    return column.replace(" (swept)", "")


def heatmap_figure(summary: pd.DataFrame, rows: str, cols: str,
                   metric: str = "final_accuracy") -> Figure:
    """Mean ``metric`` over seeds on the grid of two swept parameters.

    Swept sections label their row or column short (``snake (distill=on)``), wrapped;
    the figure grows with the longest label, so nothing is clipped.
    """
    numbers = summary.assign(**{metric: _floats(summary[metric])})
    table = numbers.pivot_table(index=rows, columns=cols, values=metric, aggfunc="mean")
    xlabels = [wrap(_value(c), 18) for c in table.columns]
    ylabels = [wrap(_value(i), 24) for i in table.index]
    # Inches: about 14 characters of 8-point text per inch, 6 lines per inch.
    widest = max(len(line) for label in ylabels for line in label.splitlines())
    lines = max(label.count("\n") + 1 for label in xlabels)
    cell = max(1.2, max(len(line) for label in xlabels for line in label.splitlines()) / 12)
    fig, ax = subplots(figsize=(cell * len(table.columns) + widest / 14 + 2.5,
                                0.6 * len(table) + lines / 6 + 2.2))
    values = table.to_numpy(float)
    image = ax.imshow(values, cmap="viridis", aspect="auto")
    ax.set_xticks(range(len(table.columns)), xlabels, fontsize=8)
    ax.set_yticks(range(len(table.index)), ylabels, fontsize=8)
    middle = np.nanmean(values) if np.isfinite(values).any() else 0.0
    for (i, j), value in np.ndenumerate(values):
        # viridis is light at the top: dark text there, white on the dark end.
        ax.text(j, i, f"{value:.3g}", ha="center", va="center", fontsize=8,
                color="black" if value > middle else "white")
    ax.set(xlabel=_name(cols), ylabel=_name(rows))
    ax.set_title(wrap(f"mean {metric} over seeds", 40), fontsize=10)
    fig.colorbar(image, ax=ax)
    thin_tick_labels(fig)
    return fig


def _spans_decades(values: pd.Series) -> bool:
    numeric = pd.to_numeric(values, errors="coerce").dropna()
    return bool(len(numeric) and (numeric > 0).all() and numeric.max() / numeric.min() >= 100)
