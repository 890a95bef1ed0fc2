"""The result store: one folder per run, committed as a whole.

Layout of ``DIR``: ``scenario.yaml`` (the resolved scenario), the tables
``rounds.parquet``, ``transfers.parquet``, ``computes.parquet``, ``nodes.parquet``,
``links.parquet``, ``outages.parquet``, ``effects.parquet`` and ``timeline.parquet``,
and ``summary.json``, whose presence means the run was committed (a run stopped by Ctrl-C
commits the rounds that ended, its summary saying ``interrupted: true``; it is not a
finished run of its scenario for a sweep, `stored_sha256`). ``summary.json`` also holds
``scenario_sha256``, the hash of the resolved scenario, so that a sweep can tell a result
of the scenario it would run from a result of an older one.

Writing (`write_run`): the files are written into a staging folder
``DIR/.snakesim-tmp-*`` and then committed. If ``DIR`` holds a finished run, its files
are first moved into ``DIR/.snakesim-previous/`` (``summary.json`` first, so that ``DIR``
never looks finished with a mix of files); then the new files are moved in with
``os.replace``, ``summary.json`` last; then the backup and the staging folder are
deleted. A process killed at any point leaves either the previous or the new complete
run: whenever a folder is read (`read_summary`) or written, a backup holding
``summary.json`` while ``DIR`` has none is moved back first (`recover`).

Only snakesim's own files are ever touched: the run files above and names starting
with ``.snakesim-``. Anything else in ``DIR`` (a ``.gitignore``, a user's notes) stays.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from snakesim.config.schema import Scenario
from snakesim.config.yamldump import dump_yaml
from snakesim.errors import ResultsError

TABLES = ("rounds", "transfers", "computes", "nodes", "links", "outages", "effects",
          "timeline")
SUMMARY = "summary.json"
SCENARIO = "scenario.yaml"
RUN_FILES = (SCENARIO, *(f"{name}.parquet" for name in TABLES), SUMMARY)
"""The files of a run, in commit order: ``summary.json`` last."""

TEMP_PREFIX = ".snakesim-tmp-"
"""Every temporary file or folder snakesim creates starts with this."""
BACKUP = ".snakesim-previous"
"""The folder holding the previous run's files while a new run is committed."""
_MOVED = "all-moved"  # in BACKUP: every previous file is in the backup


def scenario_sha256(scenario: Scenario, *, ignore_name: bool = False) -> str:
    """The sha256 of the canonical JSON of a resolved scenario.

    Parameters
    ----------
    scenario
        A validated scenario.
    ignore_name
        Leave ``name`` out: two sweep points that differ only in their generated name
        run the same simulation.

    The ``execution`` section is left out too: where the real training ran and whether
    it was batched change nothing simulated (quality only to float rounding), so a sweep
    resumed on another device keeps the runs it has.
    """
    data = scenario.model_dump(mode="json")
    data.pop("execution", None)
    if ignore_name:
        data.pop("name", None)
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


