"""The ``snakesim`` command line: run, validate, schema, plot.

No traceback reaches a user. Errors a user can cause (`SnakesimError`), and failures of
the environment (out of memory, a full disk, a missing permission, a numeric overflow
from an extreme input value), are printed as one line per problem and exit with code 2;
Ctrl-C prints ``interrupted`` and exits 130. Anything else is a bug in snakesim: its
traceback is saved to a crash file (in ``$SNAKESIM_CRASH_DIR``, else the system's
temporary folder), one line names the file, and the exit code is 70.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from snakesim.errors import SnakesimError

if TYPE_CHECKING:
    from snakesim.config.schema import Scenario

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Simulate distributed learning over 6G networks, with real training.")
err = Console(stderr=True)
out = Console()

F = TypeVar("F", bound=Callable[..., Any])

INTERNAL_ERROR = 70  # EX_SOFTWARE (sysexits.h): a bug, not the user's input
# typer's (and click's) own exits and usage errors already say what they mean. Newer
# typers vendor click, so its ClickException is found from typer's public BadParameter.
_CLICK_ERROR = cast("type[Exception]", next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException"))
_PASS_THROUGH: tuple[type[Exception], ...] = (typer.Exit, typer.Abort, _CLICK_ERROR)


def _friendly(func: F) -> F:
    """Turn every failure of a command into one line and an exit code (module docstring)."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except _PASS_THROUGH:
            raise
        except KeyboardInterrupt:
            # Results are committed only when a run ends, so nothing half-written is left.
            err.print("interrupted", markup=False, highlight=False)
            raise typer.Exit(130) from None
        except Exception as error:
            lines, code = _explain(error, _command(func.__name__, kwargs.get("file")))
            for line in lines:
                err.print(line, markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


def _explain(error: Exception, command: _Command) -> tuple[list[str], int]:
    """The lines to print for ``error`` raised by ``command``, and the exit code."""
    if isinstance(error, SnakesimError):
        return [f"error: {line}" for line in str(error).splitlines()], error.exit_code
    detail = f"{type(error).__name__}: {_one_line(error)}"
    if _out_of_memory(error):
        return [f"error: out of memory in '{command.line}' ({detail}); give the process "
                "more memory, or shrink the model, the data or the number of nodes"], 2
    if isinstance(error, OSError):
        return [f"error: {_os_problem(error)}"], 2
    if isinstance(error, (OverflowError, FloatingPointError)):
        where = f"{command.file}: " if command.file else ""
        return [f"error: {where}numeric overflow from an extreme input value ({detail}); "
                "use values of a plausible magnitude"], 2
    return [_internal_error(error, command)], INTERNAL_ERROR


@dataclass(frozen=True)
class _Command:
    """The command that failed, for messages: ``snakesim run scenario.yaml``."""

    name: str
    file: str | None

    @property
    def line(self) -> str:
        return " ".join(p for p in ("snakesim", self.name, self.file) if p)


def _command(function: str, file: object) -> _Command:
    return _Command(function.replace("_", "-"), None if file is None else str(file))


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or "(no message)"


def _out_of_memory(error: Exception) -> bool:
    # torch reports a failed allocation as a RuntimeError (CPU) or its OutOfMemoryError.
    return (isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError"
            or (isinstance(error, RuntimeError) and "can't allocate memory" in str(error)))


def _os_problem(error: OSError) -> str:
    reason = error.strerror or _one_line(error)
    if error.filename is None:
        return reason
    where = str(error.filename)
    if error.filename2 is not None:
        where += f" -> {error.filename2}"
    return f"{where}: {reason}"


def _internal_error(error: Exception, command: _Command) -> str:
    """Save the traceback of a bug to a crash file; return the one line to print."""
    head = f"internal error: {type(error).__name__}: {_one_line(error)}"
    text = (f"snakesim internal error\ncommand: {command.line}\nargv: {sys.argv}\n"
            f"python: {sys.version.split()[0]} on {platform.platform()}\n\n"
            + "".join(traceback.format_exception(error)))
    try:
        path = _crash_file(text)
    except OSError as failure:
        return (f"{head} (the traceback could not be saved: {_os_problem(failure)}; please "
                "report it with the scenario file)")
    return f"{head} (traceback saved to {path}; please report it with the scenario file)"


def _crash_file(text: str) -> Path:
    folder = Path(os.environ.get("SNAKESIM_CRASH_DIR") or tempfile.gettempdir())
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"snakesim-crash-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    for attempt in range(1, 100):  # two crashes in one second of one process: -2, -3...
        path = folder / (f"{stem}.txt" if attempt == 1 else f"{stem}-{attempt}.txt")
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            continue
        return path
    raise FileExistsError(17, "too many crash files", str(folder / stem))


DEVICE_HELP = ("Where real training runs: auto (the first CUDA GPU, else the CPU), cpu, "
               "cuda, cuda:N or mps [default: the scenario's execution.device].")
BATCH_HELP = ("Batch independent client jobs: auto, off or a cap N [default: the "
              "scenario's execution.batch_clients].")


def _execution(device: str | None, batch_clients: str | None) -> dict[str, Any]:
    """The ``execution`` keys given on the command line (validated with the scenario)."""
    given: dict[str, Any] = {}
    if device is not None:
        given["device"] = device
    if batch_clients is not None:
        given["batch_clients"] = int(batch_clients) if batch_clients.isdigit() \
            else batch_clients
    return given


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
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    batch_clients: str | None = typer.Option(None, "--batch-clients", help=BATCH_HELP),
) -> None:
    """Run a scenario and write its results."""
    from snakesim.analysis.report import summary_table
    from snakesim.api import run as run_api
    from snakesim.config import load_scenario
    from snakesim.errors import ConfigurationError
    from snakesim.experiments.store import prepare_out

    scenario = load_scenario(file, seed=seed, execution=_execution(device, batch_clients))
    _warn(file, scenario)
    if cost_only:
        scenario = scenario.model_copy(update={"mode": "cost_only"})
    target = prepare_out(out_dir or Path("results") / scenario.name,
                         key="--out" if out_dir else "results folder")
    started = time.perf_counter()
    with _bar(quiet) as bar:
        task = bar.add_task(f"{scenario.name}: starting", total=None)

        def progress(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total,
                       description=f"{scenario.name}: {what}")

        try:
            result = run_api(scenario, out=target, threads=threads, on_progress=progress)
        except SnakesimError as error:
            # A valid file that cannot run as asked (a node out of memory, a stall): still
            # say which file, on every line.
            raise ConfigurationError("\n".join(f"{file}: {line}" for line in
                                                str(error).splitlines())) from None
    if not quiet:
        out.print(summary_table(result.summary))
        out.print(f"results in {target}/ (wall time {time.perf_counter() - started:.1f} s)")


