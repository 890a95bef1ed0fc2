"""Sweeps: expansion, located errors, parallel == serial, and resume after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import snakesim
from snakesim.cli import app
from snakesim.config.sweep import load_sweep
from snakesim.errors import ScenarioError
from tests.conftest import REPO, small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def tiny_base() -> dict[str, Any]:
    return small_scenario({"name": "fedavg"},
                          training={"rounds": 1, "optimizer": "adam", "lr": 0.003},
                          model={"name": "digits_cnn", "width": 4},
                          topology={"kind": "star", "clients": 3},
                          # a list distribution: workers must get it across processes
                          nodes={"compute": {"dist": "list", "values": [
                              "5 GFLOPS", "8 GFLOPS", "10 GFLOPS"]}})


def write_sweep(tmp_path: Path, **sweep: Any) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(tiny_base()))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({"name": "t", "base": "base.yaml", **sweep}))
    return path


def test_grid_zip_and_seeds_expand_to_their_product(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"data.partition.alpha": [0.1, 1.0],
                                       "strategy": [{"name": "fedavg"}, {"name": "snake"}]},
                       zip={"links.latency": ["1 ms", "10 ms"],
                            "links.bandwidth": ["1 Gbps", "10 Mbps"]},
                       seeds=[1, 2, 3])
    sweep = load_sweep(path)
    assert len(sweep.points) == 2 * 2 * 2 * 3
    labels = [p.label for p in sweep.points]
    assert len(set(labels)) == len(labels)
    first = sweep.points[0].scenario
    assert first.links.latency == 1e-3 and first.links.bandwidth == 1e9 and first.seed == 1
    assert {p.scenario.strategy.name for p in sweep.points} == {"fedavg", "snake"}


@pytest.mark.parametrize(("sweep", "expected"), [
    ({"grid": {"data.partition.alpah": [0.1]}},
     "sweep.yaml: grid.data.partition.alpah: is not a scenario key"),
    ({"grid": {"links.bandwidth": ["1 Gbps", "-5 Mbps"]}},
     "sweep.yaml: grid.links.bandwidth.1: must be > 0 (got -5 Mbps)"),
    ({"zip": {"links.latency": ["1 ms"], "links.bandwidth": ["1 Gbps", "2 Gbps"]}},
     "sweep.yaml: zip: lists must all have the same length"),
    ({"grid": {}}, "sweep.yaml: nothing to sweep"),
    ({"grid": {"data.partition.alpha": []}}, "sweep.yaml: grid: "),
])
def test_bad_sweeps_fail_before_anything_runs(tmp_path: Path, sweep: dict[str, Any],
                                              expected: str) -> None:
    path = write_sweep(tmp_path, **sweep)
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert expected in str(info.value)
    assert not (tmp_path / "results").exists()


def test_unknown_sweep_key_is_located(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"seed": [1]}, colour="red")
    result = CliRunner().invoke(app, ["sweep", str(path)])
    assert result.exit_code == 2
    assert "sweep.yaml: colour: unknown key" in result.output


def test_jobs_1_and_2_give_identical_tables(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"data.partition.alpha": [0.3, 3.0]}, seeds=[1, 2])
    serial = snakesim.sweep(path, out=tmp_path / "serial", jobs=1)
    parallel = snakesim.sweep(path, out=tmp_path / "parallel", jobs=2)
    assert len(serial) == 4
    assert {"data.partition.alpha", "seed", "final_accuracy", "total_bytes"} <= set(serial)
    pd.testing.assert_frame_equal(serial, parallel)
    assert serial.equals(pd.read_parquet(tmp_path / "serial" / "summary.parquet"))


def test_a_killed_sweep_resumes_and_every_run_is_present_once(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"data.partition.alpha": [0.3, 1.0, 3.0]},
                       seeds=[1, 2])
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "snakesim", "sweep", str(path), "--out",
                             str(out)], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list(out.glob("*/summary.json"))) < 2:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished_before = {p.parent.name for p in out.glob("*/summary.json")}
    assert 2 <= len(finished_before) < 6
    table = snakesim.sweep(path, out=out, jobs=1)
    assert len(table) == 6
    assert table["run_dir"].is_unique
    assert {p.parent.name for p in out.glob("*/summary.json")} >= finished_before
    assert not list(out.glob("*/.*"))  # no temporary files left behind


def test_ray_backend_gives_the_same_table_as_local(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    path = write_sweep(tmp_path, grid={"strategy": [{"name": "fedavg"}, {"name": "snake"}]},
                       seeds=[1])
    local = snakesim.sweep(path, out=tmp_path / "local", jobs=1)
    ray_table = snakesim.sweep(path, out=tmp_path / "ray", jobs=2, backend="ray")
    pd.testing.assert_frame_equal(local, ray_table)


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_point_that_cannot_run_is_reported_and_the_others_finish(
        tmp_path: Path, jobs: str) -> None:
    # With 100 kB per node no client can train the whole model: FedAvg refuses that
    # point with a located error; the 4 GB point runs.
    path = write_sweep(tmp_path, grid={"nodes.memory": ["100 kB", "4 GB"]})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out), "--jobs", jobs])
    assert result.exit_code == 1
    assert "1 of 2 runs finished" in result.output
    assert "failed: " in result.output and "nodes.memory" in result.output
    table = pd.read_parquet(out / "summary.parquet")
    assert len(table) == 1 and table["nodes.memory"].iloc[0] == "4 GB"
    failed = [p for p in out.iterdir() if (p / "failed.json").is_file()]
    assert len(failed) == 1 and not (failed[0] / "summary.json").exists()
    # Running again retries the failed point only (the finished one is kept).
    again = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out)])
    assert again.exit_code == 1 and "1 of 2 runs finished" in again.output
