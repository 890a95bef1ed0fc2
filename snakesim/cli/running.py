"""Commands that run or check scenarios: ``run``, ``validate``, ``sweep``."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from snakesim.cli.app import (
    BATCH_HELP,
    DEVICE_HELP,
    _execution,
    _friendly,
    _warn,
    app,
    err,
    out,
)
from snakesim.cli.examples import scenario_file
from snakesim.cli.interrupts import terminate_as_interrupt
from snakesim.cli.progress import progress
from snakesim.errors import SnakesimError


@app.command()
@_friendly
def run(
    file: Path = typer.Argument(..., help="Scenario YAML file, or the name of a shipped "
                                "example (`snakesim examples`)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Results folder "
                                        "[default: results/<scenario name>]"),
    seed: int | None = typer.Option(None, "--seed", help="Override the scenario's seed."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar or summary."),
    threads: int = typer.Option(1, "--threads", min=1, help="PyTorch intra-op threads. "
                                "Small models train fastest on one; results do not change."),
    cost_only: bool = typer.Option(False, "--cost-only", help="Cost the run without "
                                   "training: the model on the meta device, no real step, "
                                   "quality not measured (mode: cost_only)."),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    batch_clients: str | None = typer.Option(None, "--batch-clients", help=BATCH_HELP),
) -> None:
    """Run a scenario and write its results."""
    from snakesim.analysis.report import exclusion_warning, nodes_table, summary_table
    from snakesim.api import run as run_api
    from snakesim.config import load_scenario
    from snakesim.errors import ConfigurationError
    from snakesim.experiments.store import prepare_out

    file = scenario_file(file)
    scenario = load_scenario(file, seed=seed, execution=_execution(device, batch_clients))
    _warn(file, scenario)
    if cost_only:
        scenario = scenario.model_copy(update={"mode": "cost_only"})
    target = prepare_out(out_dir or Path("results") / scenario.name,
                         key="--out" if out_dir else "results folder")
    started = time.perf_counter()
    # SIGTERM stops the run like Ctrl-C: the rounds that ended are kept (`interrupts`).
    with terminate_as_interrupt(), progress(scenario.name, err, quiet=quiet) as report:
        try:
            result = run_api(scenario, out=target, threads=threads, on_progress=report)
        except SnakesimError as error:
            # A valid file that cannot run as asked (a node out of memory, a stall): still
            # say which file, on every line.
            raise ConfigurationError("\n".join(f"{file}: {line}" for line in
                                                str(error).splitlines())) from None
    if not quiet:
        out.print(summary_table(result.summary))
        nodes = nodes_table(result.summary)
        if nodes is not None:
            out.print(nodes)
        out.print(f"results in {target}/ (wall time {time.perf_counter() - started:.1f} s)")
    # Printed even with --quiet: nodes left out change what the results mean.
    warning = exclusion_warning(result.summary, str(target))
    if warning is not None:
        err.print(f"warning: {file}: {warning}", markup=False, highlight=False,
                  soft_wrap=True)


@app.command()
@_friendly
def validate(files: list[Path] = typer.Argument(..., help="Scenario or sweep YAML "
                                                "files, or names of shipped examples.")
             ) -> None:
    """Check scenario and sweep files; print one located line per problem.

    A file with a ``base`` key and no ``strategy`` is a sweep: its base and every point
    are validated as full scenarios.
    """
    from snakesim.config import validate_scenario
    from snakesim.config.loading import read_yaml
    from snakesim.config.sweep import load_sweep
    from snakesim.errors import ConfigurationError, ScenarioError

    problems: list[str] = []
    for given in files:
        try:
            file = scenario_file(given)  # a shipped example's name becomes its file
            data = read_yaml(file)
            if "base" in data and "strategy" not in data:
                points = len(load_sweep(file).points)
                out.print(f"{file}: ok (a sweep of {points} points)")
                continue
            _warn(file, validate_scenario(data, str(file)))
            out.print(f"{file}: ok")
        except (ScenarioError, ConfigurationError) as error:
            problems.extend(str(error).splitlines())
    for line in problems:
        err.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(2)


@app.command()
@_friendly
def sweep(
    file: Path = typer.Argument(..., help="Sweep YAML file, or the name of a shipped "
                                "sweep (`snakesim examples`)."),
    out_dir: Path | None = typer.Option(None, "--out", help="Sweep folder "
                                        "[default: results/<sweep name>]"),
    jobs: int = typer.Option(1, "--jobs", "-j", min=1, help="Runs in parallel (processes)."),
    backend: str = typer.Option("local", "--backend", help="local | ray"),
    address: str | None = typer.Option(None, "--address", help="Ray cluster address "
                                       "[default: start a local Ray instance]"),
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    batch_clients: str | None = typer.Option(None, "--batch-clients", help=BATCH_HELP),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress or summary "
                               "lines (failures are still reported)."),
) -> None:
    """Run every point of a sweep (resuming: finished points are skipped)."""
    from snakesim.api import sweep as sweep_api
    from snakesim.config.sweep import load_sweep
    from snakesim.errors import ConfigurationError
    from snakesim.experiments.store import prepare_out
    from snakesim.experiments.sweep import distinct_points, sweep_failures

    if backend not in ("local", "ray"):
        raise ConfigurationError(f"--backend: must be local or ray (got {backend})")
    loaded = load_sweep(scenario_file(file), execution=_execution(device, batch_clients))
    target = prepare_out(out_dir or Path("results") / loaded.spec.name,
                         key="--out" if out_dir else "sweep folder")
    runs, duplicates = distinct_points(loaded)
    with progress(loaded.spec.name, err, quiet=quiet) as report:
        table = sweep_api(loaded, out=target, jobs=jobs, backend=backend, address=address,
                          on_progress=report)
    if not quiet:
        out.print(f"{len(table)} of {len(runs)} runs finished; "
                  f"summary in {target / 'summary.parquet'}")
    if duplicates and not quiet:
        out.print(f"{len(duplicates)} point(s) equal to another ran once (see "
                  f"{target / 'duplicates.json'})")
    failures = sweep_failures(loaded, target)
    for label, message in failures.items():
        err.print(f"failed: {label}: {message}", markup=False, highlight=False,
                  soft_wrap=True)
    if failures:
        err.print(f"{len(failures)} point(s) could not run (see failed.json in their "
                  "folders); running the sweep again retries them", markup=False)
        raise typer.Exit(1)