def prepare_out(path: str | Path, key: str = "--out") -> Path:
    """Create the output folder ``path`` and check that it is writable, before any run.

    Raises
    ------
    ResultsError
        One located line (``--out: results/x: is a file``) when ``path`` is a file, cannot
        be created or is not writable.
    """
    folder = Path(path)
    if folder.exists() and not folder.is_dir():
        raise ResultsError(f"{key}: {folder}: is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ResultsError(f"{key}: {folder}: cannot be created ({_reason(error)})") from None
    try:  # a real write: permission bits alone miss read-only mounts and root
        fd, probe = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as error:
        raise ResultsError(f"{key}: {folder}: not writable ({_reason(error)})") from None
    return folder


def _reason(error: OSError) -> str:
    return error.strerror or str(error)


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write(path: Path, content: str | pd.DataFrame) -> None:
    """Write text or a table (as parquet) to ``path`` atomically."""
    if isinstance(content, pd.DataFrame):
        _atomic(path, _parquet_writer(content))
    else:
        _atomic(path, _text_writer(content))


def write_run(out: Path, scenario: Scenario, summary: dict[str, Any],
              frames: dict[str, pd.DataFrame]) -> None:
    """Write a finished run to ``out`` (created if needed), replacing a previous run.

    ``summary.json`` gets ``scenario_sha256`` besides ``summary``. Files in ``out`` that
    are not run files are left alone.
    """
    out.mkdir(parents=True, exist_ok=True)
    with _locked(out):
        _recover(out)
        remove_temporaries(out)
        staging = Path(tempfile.mkdtemp(prefix=TEMP_PREFIX, dir=out))
        try:
            _stage(staging, scenario, summary, frames)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        _commit(out, staging)


def _stage(staging: Path, scenario: Scenario, summary: dict[str, Any],
           frames: dict[str, pd.DataFrame]) -> None:
    resolved = dump_yaml(scenario.model_dump(mode="json"), sort_keys=False)
    (staging / SCENARIO).write_text(resolved, encoding="utf-8")
    for name in TABLES:
        frames[name].to_parquet(staging / f"{name}.parquet", index=False)
    stored = {**summary, "scenario_sha256": scenario_sha256(scenario)}
    (staging / SUMMARY).write_text(json.dumps(stored, indent=2, sort_keys=True) + "\n",
                                   encoding="utf-8")


def _commit(out: Path, staging: Path) -> None:
    # No exception handler here on purpose: a kill runs none, and `_recover` must cope
    # with every state this leaves; an error is repaired the same way on the next access.
    backup = out / BACKUP
    if (out / SUMMARY).is_file():
        backup.mkdir()
        os.replace(out / SUMMARY, backup / SUMMARY)
        for name in RUN_FILES[:-1]:
            if os.path.lexists(out / name):
                os.replace(out / name, backup / name)
        (backup / _MOVED).touch()
    for name in RUN_FILES:
        os.replace(staging / name, out / name)
    shutil.rmtree(backup, ignore_errors=True)
    shutil.rmtree(staging, ignore_errors=True)


def recover(run_dir: Path) -> None:
    """Finish or undo a commit that a killed process left half done in ``run_dir``.

    Without ``summary.json`` but with a backup that has one, the previous run is moved
    back; with both, the commit had finished and the backup is deleted.
    """
    if (run_dir / BACKUP).is_dir():
        with _locked(run_dir):
            _recover(run_dir)


def _recover(run_dir: Path) -> None:
    backup = run_dir / BACKUP
    if not backup.is_dir():
        return
    if (run_dir / SUMMARY).is_file() or not (backup / SUMMARY).is_file():
        shutil.rmtree(backup)  # the commit finished, or had not moved anything yet
        return
    if (backup / _MOVED).is_file():
        # The new files had started to arrive: the ones the previous run lacked go, and
        # then the marker, so that a kill during the rest repeats only the moves back.
        for name in RUN_FILES[:-1]:
            if not os.path.lexists(backup / name):
                (run_dir / name).unlink(missing_ok=True)
        (backup / _MOVED).unlink()
    for name in RUN_FILES[:-1]:
        if os.path.lexists(backup / name):
            os.replace(backup / name, run_dir / name)
    os.replace(backup / SUMMARY, run_dir / SUMMARY)
    shutil.rmtree(backup)


def remove_temporaries(folder: Path) -> None:
    """Delete the temporary files and folders a killed snakesim left in ``folder``."""
    for entry in folder.glob(f"{TEMP_PREFIX}*"):
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)


@contextlib.contextmanager
def _locked(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``folder`` itself (no lock file is left behind).

    Two processes writing one folder, or a reader recovering it while a writer commits,
    would otherwise interleave their moves.
    """
    if sys.platform == "win32":  # no flock; commits there are not serialised
        yield
        return
    import fcntl

    fd = os.open(folder, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def _parquet_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_parquet(path, index=False)

    return write


def read_summary(run_dir: Path) -> dict[str, Any]:
    """The summary of a finished run (after repairing a commit a kill interrupted)."""
    recover(run_dir)
    path = run_dir / SUMMARY
    if not path.is_file():
        raise ResultsError(f"{run_dir}: not a finished run (no summary.json)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsError(f"{path}: not a valid summary ({error})") from None
    if not isinstance(data, dict):
        raise ResultsError(f"{path}: not a valid summary (not a JSON object)")
    return data


def stored_sha256(run_dir: Path) -> str | None:
    """The ``scenario_sha256`` of the finished run in ``run_dir``; None if there is none.

    Unfinished folders, interrupted runs, unreadable summaries and runs written before
    the hash was stored all give None: none of them is a whole result of a known
    scenario.
    """
    if not run_dir.is_dir():
        return None
    try:
        summary = read_summary(run_dir)
    except ResultsError:
        return None
    value = summary.get("scenario_sha256")
    return value if isinstance(value, str) and not summary.get("interrupted") else None


def read_table(run_dir: Path, name: str) -> pd.DataFrame:
    """One result table of a finished run."""
    read_summary(run_dir)
    path = run_dir / f"{name}.parquet"
    if not path.is_file():
        raise ResultsError(f"{path}: missing result table")
    return pd.read_parquet(path)
