"""Progress of ``snakesim run`` and ``snakesim sweep``: a bar on a terminal, lines elsewhere.

On a terminal, a rich bar with the count, elapsed time and ETA (it disappears at the
end). Anywhere else (CI, a notebook, ``nohup``, a pipe) a bar would print nothing
useful, so plain lines are logged instead: one at each further tenth of the work and
at least every ``interval`` seconds while it goes on, such as
``quickstart: round 3/10, 30%, elapsed 12 s, ETA 28 s``. ``quiet`` prints nothing.

Which one is chosen follows the console: rich's ``is_terminal`` (so ``FORCE_COLOR``,
``TTY_COMPATIBLE`` and the like apply). ``SNAKESIM_PROGRESS=bar|lines|off`` overrides it;
``SNAKESIM_PROGRESS_INTERVAL`` (seconds, default 30) sets the longest silence between
lines (0: a line for every report).
Times come from a monotonic clock; they are shown, never stored in results.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from snakesim.errors import ConfigurationError

MODES = ("bar", "lines", "off")
ENV = "SNAKESIM_PROGRESS"
INTERVAL_ENV = "SNAKESIM_PROGRESS_INTERVAL"
INTERVAL_S = 30.0
"""Default longest silence between two progress lines."""


class Reporter(Protocol):
    """Called as ``(done, total, what)`` (the strategies' and sweeps' callback)."""

    def __call__(self, done: int, total: int, what: str) -> None: ...


def progress_mode(console: Console, quiet: bool = False) -> str:
    """``off`` when quiet, else ``$SNAKESIM_PROGRESS``, else ``bar`` on a terminal and
    ``lines`` elsewhere.

    Raises
    ------
    ConfigurationError
        When ``$SNAKESIM_PROGRESS`` is set to something else than bar, lines or off.
    """
    if quiet:
        return "off"
    chosen = os.environ.get(ENV, "").strip().lower()
    if chosen:
        if chosen not in MODES:
            raise ConfigurationError(f"${ENV}: must be bar, lines or off (got {chosen})")
        return chosen
    return "bar" if console.is_terminal else "lines"


def progress_interval() -> float:
    """``$SNAKESIM_PROGRESS_INTERVAL`` in seconds (`INTERVAL_S` when unset).

    Raises
    ------
    ConfigurationError
        When it is not a number >= 0.
    """
    given = os.environ.get(INTERVAL_ENV, "").strip()
    if not given:
        return INTERVAL_S
    try:
        seconds = float(given)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0:  # also NaN
        raise ConfigurationError(f"${INTERVAL_ENV}: must be a number of seconds >= 0 "
                                 f"(got {given})")
    return seconds


@contextmanager
def progress(label: str, console: Console, *, quiet: bool = False,
             interval_s: float | None = None,
             clock: Callable[[], float] = time.monotonic) -> Iterator[Reporter]:
    """Report the progress of the work called ``label`` on ``console``.

    Parameters
    ----------
    label
        What runs (the scenario or sweep name); each report's ``what`` follows it.
    console
        Where to report (the CLI's stderr console).
    quiet
        Report nothing.
    interval_s
        In ``lines`` mode, the longest silence between two lines while work goes on
        [default: ``$SNAKESIM_PROGRESS_INTERVAL``, else `INTERVAL_S`].
    clock
        Seconds from a monotonic clock (a test's fake clock).

    Yields
    ------
    Reporter
        The ``(done, total, what)`` callback to hand to the run or sweep.
    """
    mode = progress_mode(console, quiet)
    if mode == "bar":
        with _bar(label, console) as report:
            yield report
    elif mode == "lines":
        every = progress_interval() if interval_s is None else interval_s
        yield _Lines(label, console, every, clock)
    else:
        yield _silent


def _silent(done: int, total: int, what: str) -> None:
    return None


@contextmanager
def _bar(label: str, console: Console) -> Iterator[Reporter]:
    bar = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                   console=console, transient=True)
    with bar:
        task = bar.add_task(f"{label}: starting", total=None)

        def report(done: int, total: int, what: str) -> None:
            bar.update(task, completed=done, total=total,
                       description=f"{label}: {what}" if what else label)

        yield report


class _Lines:
    """Plain progress lines: at each further tenth, and after ``interval_s`` of silence."""

    def __init__(self, label: str, console: Console, interval_s: float,
                 clock: Callable[[], float]) -> None:
        self.label, self.console, self.interval_s, self.clock = label, console, interval_s, clock
        self.started = clock()
        self.last_line = self.started
        self.tenth = 0  # the last tenth of the work that got a line

    def __call__(self, done: int, total: int, what: str) -> None:
        now = self.clock()
        tenth = 10 * done // total if total > 0 else 0
        if tenth <= self.tenth and now - self.last_line < self.interval_s:
            return
        self.tenth, self.last_line = max(tenth, self.tenth), now
        self.console.print(progress_line(self.label, done, total, what, now - self.started),
                           markup=False, highlight=False, soft_wrap=True)


def progress_line(label: str, done: int, total: int, what: str, elapsed_s: float) -> str:
    """``label: what, 30%, elapsed 12 s, ETA 28 s`` (no percent or ETA without a total;
    the ETA extrapolates the mean pace so far)."""
    parts = [f"{label}: {what}" if what else label]
    if total > 0:
        parts.append(f"{100 * done // total}%")
    parts.append(f"elapsed {_duration(elapsed_s)}")
    if total > 0 and 0 < done <= total:
        parts.append(f"ETA {_duration(elapsed_s * (total - done) / done)}")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    """``12 s``, ``4 min 05 s``, ``2 h 03 min``."""
    whole = max(0, round(seconds))
    if whole < 60:
        return f"{whole} s"
    minutes, secs = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {secs:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"
