"""Run a sweep: every point in its own folder, in parallel, resumable; one summary table.

Layout of the sweep folder ``DIR``: one sub-folder per point (the same layout as
``snakesim run``), named from the swept values, plus ``summary.parquet`` (one row per
run: the swept values as columns, then the run's summary, then, when the sweep file has
a ``target``, the cost of reaching it: `snakesim.experiments.targets.TARGET_COLUMNS`),
``sweep.yaml`` and, when some points are equal, ``duplicates.json``.

Resuming: a point whose folder holds a finished run of the same resolved scenario
(``scenario_sha256`` in its ``summary.json``) is skipped when the sweep runs again, so a
sweep interrupted by a crash or Ctrl-C resumes where it stopped and loses no finished
run. A folder whose run came from another scenario (the base file changed, or results
written before the hash was stored) is run again; the store replaces a run as a whole.

Equal points run once: points whose resolved scenarios are equal but for their
generated ``name`` (``training.lr: [1, 1.0]``) are one run, in the folder of the first;
``duplicates.json`` maps each other label to it. Progress, the summary table and the
failure list count runs, not duplicates.

A point that fails, for whatever reason, does not stop the sweep: its folder gets
``failed.json`` (see `snakesim.experiments.pool`), the other points run on, and the
failure is reported at the end (`sweep_failures`). A failed point is tried again when
the sweep is run again. Only Ctrl-C stops a sweep.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from snakesim.config.sweep import Sweep, SweepPoint
from snakesim.config.yamldump import dump_yaml
from snakesim.errors import ConfigurationError
from snakesim.experiments.pool import (
    FAILED,
    TRACEBACK,
    attempt_point,
    run_local,
    run_point,
    run_ray,
)
from snakesim.experiments.store import (
    atomic_write,
    prepare_out,
    read_summary,
    remove_temporaries,
    scenario_sha256,
    stored_sha256,
)
from snakesim.experiments.targets import run_cost_to_target

__all__ = ["FAILED", "TRACEBACK", "SweepProgress", "attempt_point", "distinct_points",
           "point_dir", "run_point", "run_sweep", "sweep_failures", "swept_column",
           "write_sweep_summary"]

SweepProgress = Callable[[int, int, str], None]
"""Called as ``(finished, total, label)`` after each point."""
DUPLICATES = "duplicates.json"
"""The sweep folder's map of duplicate point labels to the label of the run they share."""


def distinct_points(sweep: Sweep) -> tuple[list[SweepPoint], dict[str, str]]:
    """The points that run, and the duplicates: ``{duplicate label: run label}``.

    Two points are equal when their resolved scenarios are, the generated ``name``
    aside; the first of them in sweep order runs.
    """
    first: dict[str, SweepPoint] = {}
    duplicates: dict[str, str] = {}
    for point in sweep.points:
        key = scenario_sha256(point.scenario, ignore_name=True)
        if key in first:
            duplicates[point.label] = first[key].label
        else:
            first[key] = point
    return list(first.values()), duplicates


def point_dir(sweep: Sweep, out: Path, point: SweepPoint) -> Path:
    """The folder of ``point`` in the sweep folder ``out``, checked to be inside it.

    Raises
    ------
    ConfigurationError
        When the folder would resolve outside ``out`` (a symlink planted there).
    """
    folder = out / point.label
    resolved, root = folder.resolve(), out.resolve()
    try:
        inside = resolved.relative_to(root)
    except ValueError:
        inside = None
    if inside is None or len(inside.parts) != 1:
        raise ConfigurationError(f"{sweep.source}: point {point.label}: its folder "
                                 f"{resolved} is not inside the sweep folder {root}")
    return folder


def is_current(folder: Path, point: SweepPoint) -> bool:
    """Whether ``folder`` holds a finished run of exactly ``point``'s scenario."""
    return stored_sha256(folder) == scenario_sha256(point.scenario)


