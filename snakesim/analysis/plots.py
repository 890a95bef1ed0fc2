"""Cost-versus-accuracy figures from stored runs (reads result tables only)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from snakesim.analysis.canvas import subplots
from snakesim.experiments.store import read_summary, read_table


def plot_runs(run_dirs: Sequence[Path], out: Path) -> Path:
    """Draw accuracy (perplexity for LMs) against cumulative bytes and simulated time.

    Parameters
    ----------
    run_dirs
        Folders written by ``snakesim run``.
    out
        The PNG file to write (its folder is created).

    Returns
    -------
    Path
        ``out``.
    """
    fig = runs_figure(run_dirs)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    return out


def runs_figure(run_dirs: Sequence[Path]) -> Figure:
    """The figure `plot_runs` writes: quality against bytes and simulated time."""
    fig, (by_bytes, by_time) = subplots(1, 2, figsize=(11, 4.2))
    summaries = [read_summary(d) for d in run_dirs]
    # Language models are judged by held-out perplexity (lower is better), classifiers
    # by accuracy; a figure mixing both shows accuracy (next-token for LMs).
    metric = ("perplexity" if summaries and all(s.get("metric") == "perplexity"
                                                  for s in summaries) else "accuracy")
    for run_dir, summary in zip(run_dirs, summaries, strict=True):
        rounds = read_table(run_dir, "rounds")
        label = f"{summary['strategy']} · {summary['run_id']}"
        _line(by_bytes, rounds["cum_total_bytes"] / 1e6, rounds, label, metric)
        _line(by_time, rounds["sim_time_s"], rounds, label, metric)
    name = "held-out perplexity" if metric == "perplexity" else "test accuracy"
    title = metric.capitalize()
    by_bytes.set(xlabel="cumulative payload bytes (MB)", ylabel=name,
                 title=f"{title} vs communication")
    by_time.set(xlabel="simulated time (s)", ylabel=name, title=f"{title} vs simulated time")
    for ax in (by_bytes, by_time):
        ax.grid(alpha=0.3)
        if metric == "perplexity":
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, 1)
        ax.legend(fontsize=8, loc="upper right" if metric == "perplexity" else "lower right")
    return fig


def _line(ax: Axes, x: pd.Series, rounds: pd.DataFrame, label: str,
          metric: str = "accuracy") -> None:
    ax.plot(x, rounds[metric], marker=".", markersize=3, linewidth=1.2, label=label)
