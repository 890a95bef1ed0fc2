"""Cost-versus-accuracy figures from stored runs (reads result tables only)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never needs a display

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.axes import Axes

from snakesim.experiments.store import read_summary, read_table


def plot_runs(run_dirs: Sequence[Path], out: Path) -> Path:
    """Draw accuracy against cumulative bytes and against simulated time, one line per run.

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
    fig, (by_bytes, by_time) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for run_dir in run_dirs:
        summary = read_summary(run_dir)
        rounds = read_table(run_dir, "rounds")
        label = f"{summary['strategy']} · {summary['run_id']}"
        _line(by_bytes, rounds["cum_total_bytes"] / 1e6, rounds, label)
        _line(by_time, rounds["sim_time_s"], rounds, label)
    by_bytes.set(xlabel="cumulative payload bytes (MB)", ylabel="test accuracy",
                 title="Accuracy vs communication")
    by_time.set(xlabel="simulated time (s)", ylabel="test accuracy",
                title="Accuracy vs simulated time")
    for ax in (by_bytes, by_time):
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1)
        ax.legend(fontsize=8, loc="lower right")
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _line(ax: Axes, x: pd.Series, rounds: pd.DataFrame, label: str) -> None:
    ax.plot(x, rounds["accuracy"], marker=".", markersize=3, linewidth=1.2, label=label)
