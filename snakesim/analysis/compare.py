"""One table of the key figures of separate runs (``snakesim compare``).

`compare_runs` reads each run folder's ``summary.json`` (and, with a quality target, its
tables) into one row per run, with plain numbers in base units: that is the CSV.
`display_rows` renders the same rows for people (SI prefixes, ``not reached``): that is
the terminal and Markdown table.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from snakesim.config.targets import QualityTarget
from snakesim.errors import ResultsError
from snakesim.experiments.store import SUMMARY, read_summary
from snakesim.experiments.targets import TARGET_COLUMNS, check_target, run_cost_to_target
from snakesim.units import Dimension, format_quantity

COLUMNS = ("run", "strategy", "scenario", "seed", "rounds", "metric", "final_accuracy",
           "final_perplexity", "total_bytes", "sim_time_s", "energy_j", "total_flops",
           "max_node_peak_memory_bytes")
"""The columns of every comparison, before the `TARGET_COLUMNS` of a target."""

_FAILED = "failed.json"  # written by a sweep point that failed (experiments.pool)


def run_problem(run_dir: Path) -> str | None:
    """Why ``run_dir`` is not a finished run folder, in one line; None when it is one."""
    if not run_dir.exists():
        return f"{run_dir}: no such folder"
    if not run_dir.is_dir():
        return f"{run_dir}: is a file, not a run folder"
    if (run_dir / "summary.parquet").is_file():
        return (f"{run_dir}: is a sweep folder, not a run: compare its runs "
                f"({run_dir}/*/), or see its summary.parquet")
    if (run_dir / _FAILED).is_file() and not (run_dir / SUMMARY).is_file():
        return f"{run_dir}: a run that failed (see {run_dir / _FAILED})"
    try:
        read_summary(run_dir)
    except ResultsError as error:
        if not (run_dir / SUMMARY).is_file():
            return (f"{run_dir}: not a run folder (no summary.json: not written by "
                    "'snakesim run', or the run did not finish)")
        return str(error)
    return None


def compare_runs(run_dirs: Sequence[Path], target: QualityTarget | None = None,
                 ) -> pd.DataFrame:
    """The comparison table: one row per run, `COLUMNS` (and `TARGET_COLUMNS`).

    Parameters
    ----------
    run_dirs
        Folders written by ``snakesim run`` (or the point folders of a sweep).
    target
        A quality target; adds the cost of reaching it (NaN where never reached).

    Returns
    -------
    pandas.DataFrame
        Plain numbers in base units (bytes, seconds, joules, FLOPs); NaN where a run
        measured no such value (a classifier's perplexity, a cost-only run's quality).

    Raises
    ------
    ResultsError
        One line per folder that is not a finished run, or whose run cannot meet
        ``target`` (a language model run and an accuracy target, a cost-only run),
        before anything is computed.
    """
    problems = [p for p in map(run_problem, run_dirs) if p]
    if not problems and target is not None:
        problems = [p for d in run_dirs if (p := check_target(d, read_summary(d), target))]
    if problems:
        raise ResultsError("\n".join(problems))
    names = _names(run_dirs)
    rows = []
    for name, run_dir in zip(names, run_dirs, strict=True):
        summary = read_summary(run_dir)
        row: dict[str, Any] = {"run": name, **{key: _value(summary, key)
                                               for key in COLUMNS[1:]}}
        row["metric"] = summary.get("metric") or "accuracy"
        if target is not None:
            row.update(run_cost_to_target(run_dir, target).columns())
        rows.append(row)
    columns = [*COLUMNS, *(TARGET_COLUMNS if target is not None else ())]
    frame: pd.DataFrame = pd.DataFrame(rows, columns=columns)
    return frame


def _names(run_dirs: Sequence[Path]) -> list[str]:
    """Each run's folder name; the path as given where two folders share a name."""
    counts = Counter(d.resolve().name or str(d) for d in run_dirs)
    return [d.resolve().name if counts[d.resolve().name] == 1 else str(d) for d in run_dirs]


def _value(summary: dict[str, Any], key: str) -> Any:
    value = summary.get(key)
    if key in ("strategy", "scenario", "metric"):
        return "" if value is None else str(value)
    return math.nan if value is None else value


_DISPLAY: tuple[tuple[str, str, Dimension | str], ...] = (
    ("run", "run", "text"), ("strategy", "strategy", "text"),
    ("scenario", "scenario", "text"), ("seed", "seed", "int"), ("rounds", "rounds", "int"),
    ("final_accuracy", "final accuracy", "fraction"),
    ("final_perplexity", "final perplexity", "number"),
    ("total_bytes", "payload bytes", Dimension.SIZE),
    ("sim_time_s", "simulated time", Dimension.TIME),
    ("energy_j", "energy", Dimension.ENERGY), ("total_flops", "FLOPs", "number"),
    ("max_node_peak_memory_bytes", "peak memory", Dimension.SIZE),
    ("target_round", "reached at round", "round"),
    ("time_to_target_s", "time to target", Dimension.TIME),
    ("bytes_to_target", "bytes to target", Dimension.SIZE),
    ("energy_to_target_j", "energy to target", Dimension.ENERGY),
    ("flops_to_target", "FLOPs to target", "number"),
)


def display_rows(table: pd.DataFrame) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of ``table`` for people: SI prefixes, ``not reached``, ``—``.

    The perplexity column is left out when no run measured perplexity; the target
    columns say ``not reached`` where a run never met the target, and the round names
    the step too where it is not 0 (a Snake hop: ``2 (step 1)``).
    """
    shown = [(key, header, kind) for key, header, kind in _DISPLAY if key in table
             and not (key == "final_perplexity" and not table[key].notna().any())]
    cells = [[_cell(row, key, kind) for key, _, kind in shown]
             for _, row in table.iterrows()]
    return [header for _, header, _ in shown], cells


def _cell(row: pd.Series, key: str, kind: Dimension | str) -> str:
    value = row[key]
    if kind == "text":
        return str(value)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "not reached" if key in TARGET_COLUMNS else "—"
    if kind == "int":
        return str(int(value))
    if kind == "round":
        step = row.get("target_step", 0.0)
        return f"{int(value)} (step {int(step)})" if step and step == step else str(int(value))
    if kind == "fraction":
        return f"{float(value):.4f}"
    if kind == "number":
        return f"{float(value):.3g}"
    assert isinstance(kind, Dimension)
    return format_quantity(float(value), kind)


def markdown_table(headers: Sequence[str], cells: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table (``|`` in a cell escaped)."""
    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.replace("|", "\\|") for v in values) + " |"

    rule = "|" + "|".join("---" if i < 3 else "---:" for i in range(len(headers))) + "|"
    return "\n".join([line(headers), rule, *(line(row) for row in cells)]) + "\n"
