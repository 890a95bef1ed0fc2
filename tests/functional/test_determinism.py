"""Same scenario and seed give identical results; another seed gives different ones."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.experiments.store import TABLES
from tests.conftest import small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def run_cli(scenario: Path, out: Path, *extra: str) -> None:
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(out), "-q", *extra])
    assert result.exit_code == 0, result.output


def test_same_seed_gives_identical_summary_and_tables(write_yaml, tmp_path: Path) -> None:
    path = write_yaml(small_scenario({"name": "snake"}, training={"rounds": 1}))
    run_cli(path, tmp_path / "a")
    run_cli(path, tmp_path / "b")
    a = (tmp_path / "a" / "summary.json").read_text()
    assert a == (tmp_path / "b" / "summary.json").read_text()
    for table in TABLES:
        pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / "a" / f"{table}.parquet"),
                                      pd.read_parquet(tmp_path / "b" / f"{table}.parquet"))


def test_another_seed_changes_results(write_yaml, tmp_path: Path) -> None:
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1},
                                     nodes={"compute": {"dist": "lognormal",
                                                        "median": "5 GFLOPS", "sigma": 1}}))
    run_cli(path, tmp_path / "a")
    run_cli(path, tmp_path / "b", "--seed", "4")
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    assert b["seed"] == 4 and b["run_id"] == "small-s4"
    assert a["final_accuracy"] != b["final_accuracy"]
    assert a["sim_time_s"] != b["sim_time_s"]  # node compute is drawn from the seed
    rounds_a = pd.read_parquet(tmp_path / "a" / "rounds.parquet")
    rounds_b = pd.read_parquet(tmp_path / "b" / "rounds.parquet")
    assert not rounds_a["loss"].equals(rounds_b["loss"])


def test_thread_count_does_not_change_results(write_yaml, tmp_path: Path) -> None:
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    run_cli(path, tmp_path / "a", "--threads", "1")
    run_cli(path, tmp_path / "b", "--threads", "2")
    a = json.loads((tmp_path / "a" / "summary.json").read_text())
    b = json.loads((tmp_path / "b" / "summary.json").read_text())
    for key in ("total_bytes", "link_bytes", "sim_time_s", "total_flops"):
        assert a[key] == b[key]
    assert abs(a["final_accuracy"] - b["final_accuracy"]) < 0.02
