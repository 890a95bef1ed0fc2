"""The ``snakesim`` command line: run, validate, schema, plot.

Errors a user can cause are printed as one line per problem, without a traceback, and
exit with code 2.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from snakesim.errors import SnakesimError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Simulate distributed learning over 6G networks, with real training.")
err = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])


def _friendly(func: F) -> F:
    """Print `SnakesimError`s as located one-liners and exit 2, with no traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except SnakesimError as error:
            for line in str(error).splitlines():
                err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(error.exit_code) from None

    return wrapper  # type: ignore[return-value]


@app.command()
@_friendly
def run(
    file: Path = typer.Argument(..., help="Scenario YAML file."),
    out_dir: Path | None = typer.Option(None, "--out", help="Results folder "
                                        "[default: results/<scenario name>]"),
    seed: int | None = typer.Option(None, "--seed", help="Override the scenario's seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    threads: int = typer.Option(1, "--threads", min=1, help="PyTorch intra-op threads. "
                                "Small models train fastest on one; results do not change."),
    cost_only: bool = typer.Option(False, "--cost-only", help="Cost the run without "
                                   "training: the model on the meta device, no real step, "
                                   "quality not measured (mode: cost_only)."),
) -> None:
    """Run a scenario and write its results."""
    import torch

    torch.set_num_threads(threads)
    from snakesim.analysis.report import summary_table
    from snakesim.config import load_scenario
    from snakesim.errors import ConfigurationError
    from snakesim.experiments import run_scenario, write_run

    scenario = load_scenario(file, seed=seed)
    if cost_only:
        scenario = scenario.model_copy(update={"mode": "cost_only"})
    target = out_dir or Path("results") / scenario.name
    started = time.perf_counter()
    with _bar(quiet) as bar:
        task = bar.add_task(f"{scenario.name}: starting", total=None)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total,
                       description=f"{scenario.name}: {what}")

        try:
            result = run_scenario(scenario, on_progress=progress)
        except ConfigurationError as error:
            # A valid file that cannot run as asked: still say which file.
            raise ConfigurationError(f"{file}: {error}") from None
    write_run(target, scenario, result.summary, result.frames)
    if not quiet:
        out.print(summary_table(result.summary))
        out.print(f"results in {target}/ (wall time {time.perf_counter() - started:.1f} s)")


@app.command()
@_friendly
def validate(files: list[Path] = typer.Argument(..., help="Scenario YAML files.")) -> None:
    """Check scenario files; print one located line per problem."""
    from snakesim.config import load_scenario
    from snakesim.errors import ScenarioError

    problems: list[str] = []
    for file in files:
        try:
            load_scenario(file)
            out.print(f"{file}: ok")
        except ScenarioError as error:
            problems.extend(str(error).splitlines())
    for line in problems:
        err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(2)


@app.command()
@_friendly
def sweep(
    file: Path = typer.Argument(..., help="Sweep YAML file."),
    out_dir: Path | None = typer.Option(None, "--out", help="Sweep folder "
                                        "[default: results/<sweep name>]"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Runs in parallel (processes)."),
    backend: str = typer.Option("local", "--backend", help="local | ray"),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address "
                                       "[default: start a local Ray instance]"),
) -> None:
    """Run every point of a sweep (resuming: finished points are skipped)."""
    from snakesim.config.sweep import load_sweep
    from snakesim.errors import ConfigurationError
    from snakesim.experiments.sweep import run_sweep, sweep_failures

    if backend not in ("local", "ray"):
        raise ConfigurationError(f"--backend: must be local or ray (got {backend})")
    loaded = load_sweep(file)
    target = out_dir or Path("results") / loaded.spec.name
    with _bar() as bar:
        task = bar.add_task(f"{loaded.spec.name}", total=len(loaded.points))

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total,
                       description=f"{loaded.spec.name}: {label}")

        table = run_sweep(loaded, target, jobs=jobs, backend=backend, address=address,
                          on_progress=progress)
    out.print(f"{len(table)} of {len(loaded.points)} runs finished; "
              f"summary in {target / 'summary.parquet'}")
    failures = sweep_failures(loaded, target)
    for label, message in failures.items():
        err.print(f"failed: {label}: {message}", markup=False, highlight=False,
                  soft_wrap=True)
    if failures:
        err.print(f"{len(failures)} point(s) could not run (see failed.json in their "
                  "folders); running the sweep again retries them", markup=False)
        raise typer.Exit(1)


def _bar(disable: bool = False) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, disable=disable, transient=True)


@app.command()
def schema() -> None:
    """Print the scenario JSON Schema (for editor autocompletion)."""
    from snakesim.config import Scenario

    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


@app.command()
@_friendly
def plot(
    dirs: list[Path] = typer.Argument(..., help="Run folders written by 'snakesim run', "
                                      "or one sweep folder written by 'snakesim sweep'."),
    out_file: Path | None = typer.Option(None, "--out", help="Runs: the PNG file "
                                         "[default: <first run>/accuracy.png]. Sweep: the "
                                         "folder for its figures [default: <sweep>/figures]."),
    timeline: bool = typer.Option(False, "--timeline", help="Gantt chart of one run: node "
                                  "and link busy/down intervals [default: "
                                  "<run>/timeline.png]."),
) -> None:
    """Plot accuracy against cumulative bytes and simulated time (runs or a sweep)."""
    if timeline:
        from snakesim.analysis.timeline import plot_timeline

        for run_dir in dirs:
            target = out_file if out_file and len(dirs) == 1 else run_dir / "timeline.png"
            out.print(f"wrote {plot_timeline(run_dir, target)}")
        return
    if len(dirs) == 1 and (dirs[0] / "summary.parquet").is_file():
        from snakesim.analysis.sweep_report import plot_sweep

        for path in plot_sweep(dirs[0], out_file):
            out.print(f"wrote {path}")
        return
    from snakesim.analysis.plots import plot_runs

    target = out_file or dirs[0] / "accuracy.png"
    out.print(f"wrote {plot_runs(dirs, target)}")


@app.command()
@_friendly
def report(
    sweep_dir: Path = typer.Argument(..., help="Sweep folder written by 'snakesim sweep'."),
    out_file: Path | None = typer.Option(None, "--out", help="HTML file "
                                         "[default: <sweep>/report.html]"),
) -> None:
    """Write one self-contained HTML page: figures, summary table, base scenario."""
    from snakesim.analysis.sweep_report import write_report

    out.print(f"wrote {write_report(sweep_dir, out_file)}")


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:
        # Results are written only when a run ends, so nothing half-written is left.
        err.print("interrupted", highlight=False)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
