"""Run a sweep: every point in its own folder, in parallel, resumable; one summary table.

Layout of the sweep folder ``DIR``: one sub-folder per point (the same layout as
``snakesim run``), named from the swept values, plus ``summary.parquet`` (one row per
point: the swept values as columns, then the run's summary). A point whose folder holds
``summary.json`` is finished and is skipped when the same sweep runs again, so a sweep
interrupted by a crash or Ctrl-C resumes where it stopped and loses no finished run;
``summary.json`` is written last and atomically, so a half-written run never counts.

A point that cannot run as asked (a `SnakesimError`: a node without the memory a scheme
needs, a data set too small for its partition, ...) does not stop the sweep: its folder
gets ``failed.json`` (the point and the one-line error), the other points run on, and
the failure is reported at the end (`sweep_failures`). A failed point is tried again
when the sweep is run again. Any other exception (a bug, Ctrl-C) stops the sweep.
"""

from __future__ import annotations

import json
import multiprocessing
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import pandas as pd
import torch
import yaml

from snakesim.config.loading import validate_scenario
from snakesim.config.schema import Scenario
from snakesim.config.sweep import Sweep, SweepPoint
from snakesim.errors import MissingDependencyError, SnakesimError
from snakesim.experiments.run import run_scenario
from snakesim.experiments.store import atomic_write, read_summary, write_run

SweepProgress = Callable[[int, int, str], None]
"""Called as ``(finished, total, label)`` after each point."""


def run_point(scenario: Scenario | dict[str, Any], out: Path,
              threads: int = 1) -> dict[str, Any]:
    """Run one point into ``out`` and return its summary (used in worker processes).

    Workers get the scenario as plain data and validate it again: parametrised pydantic
    models (the node distributions) cannot be pickled.
    """
    torch.set_num_threads(threads)
    if not isinstance(scenario, Scenario):
        scenario = validate_scenario(scenario)
    result = run_scenario(scenario)
    write_run(out, scenario, result.summary, result.frames)
    return result.summary


def attempt_point(scenario: Scenario | dict[str, Any], out: Path,
                  threads: int = 1) -> str | None:
    """Run one point; on a `SnakesimError` write ``out/failed.json`` and return the error.

    Returns None when the point finished. Runs in worker processes too: the error comes
    back as text, so every backend sees the same thing.
    """
    (out / FAILED).unlink(missing_ok=True)
    try:
        run_point(scenario, out, threads)
    except SnakesimError as error:
        message = " ".join(str(error).split())
        out.mkdir(parents=True, exist_ok=True)
        atomic_write(out / FAILED, json.dumps({"point": out.name, "error": message}))
        return message
    return None


FAILED = "failed.json"
"""The file a point's folder gets when the point could not run."""


def sweep_failures(sweep: Sweep, out: Path) -> dict[str, str]:
    """The points of ``sweep`` that failed in ``out``: label -> one-line error."""
    failures = {}
    for point in sweep.points:
        path = out / point.label / FAILED
        if path.is_file() and not (out / point.label / "summary.json").is_file():
            failures[point.label] = str(json.loads(path.read_text())["error"])
    return failures


def run_sweep(sweep: Sweep, out: Path, *, jobs: int = 1, backend: str = "local",
              address: str | None = None,
              on_progress: SweepProgress | None = None) -> pd.DataFrame:
    """Run every unfinished point of ``sweep`` and write ``out/summary.parquet``.

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
        Optional progress callback.

    Returns
    -------
    pandas.DataFrame
        The summary table, one row per point in sweep order.
    """
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "sweep.yaml", yaml.safe_dump(
        {**sweep.spec.model_dump(mode="json"), "base": str(sweep.base_path)}, sort_keys=False))
    todo = [p for p in sweep.points if not (out / p.label / "summary.json").is_file()]
    done = len(sweep.points) - len(todo)
    total = len(sweep.points)
    if on_progress is not None:
        on_progress(done, total, f"{done} already finished" if done else "starting")
    if backend == "ray":
        _run_ray(todo, out, jobs, address, done, total, on_progress)
    elif jobs <= 1:
        for point in todo:
            attempt_point(point.scenario, out / point.label)
            done += 1
            if on_progress is not None:
                on_progress(done, total, point.label)
    else:
        _run_parallel(todo, out, jobs, done, total, on_progress)
    return write_sweep_summary(sweep, out)


def _run_parallel(todo: list[SweepPoint], out: Path, jobs: int, done: int, total: int,
                  on_progress: SweepProgress | None) -> None:
    # 'spawn' gives each worker a clean interpreter: no forked torch thread pools.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        pending: dict[Future[str | None], SweepPoint] = {
            pool.submit(attempt_point, _plain(p.scenario), out / p.label): p for p in todo}
        try:
            while pending:
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    point = pending.pop(future)
                    future.result()  # re-raise a worker's error here
                    done += 1
                    if on_progress is not None:
                        on_progress(done, total, point.label)
        except BaseException:
            for future in pending:
                future.cancel()
            raise


def _run_ray(todo: list[SweepPoint], out: Path, jobs: int, address: str | None, done: int,
             total: int, on_progress: SweepProgress | None) -> None:
    try:
        import ray
    except ImportError:
        raise MissingDependencyError("ray", "ray", "--backend ray") from None
    started = not ray.is_initialized()
    if started:
        if address is None:
            ray.init(num_cpus=jobs, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    try:
        remote = ray.remote(num_cpus=1)(attempt_point)
        # Paths are absolute so that workers on other hosts of a shared file system
        # write where this process will look.
        pending = {remote.remote(_plain(p.scenario), (out / p.label).resolve()): p
                   for p in todo}
        while pending:
            finished, _ = ray.wait(list(pending), num_returns=1)
            for ref in finished:
                point = pending.pop(ref)
                ray.get(ref)  # re-raise a worker's error here
                done += 1
                if on_progress is not None:
                    on_progress(done, total, point.label)
    finally:
        if started:
            ray.shutdown()


def write_sweep_summary(sweep: Sweep, out: Path) -> pd.DataFrame:
    """Collect the finished points' summaries into ``out/summary.parquet``."""
    rows = []
    for point in sweep.points:
        run_dir = out / point.label
        if not (run_dir / "summary.json").is_file():
            continue
        summary = {key: _cell(value) for key, value in read_summary(run_dir).items()}
        swept = {swept_column(key): _cell(point.values.get(
            key, point.scenario.seed if key == "seed" else None)) for key in sweep.swept_keys}
        rows.append({"point": point.index, "run_dir": point.label, **swept, **summary})
    frame: pd.DataFrame = pd.DataFrame(rows)
    atomic_write(out / "summary.parquet", frame)
    return frame


def _plain(scenario: Scenario) -> dict[str, Any]:
    data: dict[str, Any] = scenario.model_dump(mode="json")
    return data


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
