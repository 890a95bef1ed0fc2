"""The Python API: run scenarios and sweeps and load their results without the CLI.

    import snakesim
    result = snakesim.run("scenarios/quickstart.yaml", out="results/quickstart")
    result.summary["final_accuracy"], result.frames["rounds"]
    table = snakesim.sweep("scenarios/sweeps/heterogeneity.yaml", jobs=2)
    run = snakesim.load_run("results/quickstart")      # summary + every table
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from snakesim.config import Scenario, load_scenario
from snakesim.config.sweep import Sweep, load_sweep
from snakesim.errors import RunInterrupted
from snakesim.experiments.run import RunResult, run_scenario
from snakesim.experiments.store import TABLES, prepare_out, read_summary, read_table, write_run
from snakesim.experiments.sweep import SweepProgress, run_sweep
from snakesim.sim.world import ProgressCallback


def run(scenario: Scenario | str | Path, *, out: str | Path | None = None,
        seed: int | None = None, threads: int | None = None,
        on_progress: ProgressCallback | None = None) -> RunResult:
    """Run a scenario (a file or a `Scenario`) and optionally write its results.

    Parameters
    ----------
    scenario
        A scenario file path, or an already validated `Scenario`.
    out
        Results folder to write (as ``snakesim run --out``); nothing is written if None.
        It is created and checked to be writable before the run starts.
    seed
        Replaces the scenario's seed.
    threads
        PyTorch intra-op threads for this run (small models train fastest on one;
        results do not change), restored afterwards; None leaves PyTorch's setting alone.
    on_progress
        Optional ``(done, total, description)`` callback.

    Raises
    ------
    snakesim.errors.ResultsError
        Before anything runs, when ``out`` is a file or cannot be created or written.
    snakesim.errors.RunInterrupted
        On Ctrl-C during the simulation; the rounds that had ended are first written to
        ``out`` (if given) with ``interrupted: true`` in the summary, and the error's
        ``written`` names the folder.
    """
    if isinstance(scenario, Scenario):
        spec = scenario if seed is None else scenario.model_copy(update={"seed": seed})
    else:
        spec = load_scenario(scenario, seed=seed)
    target = prepare_out(out, key="out") if out is not None else None
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        result = run_scenario(spec, on_progress=on_progress)
    except RunInterrupted as stop:
        # The rounds that ended are committed like any run (never half a table); the
        # summary says interrupted, and the interrupt goes on.
        if target is not None and stop.partial is not None:
            write_run(target, spec, stop.partial.summary, stop.partial.frames)
            stop.written = target
        raise
    finally:
        torch.set_num_threads(previous)
    if target is not None:
        write_run(target, spec, result.summary, result.frames)
    return result


def sweep(file: str | Path | Sweep, *, out: str | Path | None = None, jobs: int = 1,
          backend: str = "local", address: str | None = None,
          on_progress: SweepProgress | None = None) -> pd.DataFrame:
    """Run (or resume) a sweep file (or one already loaded); return its summary table
    (one row per point).

    ``out`` defaults to ``results/<sweep name>/``; ``backend="ray"`` runs the points on
    a Ray cluster (``address``) or a local Ray instance (see `run_sweep`). ``out`` is
    created and checked to be writable before any point runs. Points that fail are left
    out of the table, with ``failed.json`` in their folder
    (`snakesim.experiments.sweep.sweep_failures` lists them); equal points run once.
    """
    loaded = file if isinstance(file, Sweep) else load_sweep(file)
    target = prepare_out(out if out is not None else Path("results") / loaded.spec.name,
                         key="out")
    return run_sweep(loaded, target, jobs=jobs, backend=backend, address=address,
                     on_progress=on_progress)


@dataclass(frozen=True)
class LoadedRun:
    """A finished run read back from its folder."""

    path: Path
    summary: dict[str, Any]
    frames: dict[str, pd.DataFrame]


def load_run(path: str | Path) -> LoadedRun:
    """Read a run folder's summary and every result table."""
    run_dir = Path(path)
    return LoadedRun(run_dir, read_summary(run_dir),
                     {name: read_table(run_dir, name) for name in TABLES})


def load_sweep_summary(path: str | Path) -> pd.DataFrame:
    """Read a sweep folder's ``summary.parquet``."""
    from snakesim.errors import ResultsError

    file = Path(path) / "summary.parquet"
    if not file.is_file():
        raise ResultsError(f"{path}: not a sweep folder (no summary.parquet)")
    return pd.read_parquet(file)
