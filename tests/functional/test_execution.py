"""The ``execution`` section: devices and batched client jobs change nothing simulated."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import torch
from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.config import validate_scenario
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.experiments import RunResult, run_scenario
from snakesim.experiments.execution import CPU_BATCHNORM
from snakesim.experiments.store import scenario_sha256
from tests.conftest import REPO, small_scenario

# Tables with nothing but simulated quantities; the rounds table adds quality.
SIMULATED = ["transfers", "computes", "nodes", "links", "effects", "hops"]
QUALITY = ["accuracy", "loss", "perplexity"]


def run(strategy: dict[str, Any], **execution: Any) -> RunResult:
    data = small_scenario(strategy, data={"partition": {"kind": "iid"}})
    if execution:
        data["execution"] = execution
    return run_scenario(validate_scenario(data))


def assert_same_simulation(a: RunResult, b: RunResult) -> None:
    for table in SIMULATED:
        if table in a.frames:
            pd.testing.assert_frame_equal(a.frames[table], b.frames[table])
    pd.testing.assert_frame_equal(a.frames["rounds"].drop(columns=QUALITY),
                                  b.frames["rounds"].drop(columns=QUALITY))


@pytest.mark.parametrize("strategy", [{"name": "fedavg"}, {"name": "fedprox", "mu": 0.01},
                                      {"name": "local"}])
def test_batched_clients_simulate_the_same_run(strategy: dict[str, Any]) -> None:
    off = run(strategy, batch_clients="off")
    batched = run(strategy, batch_clients=8)
    assert_same_simulation(off, batched)
    # After two rounds of real training the models agree to float rounding: the test
    # accuracy (of 450 images) to a sample or two, the loss to 1e-3.
    a, b = off.frames["rounds"], batched.frames["rounds"]
    assert list(a["accuracy"]) == pytest.approx(list(b["accuracy"]), abs=0.005)
    assert list(a["loss"]) == pytest.approx(list(b["loss"]), abs=1e-3)
    summary = batched.summary
    assert summary["batched_jobs"] + summary["jobs_run_alone"] == 4 * 2  # 4 clients, 2 rounds
    if strategy["name"] == "local":
        # Learners at their own speeds: the first to finish its first round batches the
        # four first rounds, whose jobs were all accepted at 0 s; a second round is
        # accepted only when its learner is done with the first.
        assert summary["batches"] >= 1
    else:  # a synchronous round: its clients' jobs run as one batch
        assert summary["batches"] == 2 and summary["jobs_run_alone"] == 0
    assert off.summary["run_alone_because"] == "execution.batch_clients is off: 8"


def test_auto_batches_on_the_cpu_too() -> None:
    result = run({"name": "fedavg"}, device="cpu")
    assert result.summary["device"] == "cpu"
    assert result.summary["batch_clients"] == "auto"
    assert result.summary["batches"] == 2 and result.summary["run_alone_because"] == ""


def test_auto_runs_batchnorm_models_one_by_one_on_a_cpu_and_n_still_batches_them() -> None:
    vgg = {"model": {"name": "vgg11", "width_mult": 0.125}}
    data = small_scenario({"name": "fedavg"}, training={"rounds": 1, "batch_size": 32}, **vgg)
    data["execution"] = {"device": "cpu"}
    auto = run_scenario(validate_scenario(data))
    assert auto.summary["batches"] == 0
    assert auto.summary["run_alone_because"] == f"{CPU_BATCHNORM}: 4"
    data["execution"] = {"device": "cpu", "batch_clients": 4}
    forced = run_scenario(validate_scenario(data))
    assert forced.summary["batches"] == 1
    assert_same_simulation(auto, forced)


def test_snake_jobs_run_alone_and_distillation_says_so() -> None:
    result = run({"name": "snake", "mode": "p2p", "distill": "on", "distill_weight": 0.5},
                 batch_clients=4)
    assert result.summary["batches"] == 0
    assert "knowledge distillation" in result.summary["run_alone_because"]


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_cuda_without_a_gpu_is_one_line_naming_the_key() -> None:
    data = small_scenario({"name": "fedavg"})
    data["execution"] = {"device": "cuda:1"}
    with pytest.raises(ConfigurationError, match=r"^execution\.device: cuda:1 asked for") as e:
        run_scenario(validate_scenario(data))
    assert "\n" not in str(e.value)


@pytest.mark.parametrize(("execution", "message"), [
    ({"device": "gpu"}, "execution.device: must be auto, cpu, cuda, cuda:N or mps"),
    ({"batch_clients": 0}, "execution.batch_clients: must be auto, off or a number"),
    ({"batch_clients": "all"}, "execution.batch_clients: must be auto, off or a number"),
    ({"threads": 2}, "execution.threads"),
])
def test_bad_execution_keys_are_located(execution: dict[str, Any], message: str) -> None:
    data = small_scenario({"name": "fedavg"})
    data["execution"] = execution
    with pytest.raises(ScenarioError, match=message.replace(".", r"\.")):
        validate_scenario(data)


def test_execution_does_not_change_the_scenario_hash() -> None:
    # A sweep resumed on another device keeps the runs it has.
    plain = validate_scenario(small_scenario({"name": "fedavg"}))
    data = small_scenario({"name": "fedavg"})
    data["execution"] = {"device": "cpu", "batch_clients": 4}
    assert scenario_sha256(validate_scenario(data)) == scenario_sha256(plain)


def test_cli_device_cpu_and_auto_write_the_same_simulated_tables(tmp_path: Path) -> None:
    runner = CliRunner()
    scenario = REPO / "scenarios" / "quickstart-fedavg.yaml"
    folders = {}
    for device in ("cpu", "auto"):
        folders[device] = tmp_path / device
        done = runner.invoke(app, ["run", str(scenario), "--device", device, "--quiet",
                                   "--out", str(folders[device])])
        assert done.exit_code == 0, done.output
    for table in ("transfers", "computes", "nodes", "rounds"):
        a = pd.read_parquet(folders["cpu"] / f"{table}.parquet")
        b = pd.read_parquet(folders["auto"] / f"{table}.parquet")
        if not torch.cuda.is_available():  # auto is the CPU here: every column equal
            pd.testing.assert_frame_equal(a, b)
        else:
            pd.testing.assert_frame_equal(a.drop(columns=QUALITY, errors="ignore"),
                                          b.drop(columns=QUALITY, errors="ignore"))


def test_cli_batch_clients_option_reaches_the_run(tmp_path: Path) -> None:
    runner = CliRunner()
    scenario = REPO / "scenarios" / "quickstart-fedavg.yaml"
    done = runner.invoke(app, ["run", str(scenario), "--batch-clients", "3", "--quiet",
                               "--out", str(tmp_path / "r")])
    assert done.exit_code == 0, done.output
    summary = pd.read_json(tmp_path / "r" / "summary.json", typ="series")
    assert summary["batch_clients"] == "3" and summary["batches"] > 0
    bad = runner.invoke(app, ["run", str(scenario), "--device", "tpu", "--quiet",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert "execution.device: must be auto, cpu, cuda, cuda:N or mps (got tpu)" in bad.output
