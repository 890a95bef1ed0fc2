"""Running one input through the CLI in-process, and judging its answer.

`refusal` says why an answer is not a clean refusal (one ``error:`` line per problem,
each naming the file, exit 2, no traceback); `hang_guard` turns a case still running
after `HANG_S` seconds into a failure. The guard detects hangs (an input that makes the
loader or simulator loop or allocate without end); it is not a timing assertion, so it
is set far above what any case needs.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType

from typer.testing import CliRunner

from snakesim.cli import app

HANG_S = 20
runner = CliRunner()
CORPUS = Path(__file__).with_name("corpus")
MANIFEST: list[dict[str, str]] = json.loads((CORPUS / "manifest.json").read_text(
    encoding="utf-8"))
"""The corpus entries: ``file`` (relative to `CORPUS`), ``category`` and ``stage``."""


def command(entry: dict[str, str], out: Path) -> list[str]:
    """The CLI arguments that must refuse a corpus entry (run from inside `CORPUS`)."""
    file = entry["file"]
    if entry["stage"] == "run":
        return ["run", file, "--cost-only", "-q", "--out", str(out)]
    if entry["stage"] == "sweep":
        return ["sweep", file, "--out", str(out)]
    return ["validate", file]


class Hung(Exception):
    """A case ran past the hang guard."""


@contextmanager
def hang_guard(seconds: int = HANG_S) -> Iterator[None]:
    """Raise `Hung` in the current (main) thread if the block runs past ``seconds``."""

    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hung(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def invoke(args: list[str]) -> tuple[int | None, str, BaseException | None]:
    """``(exit code, output, exception)`` of the CLI on ``args``, under the hang guard."""
    with hang_guard():
        result = runner.invoke(app, args)
    error = result.exception
    if isinstance(error, SystemExit):
        error = None
    return result.exit_code, result.output, error


def refusal(args: list[str], named: str) -> str | None:
    """Why the CLI's answer to ``args`` is not a clean refusal (None when it is).

    ``named`` is the input file: every error line must name it (or a file it names,
    under ``files/``).
    """
    code, output, error = invoke(args)
    if error is not None:
        return f"traceback: {type(error).__name__}: {str(error)[:200]}"
    if code != 2:
        return f"exit {code}: {output[-300:]}"
    return unlocated(output, named)


def unlocated(output: str, named: str) -> str | None:
    """The first line of ``output`` that is not a located error (None if all are)."""
    lines = [line for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error: ")]
    if not errors:
        return f"no error line: {output[-300:]}"
    bad = [line for line in errors if named not in line and "files/" not in line]
    return f"unlocated: {bad[0]}" if bad else None
