"""The ``snakesim`` command line's application, its consoles and its error handling.

No traceback reaches a user. Errors a user can cause (`SnakesimError`), and failures of
the environment (out of memory, a full disk, a missing permission, a numeric overflow
from an extreme input value), are printed as one line per problem and exit with code 2;
Ctrl-C prints ``interrupted`` (with where an interrupted run's partial results are) and
exits 130 (143 for SIGTERM during ``run``). Anything else is a bug in snakesim: its
traceback is saved to a crash file (in ``$SNAKESIM_CRASH_DIR``, else the system's
temporary folder), one line names the file, and the exit code is 70.
"""

from __future__ import annotations

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

from snakesim.cli.interrupts import exit_code, interrupted_line
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
        except KeyboardInterrupt as stop:
            # Results are committed whole (a run's partial results too), so nothing
            # half-written is left; the line says where an interrupted run's rounds are.
            err.print(interrupted_line(stop), markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(exit_code(stop)) from None
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


def _warn(file: Path, scenario: Scenario) -> None:
    """Print the scenario's warnings (`snakesim.config.checks.scenario_warnings`)."""
    from snakesim.config.checks import scenario_warnings

    for line in scenario_warnings(scenario):
        err.print(f"warning: {file}: {line}", markup=False, highlight=False, soft_wrap=True)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except KeyboardInterrupt:  # outside a command (a command's own is in `_friendly`)
        err.print("interrupted", highlight=False)
        raise SystemExit(130) from None

