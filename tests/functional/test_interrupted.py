"""A run stopped by Ctrl-C or SIGTERM keeps the rounds that ended, committed whole."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import snakesim
from snakesim.cli import app
from snakesim.config import validate_scenario
from snakesim.errors import RunInterrupted
from snakesim.experiments.store import TEMP_PREFIX, scenario_sha256, stored_sha256
from tests.conftest import REPO, small_scenario

ROUNDS = 200  # far more than run before the signal lands: the run is always mid-way


def _scenario(rounds: int) -> dict[str, object]:
    return small_scenario({"name": "fedavg"}, training={
        "optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 1,
        "rounds": rounds})


@pytest.mark.slow
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_killed_run_leaves_its_rounds_and_says_where(write_yaml, tmp_path: Path,
                                                       signum: int, code: int) -> None:
    file = write_yaml(_scenario(ROUNDS))
    out = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(REPO), "SNAKESIM_PROGRESS": "lines",
           "SNAKESIM_PROGRESS_INTERVAL": "0"}
    process = subprocess.Popen([sys.executable, "-m", "snakesim", "run", str(file), "--out",
                                str(out)], stderr=subprocess.PIPE, stdout=subprocess.PIPE,
                               text=True, env=env)
    assert process.stderr is not None
    seen: list[str] = []
    for line in process.stderr:  # the progress lines are the marker: wait for round 1
        seen.append(line)
        if f"round 1/{ROUNDS}" in line:
            process.send_signal(signum)
            break
    _, rest = process.communicate(timeout=300)
    assert process.returncode == code, "".join(seen) + rest
    summary = json.loads((out / "summary.json").read_text())
    done = summary["rounds"]
    assert 1 <= done < ROUNDS
    assert summary["interrupted"] is True and summary["rounds_planned"] == ROUNDS
    assert rest.strip().splitlines()[-1] == (
        f"interrupted after {done} of {ROUNDS} rounds; partial results in {out}/ "
        "(summary.json says interrupted: true)")
    rounds = pd.read_parquet(out / "rounds.parquet")
    assert list(rounds["round"]) == list(range(0, done + 1))  # round 0: the initial model
    assert not [p for p in out.iterdir() if p.name.startswith(TEMP_PREFIX)]
    # It is not a finished run for a sweep to skip...
    assert stored_sha256(out) is None
    # ...and a later run of the same folder replaces it with a whole one.
    file = write_yaml(_scenario(1))
    result = CliRunner().invoke(app, ["run", str(file), "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["rounds"] == 1 and "interrupted" not in summary
    assert stored_sha256(out) == scenario_sha256(validate_scenario(_scenario(1)))


@pytest.mark.slow
def test_the_api_writes_the_rounds_that_ended(tmp_path: Path) -> None:
    def stop_after_two(done: int, total: int, what: str) -> None:
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(RunInterrupted) as info:
        snakesim.run(validate_scenario(_scenario(5)), out=tmp_path / "r",
                     on_progress=stop_after_two)
    stop = info.value
    assert (stop.rounds_done, stop.rounds_planned, stop.written) == (2, 5, tmp_path / "r")
    loaded = snakesim.load_run(tmp_path / "r")
    assert loaded.summary["interrupted"] is True
    assert list(loaded.frames["rounds"]["round"]) == [0, 1, 2]
    # The partial tables are the first two rounds of the whole run: the same inputs.
    whole = snakesim.run(validate_scenario(_scenario(2)))
    pd.testing.assert_frame_equal(loaded.frames["rounds"].drop(columns="run_id"),
                                  whole.frames["rounds"].drop(columns="run_id"),
                                  check_dtype=False)
