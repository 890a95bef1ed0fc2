"""The result store: one folder per run, every file written atomically.

Layout of ``DIR``: ``scenario.yaml`` (the resolved scenario), the tables
``rounds.parquet``, ``transfers.parquet``, ``computes.parquet``, ``nodes.parquet``,
``links.parquet``, ``outages.parquet``, ``effects.parquet`` and ``timeline.parquet``,
and ``summary.json``, written last so that its presence means the run finished. Each
file is written under a temporary name and then renamed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from snakesim.config.schema import Scenario
from snakesim.errors import ResultsError

TABLES = ("rounds", "transfers", "computes", "nodes", "links", "outages", "effects",
          "timeline")


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
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
    """Write a finished run to ``out`` (created if needed; files replaced)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").unlink(missing_ok=True)  # not finished until rewritten
    for stale in out.glob(".*"):  # temporary files of a run that was killed mid-write
        if stale.is_file():
            stale.unlink()
    resolved = yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False)
    _atomic(out / "scenario.yaml", _text_writer(resolved))
    for name in TABLES:
        _atomic(out / f"{name}.parquet", _parquet_writer(frames[name]))
    _atomic(out / "summary.json", _text_writer(json.dumps(summary, indent=2, sort_keys=True)
                                               + "\n"))


def _text_writer(text: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(text, encoding="utf-8")

    return write


def _parquet_writer(frame: pd.DataFrame) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        frame.to_parquet(path, index=False)

    return write


def read_summary(run_dir: Path) -> dict[str, Any]:
    """The summary of a finished run."""
    path = run_dir / "summary.json"
    if not path.is_file():
        raise ResultsError(f"{run_dir}: not a finished run (no summary.json)")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def read_table(run_dir: Path, name: str) -> pd.DataFrame:
    """One result table of a finished run."""
    read_summary(run_dir)
    path = run_dir / f"{name}.parquet"
    if not path.is_file():
        raise ResultsError(f"{path}: missing result table")
    return pd.read_parquet(path)
