"""Training options on small real runs: precision and clipping are honoured, divergence stops.

Every classifier trains in bf16 (mixed and pure) under every kind of scheme; Split
Learning and SplitFed train differently at fp32, bf16 and with a tiny clip norm; a
cost-only bf16 run charges what the real run charges; a run whose loss becomes NaN
fails with one located line (exit 2 from the CLI).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.config import validate_scenario
from snakesim.errors import ScenarioError, TrainingDiverged
from snakesim.experiments import RunResult, run_scenario
from tests.conftest import small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

MODELS = {"digits_cnn": {"name": "digits_cnn", "width": 8},
          "mlp": {"name": "mlp", "hidden": [32, 16]},
          "vgg11": {"name": "vgg11", "width_mult": 0.125}}
PRECISIONS = {"fp32": {}, "bf16": {"dtype": "bf16"},
              "bf16-pure": {"dtype": "bf16", "master_weights": False},
              "fp16": {"dtype": "fp16"}}


def tiny(strategy: dict[str, Any], model: str = "digits_cnn", mode: str = "train",
         **training: Any) -> dict[str, Any]:
    """One round, two clients."""
    base = small_scenario(strategy, model=MODELS[model], mode=mode,
                          topology={"kind": "star", "clients": 2},
                          nodes={"compute": {"dist": "list", "values": ["2 GFLOPS",
                                                                         "4 GFLOPS"]}})
    base["training"] = {**base["training"], "rounds": 1, **training}
    return base


def run(strategy: dict[str, Any], model: str = "digits_cnn", mode: str = "train",
        **training: Any) -> RunResult:
    return run_scenario(validate_scenario(tiny(strategy, model, mode, **training)))


@pytest.mark.parametrize("precision", ["bf16", "bf16-pure"])
@pytest.mark.parametrize("strategy", ["snake", "fedavg"])
@pytest.mark.parametrize("model", sorted(MODELS))
def test_every_classifier_trains_in_bf16(model: str, strategy: str, precision: str) -> None:
    result = run({"name": strategy}, model, **PRECISIONS[precision])
    assert math.isfinite(result.summary["final_loss"])
    assert result.summary["final_accuracy"] > 0.2  # 10 classes: better than chance


@pytest.mark.parametrize(("strategy", "precision"), [
    *[(s, p) for s in ("split", "splitfed") for p in ("bf16", "bf16-pure", "fp16")],
    ("central", "bf16-pure"), ("local", "fp16")])
def test_other_schemes_train_in_half_precision(strategy: str, precision: str) -> None:
    result = run({"name": strategy}, **PRECISIONS[precision])
    assert math.isfinite(result.summary["final_loss"])


@pytest.mark.parametrize("strategy", ["split", "splitfed"])
def test_split_schemes_honour_precision_and_clipping(strategy: str) -> None:
    losses = {name: run({"name": strategy}, **change).frames["rounds"]["loss"].tolist()
              for name, change in {"fp32": {}, "bf16": {"dtype": "bf16"},
                                   "clip": {"grad_clip": 1e-6}}.items()}
    assert len({tuple(v) for v in losses.values()}) == 3, losses
    # A clip norm of 1e-6 all but stops training: the model stays near its start.
    assert losses["clip"][-1] > losses["fp32"][-1]


def test_pure_bf16_halves_the_memory_of_a_split_job() -> None:
    fp32 = run({"name": "split"}, mode="cost_only").summary
    pure = run({"name": "split"}, mode="cost_only", **PRECISIONS["bf16-pure"]).summary
    assert pure["max_node_peak_memory_bytes"] < 0.6 * fp32["max_node_peak_memory_bytes"]
    # The client part and the activations travel in 2 bytes too (labels stay int64).
    assert pure["total_bytes"] < 0.6 * fp32["total_bytes"]


@pytest.mark.parametrize("strategy", [{"name": "split"}, {"name": "snake", "distill": "on"}])
def test_a_cost_only_bf16_run_charges_what_the_real_run_charges(
        strategy: dict[str, Any]) -> None:
    real = run(strategy, **PRECISIONS["bf16"])
    cost = run(strategy, mode="cost_only", **PRECISIONS["bf16"])
    for table in ("transfers", "computes"):
        pd.testing.assert_frame_equal(real.frames[table].drop(columns="run_id"),
                                      cost.frames[table].drop(columns="run_id"))
    assert cost.summary["max_node_peak_memory_bytes"] == real.summary[
        "max_node_peak_memory_bytes"]


def test_half_precision_runs_are_deterministic() -> None:
    a = run({"name": "split"}, **PRECISIONS["fp16"]).frames["rounds"]
    b = run({"name": "split"}, **PRECISIONS["fp16"]).frames["rounds"]
    pd.testing.assert_frame_equal(a.drop(columns="run_id"), b.drop(columns="run_id"))


# ------------------------------------------------------------------------ divergence
# The largest learning rate a scenario accepts. Snake's slices stay finite there (their
# ReLUs die and the loss only grows huge); weight decay as well takes them to NaN.
DIVERGING = {"snake": {"weight_decay": 10.0}, "fedavg": {}, "split": {}}


@pytest.mark.parametrize("strategy", sorted(DIVERGING))
def test_a_diverging_run_stops_with_a_located_error(strategy: str) -> None:
    with pytest.raises(TrainingDiverged, match=r"^training diverged: in (slice|split) "
                       r"training.*the loss became (nan|inf) at step \d+ of \d+ "
                       r"\(training.lr is 1e\+06") as error:
        run({"name": strategy}, optimizer="sgd", lr=1e6, **DIVERGING[strategy])
    assert "\n" not in str(error.value)


def test_the_cli_reports_divergence_in_one_line_with_exit_code_2(tmp_path: Path) -> None:
    path = tmp_path / "diverge.yaml"
    path.write_text(yaml.safe_dump(tiny({"name": "fedavg"}, optimizer="sgd", lr=1e6)),
                    encoding="utf-8")
    result = CliRunner().invoke(app, ["run", str(path), "--out", str(tmp_path / "out"), "-q"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "training diverged" in lines[0], result.output
    assert not (tmp_path / "out" / "summary.json").exists()


def test_pure_fp16_with_adam_is_refused() -> None:
    # By the validator (a spec built in Python meets the same rule in make_optimizer).
    with pytest.raises(ScenarioError, match=r"optimizer adam cannot train in pure fp16"):
        run({"name": "fedavg"}, dtype="fp16", master_weights=False)
