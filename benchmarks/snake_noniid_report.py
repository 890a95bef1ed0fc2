"""The report of ``snake_noniid_ablation.py``: a Markdown table and cost-vs-accuracy plots.

Reads the JSON lines the ablation appends and writes, to the results folder:

- ``snake_noniid_ablation.md``: per data set and alpha, one row per variant: final
  accuracy, worst class, forgetting (per evaluation and per round), bytes and simulated
  time over the run, as mean ± std over the seeds that finished (n says how many);
- ``snake_noniid_<dataset>_alpha<alpha>.png``: mean accuracy after each round against
  cumulative bytes (left) and simulated time (right), one line per variant.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from statistics import mean, pstdev
from typing import Any

COLUMNS = ("final acc", "worst class", "forgetting/eval", "forgetting/round", "MB",
           "sim s", "n")


SUMMARY = ("snake", "snake_kd", "snake_best", "snake_best_sliding2", "snake_best_bytes",
           "fedavg", "fedprox", "splitfed", "central")
"""The variants of the summary table (the README's): Snake, the combinations, the
references; ``snake_best_sliding2`` is the ``noniid`` preset."""

SNAKE_PREFIXES = ("snake", "head", "lr", "local", "order", "kd", "window")
"""Variants that are Snake (solid lines); the references are dashed."""


def load(log: Path) -> list[dict[str, Any]]:
    """Every record of the log."""
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def pm(values: list[float], digits: int = 3) -> str:
    """``mean ± std`` (population std over seeds; a single seed shows no ±)."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{mean(values):.{digits}f} ± {pstdev(values):.{digits}f}"


def table(rows: list[dict[str, Any]]) -> list[str]:
    """Markdown lines of one (data set, alpha) block, best mean accuracy first."""
    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["variant"]].append(r)
    order = sorted(by, key=lambda v: -mean(r["final_accuracy"] for r in by[v]))
    lines = ["| variant | " + " | ".join(COLUMNS) + " |",
             "|---|" + "---:|" * len(COLUMNS)]
    for v in order:
        rs = by[v]
        cells = [pm([r["final_accuracy"] for r in rs]),
                 pm([min(r["per_class"]) for r in rs]),
                 pm([r["forgetting"] for r in rs]),
                 pm([r["forgetting_round"] for r in rs]),
                 pm([r["total_bytes"] / 1e6 for r in rs], 1),
                 pm([r["sim_time_s"] for r in rs], 1), str(len(rs))]
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    return lines


def summary(blocks: dict[tuple[str, float], list[dict[str, Any]]]) -> list[str]:
    """Markdown lines of the summary: final accuracy of the `SUMMARY` variants, one row
    per (data set, alpha); ``—``: not run."""
    lines = ["| data, alpha | " + " | ".join(f"`{v}`" for v in SUMMARY) + " |",
             "|---|" + "---|" * len(SUMMARY)]
    for (dataset, alpha), rs in sorted(blocks.items()):
        acc: dict[str, list[float]] = defaultdict(list)
        for r in rs:
            acc[r["variant"]].append(r["final_accuracy"])
        cells = [pm(acc[v]) if v in acc else "—" for v in SUMMARY]
        lines.append(f"| {dataset}, {alpha:g} | " + " | ".join(cells) + " |")
    return lines


def plot(rows: list[dict[str, Any]], path: Path, title: str) -> None:
    """Mean accuracy per round vs cumulative bytes and vs simulated time: the `SUMMARY`
    variants in colour (Snake solid, references dashed), single options thin and grey."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    by: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by[r["variant"]].append(r)
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 5.2), sharey=True,
                                   layout="constrained")
    colours = plt.get_cmap("tab10")
    handles = []
    # single options first, so that the summary's lines are drawn over them
    for v, rs in sorted(by.items(), key=lambda item: (item[0] in SUMMARY, item[0])):
        n = min(len(r["rounds"]) for r in rs)
        acc = [mean(r["rounds"][k]["accuracy"] for r in rs) for k in range(n)]
        mb = [mean(r["rounds"][k]["cum_bytes"] for r in rs) / 1e6 for k in range(n)]
        t = [mean(r["rounds"][k]["sim_time_s"] for r in rs) for k in range(n)]
        if v in SUMMARY:
            style = {"linestyle": "-" if v.startswith(SNAKE_PREFIXES) else "--",
                     "marker": ".", "color": colours(SUMMARY.index(v)), "linewidth": 1.8}
            handles.append(Line2D([], [], label=v, **style))
        else:
            style = {"linestyle": "-", "color": "0.75", "linewidth": 0.8}
        left.plot(mb, acc, **style)
        right.plot(t, acc, **style)
    if any(v not in SUMMARY for v in by):
        handles.append(Line2D([], [], color="0.75", linewidth=0.8,
                              label="single options, other widths (grey)"))
    left.set(xlabel="cumulative bytes sent (MB)", ylabel="test accuracy (mean over seeds)",
             xscale="log")
    right.set(xlabel="simulated time (s)", xscale="log")
    for ax in (left, right):
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=8,
               frameon=False)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_report(log: Path, folder: Path) -> Path:
    """Write the table and the plots of every (data set, alpha) in ``log``; return the
    table's path."""
    rows = load(log)
    blocks: dict[tuple[str, float], list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        blocks[(r["dataset"], float(r["alpha"]))].append(r)
    out = ["# Snake Learning under non-IID data: ablation (issue #16)", "",
           "Generated by `python benchmarks/snake_noniid_ablation.py --report` from "
           f"`{log.name}`. Mean ± std over seeds; 10 clients, Dirichlet(alpha); equal "
           "rounds (Snake: passes of the route). worst class: the final model's lowest "
           "per-class test accuracy. forgetting/eval: mean per-class fall between "
           "consecutive evaluations (Snake: every hop; others: every round); "
           "forgetting/round: the same between round ends.", "",
           "## Final accuracy, every data set and alpha", "", *summary(blocks), ""]
    for (dataset, alpha), rs in sorted(blocks.items()):
        out += [f"## {dataset}, Dirichlet alpha = {alpha:g}", "", *table(rs), ""]
        name = f"snake_noniid_{dataset}_alpha{alpha:g}.png"
        plot(rs, folder / name, f"{dataset}, Dirichlet({alpha:g}), 10 clients")
        out += [f"![{dataset} alpha {alpha:g}]({name})", ""]
    path = folder / "snake_noniid_ablation.md"
    path.write_text("\n".join(out))
    return path
