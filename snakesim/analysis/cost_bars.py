"""Cost bars of a sweep: what each point costs, for sweeps with no quality to plot.

Cost-only runs (``mode: cost_only``) measure memory, bytes, time and FLOPs but train
nothing; `cost_figure` draws those, one bar per point of the sweep.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from snakesim.analysis.axes import set_scale, thin_tick_labels, wrap
from snakesim.analysis.canvas import subplots
from snakesim.analysis.sweep_plots import _floats, _label, _spans_decades, series_keys

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
    labels = [wrap(_label(g.iloc[0], keys), 40) for _, g in groups]
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
        ax.set(xlabel=title, title=wrap(title, 28))
        set_scale(ax, "x", mean, "log" if _spans_decades(pd.Series(mean)) else "linear", unit)
        ax.set_xmargin(0.2)  # room for the value printed past each bar's end
        ax.grid(alpha=0.3, axis="x")
    axes[0, 0].set_yticks(rows, labels, fontsize=8)
    axes[0, 0].invert_yaxis()  # first point on top, as in the summary table
    fig.suptitle("Cost per point of the sweep")
    thin_tick_labels(fig)
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
