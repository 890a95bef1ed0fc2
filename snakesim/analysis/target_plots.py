"""The cost-to-target figure of a sweep: time and bytes to reach its quality target.

Drawn when the sweep file has a ``target`` (its ``summary.parquet`` then has the
`snakesim.experiments.targets.TARGET_COLUMNS`). One line per series (the swept values
but the seed and the x parameter; the strategy when nothing else varies) against the
first numeric swept parameter, or one bar per series when no swept parameter is
numeric. A point is the mean over the seeds that reached the target; the error bar spans
their min to max. Runs that never reached it are not averaged in (their cost is not
finite): a point where only some seeds reached the target is labelled ``k/n``, and one
where none did is marked ``x`` on the axis, so a cheap arrival is never mistaken for a
sure one.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from snakesim.analysis.canvas import subplots

PANELS = (("time_to_target_s", "simulated time to target (s)"),
          ("bytes_to_target", "payload bytes to target"))


def has_target(summary: pd.DataFrame) -> bool:
    """Whether the sweep's summary holds costs to a target."""
    return "time_to_target_s" in summary and "target" in summary


def target_figure(summary: pd.DataFrame, swept: Sequence[str]) -> Figure:
    """Time and bytes to reach the sweep's target, per series, against a swept parameter.

    Parameters
    ----------
    summary : pandas.DataFrame
        The sweep's ``summary.parquet`` with the target columns.
    swept : sequence of str
        The swept columns (`snakesim.analysis.sweep_report.read_sweep`).

    Returns
    -------
    matplotlib.figure.Figure
        Two panels: simulated time and payload bytes to the target.
    """
    table = summary.assign(**{m: pd.to_numeric(summary[m], errors="coerce").astype(float)
                              for m, _ in PANELS})
    varied = [k for k in swept if k != "seed" and k in table and table[k].nunique() > 1]
    numeric = [k for k in varied if pd.to_numeric(table[k], errors="coerce").notna().all()]
    x_key = numeric[0] if numeric else None
    series_keys = [k for k in varied if k != x_key] or ["strategy"]
    table = table.assign(series=[_label(row, series_keys) for _, row in table.iterrows()])
    fig, axes = subplots(1, 2, figsize=(10, 4.2), squeeze=False)
    target = str(table["target"].iloc[0])
    reached = int(table["time_to_target_s"].notna().sum())
    fig.suptitle(f"cost to reach {target} ({reached} of {len(table)} runs reached it)",
                 fontsize=11)
    for ax, (metric, label) in zip(axes[0], PANELS, strict=True):
        if x_key is None:
            _bars(ax, table, metric)
        else:
            _lines(ax, table, x_key, metric)
        ax.set(ylabel=label, title=label)
        values = table[metric].to_numpy(float)
        if bool((np.isfinite(values) & (values > 0)).any()):
            ax.set_yscale("log")
        ax.grid(alpha=0.3, which="both")
    if x_key is not None:
        axes[0, 0].legend(fontsize=8)
    return fig


def _label(row: pd.Series, keys: Sequence[str]) -> str:
    parts = []
    for key in keys:
        value = str(row[key]).replace("'", "")
        if value.startswith("{") and value.endswith("}"):
            value = value[1:-1]  # a swept section, as YAML flow text
        name = key.replace(" (swept)", "").rsplit(".", 1)[-1]
        # A strategy names itself ("name: snake, mode: p2p"): no "strategy=" before it.
        parts.append(value if name == "strategy" else f"{name}={value}")
    return ", ".join(parts)


def _lines(ax: Axes, table: pd.DataFrame, x_key: str, metric: str) -> None:
    for name, group in table.groupby("series", sort=False):
        x, mean, low, high, notes = [], [], [], [], []
        for value, runs in group.groupby(x_key, sort=True):
            costs = runs[metric].dropna().to_numpy(float)
            x.append(float(str(value)))  # a numeric swept value, whatever its dtype
            notes.append(f"{len(costs)}/{len(runs)}" if len(costs) < len(runs) else "")
            if len(costs):
                mean.append(costs.mean())
                low.append(costs.mean() - costs.min())
                high.append(costs.max() - costs.mean())
            else:
                mean.append(np.nan)
                low.append(0.0)
                high.append(0.0)
        line = ax.errorbar(x, mean, yerr=[low, high], marker="o", capsize=3, label=name)
        colour = line.lines[0].get_color()
        for xi, yi, note in zip(x, mean, notes, strict=True):
            if note and np.isfinite(yi):
                ax.annotate(note, (xi, yi), textcoords="offset points", xytext=(4, 4),
                            fontsize=7, color=colour)
            elif note:  # no seed reached the target here
                ax.plot([xi], [0.02], marker="x", color=colour, markersize=8,
                        transform=ax.get_xaxis_transform(), clip_on=False)
    ax.set_xlabel(x_key)
    values = table[x_key].to_numpy(float)
    positive = values[values > 0]
    if len(positive) == len(values) and positive.max() / positive.min() >= 100:
        ax.set_xscale("log")


def _bars(ax: Axes, table: pd.DataFrame, metric: str) -> None:
    names = list(dict.fromkeys(table["series"]))
    for i, name in enumerate(names):
        runs = table[table["series"] == name]
        costs = runs[metric].dropna().to_numpy(float)
        if len(costs):
            ax.bar(i, costs.mean(), yerr=[[costs.mean() - costs.min()],
                                          [costs.max() - costs.mean()]], capsize=3)
            if len(costs) < len(runs):
                ax.annotate(f"{len(costs)}/{len(runs)}", (i, costs.mean()),
                            textcoords="offset points", xytext=(0, 4), ha="center",
                            fontsize=7)
        else:
            ax.annotate("not reached", (i, 0.02), xycoords=("data", "axes fraction"),
                        ha="center", rotation=90, fontsize=8)
    ax.set_xticks(range(len(names)), names, rotation=20, ha="right", fontsize=8)