def run_sweep(sweep: Sweep, out: Path, *, jobs: int = 1, backend: str = "local",
              address: str | None = None,
              on_progress: SweepProgress | None = None) -> pd.DataFrame:
    """Run every point of ``sweep`` without a current result; write ``out/summary.parquet``.

    Parameters
    ----------
    sweep
        A loaded sweep (`snakesim.config.sweep.load_sweep`).
    out
        The sweep folder (created if needed).
    jobs
        Worker processes; 1 runs the points in this process. With Ray: the number of
        CPUs of a local Ray instance started for the sweep (ignored with ``address``).
    backend
        ``"local"`` (processes on this machine) or ``"ray"`` (a Ray cluster).
    address
        Ray cluster address (``ray://host:10001`` or ``auto``); None starts a local one.
    on_progress
        Optional progress callback; its total counts runs (duplicates run once).

    Returns
    -------
    pandas.DataFrame
        The summary table, one row per finished run in sweep order.
    """
    prepare_out(out, key="out")
    runs, duplicates = distinct_points(sweep)
    todo = [(p, point_dir(sweep, out, p)) for p in runs]  # every folder checked first
    remove_temporaries(out)
    atomic_write(out / "sweep.yaml", dump_yaml(
        {**sweep.spec.model_dump(mode="json"), "base": str(sweep.base_path)}, sort_keys=False))
    _record_duplicates(out, duplicates)
    todo = [job for job in todo if not is_current(job[1], job[0])]
    tally = _Tally(len(runs) - len(todo), len(runs), on_progress)
    if backend == "ray":
        run_ray(todo, jobs, address, tally.settle)
    elif jobs <= 1:
        for point, folder in todo:
            tally.settle(point, attempt_point(point.scenario, folder))
    else:
        run_local(todo, jobs, tally.settle, lambda job: is_current(job[1], job[0]))
    return write_sweep_summary(sweep, out)


class _Tally:
    """Counts settled points and reports progress."""

    def __init__(self, done: int, total: int, on_progress: SweepProgress | None) -> None:
        self.done, self.total, self.on_progress = done, total, on_progress
        if on_progress is not None:
            on_progress(done, total, f"{done} already finished" if done else "starting")

    def settle(self, point: SweepPoint, error: str | None) -> None:
        self.done += 1
        if self.on_progress is not None:
            self.on_progress(self.done, self.total, point.label)


def _record_duplicates(out: Path, duplicates: dict[str, str]) -> None:
    if duplicates:
        atomic_write(out / DUPLICATES, json.dumps(duplicates, indent=2) + "\n")
    else:
        (out / DUPLICATES).unlink(missing_ok=True)


def sweep_failures(sweep: Sweep, out: Path) -> dict[str, str]:
    """The runs of ``sweep`` without a current result in ``out``: label -> one-line error.

    A run that failed gives its recorded error (and where its traceback is); one that
    left no ``failed.json`` either (the file could not be written) says so.
    """
    failures = {}
    for point in distinct_points(sweep)[0]:
        folder = out / point.label
        if is_current(folder, point):
            continue
        failures[point.label] = _failure(folder)
    return failures


def _failure(folder: Path) -> str:
    try:
        record = json.loads((folder / FAILED).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "did not finish and left no failed.json (see the messages above)"
    message = str(record.get("error", "failed"))
    if record.get("traceback"):
        message += f" (traceback in {record['traceback']})"
    return message


def write_sweep_summary(sweep: Sweep, out: Path) -> pd.DataFrame:
    """Collect the current runs' summaries into ``out/summary.parquet``.

    Runs left from another scenario are not in it; nor is ``scenario_sha256``, which is
    bookkeeping, not a result. With a ``target`` in the sweep file, each row ends with
    the cost of reaching it (`snakesim.experiments.targets`); the target is not part of
    a run's identity, so changing it only rewrites this table.
    """
    rows = []
    for point in distinct_points(sweep)[0]:
        run_dir = out / point.label
        if not is_current(run_dir, point):
            continue
        summary = {key: _cell(value) for key, value in read_summary(run_dir).items()
                   if key != "scenario_sha256"}
        swept = {swept_column(key): _cell(point.values.get(
            key, point.scenario.seed if key == "seed" else None)) for key in sweep.swept_keys}
        row = {"point": point.index, "run_dir": point.label, **swept, **summary}
        if sweep.spec.target is not None:
            row.update(run_cost_to_target(run_dir, sweep.spec.target).columns())
        rows.append(row)
    frame: pd.DataFrame = pd.DataFrame(rows)
    atomic_write(out / "summary.parquet", frame)
    return frame


def swept_column(key: str) -> str:
    """The summary-table column of a swept key (renamed where a summary key has its name)."""
    return f"{key} (swept)" if key in _SUMMARY_KEYS else key


_SUMMARY_KEYS = {"strategy", "rounds", "scenario", "run_id"}


def _cell(value: Any) -> Any:
    # Parquet columns need one plain type: a swept mapping (a strategy section) or a
    # list (participating nodes) becomes YAML flow text.
    if isinstance(value, (dict, list)):
        return yaml.safe_dump(value, default_flow_style=True).strip()
    return value

