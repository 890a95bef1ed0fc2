"""Stopping a run: SIGTERM treated like Ctrl-C, and what an interrupt prints.

A run stopped by Ctrl-C (SIGINT) or SIGTERM keeps the rounds that ended (see
`snakesim.errors.RunInterrupted`); the CLI says where they are and exits with
128 + the signal number (130 for Ctrl-C, 143 for SIGTERM), as shells do.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType


class Terminated(KeyboardInterrupt):
    """A SIGTERM, raised where the main thread is, so a run stops as on Ctrl-C."""

    def __init__(self, signum: int) -> None:
        # The signal number is the exception's argument: SimPy re-creates an exception
        # from its args when a process raises it.
        super().__init__(signum)
        self.signum = signum


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """While inside, SIGTERM raises `Terminated` instead of killing the process at once.

    Only the main thread can install signal handlers; elsewhere (a test's thread)
    nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise Terminated(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def interrupted_line(stop: KeyboardInterrupt) -> str:
    """The one line to print for an interrupt: where the partial results are, if any."""
    written = getattr(stop, "written", None)
    planned = getattr(stop, "rounds_planned", None)
    if written is not None:
        done = getattr(stop, "rounds_done", 0)
        return (f"interrupted after {done} of {planned} rounds; partial results in "
                f"{written}/ (summary.json says interrupted: true)")
    if planned is not None and getattr(stop, "partial", None) is None:
        return "interrupted before the first round ended; nothing was written"
    return "interrupted"


def exit_code(stop: KeyboardInterrupt) -> int:
    """128 + the signal that stopped the run (SIGINT when it is not known)."""
    return 128 + int(getattr(stop, "signum", signal.SIGINT))