def _warn(file: Path, scenario: Scenario) -> None:
    """Print the scenario's warnings (`snakesim.config.checks.scenario_warnings`)."""
    from snakesim.config.checks import scenario_warnings

    for line in scenario_warnings(scenario):
        err.print(f"warning: {file}: {line}", markup=False, highlight=False, soft_wrap=True)


@app.command()
@_friendly
def validate(files: list[Path] = typer.Argument(..., help="Scenario or sweep YAML "
                                                "files.")) -> None:
    """Check scenario and sweep files; print one located line per problem.

    A file with a ``base`` key and no ``strategy`` is a sweep: its base and every point
    are validated as full scenarios.
    """
    from snakesim.config import validate_scenario
    from snakesim.config.loading import read_yaml
    from snakesim.config.sweep import load_sweep
    from snakesim.errors import ScenarioError

    problems: list[str] = []
    for file in files:
        try:
            data = read_yaml(file)
            if "base" in data and "strategy" not in data:
                points = len(load_sweep(file).points)
                out.print(f"{file}: ok (a sweep of {points} points)")
                continue
            _warn(file, validate_scenario(data, str(file)))
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
    device: str | None = typer.Option(None, "--device", help=DEVICE_HELP),
    batch_clients: str | None = typer.Option(None, "--batch-clients", help=BATCH_HELP),
) -> None:
    """Run every point of a sweep (resuming: finished points are skipped)."""
    from snakesim.api import sweep as sweep_api
    from snakesim.config.sweep import load_sweep
    from snakesim.errors import ConfigurationError
    from snakesim.experiments.store import prepare_out
    from snakesim.experiments.sweep import distinct_points, sweep_failures

    if backend not in ("local", "ray"):
        raise ConfigurationError(f"--backend: must be local or ray (got {backend})")
    loaded = load_sweep(file, execution=_execution(device, batch_clients))
    target = prepare_out(out_dir or Path("results") / loaded.spec.name,
                         key="--out" if out_dir else "sweep folder")
    runs, duplicates = distinct_points(loaded)
    with _bar() as bar:
        task = bar.add_task(f"{loaded.spec.name}", total=len(runs))

        def progress(done: int, total: int, label: str) -> None:
            bar.update(task, completed=done, total=total,
                       description=f"{loaded.spec.name}: {label}")

        table = sweep_api(loaded, out=target, jobs=jobs, backend=backend, address=address,
                          on_progress=progress)
    out.print(f"{len(table)} of {len(runs)} runs finished; "
              f"summary in {target / 'summary.parquet'}")
    if duplicates:
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


def _bar(disable: bool = False) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=err, disable=disable, transient=True)


@app.command()
@_friendly
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
    except KeyboardInterrupt:  # outside a command (a command's own is in `_friendly`)
        err.print("interrupted", highlight=False)
        raise SystemExit(130) from None


if __name__ == "__main__":
    main()
