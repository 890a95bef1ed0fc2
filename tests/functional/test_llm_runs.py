"""Causal-LM fine-tuning end to end: real runs of a tiny OPT, cost-only runs, LoRA, SL.

The tiny scenario (2 decoder blocks of width 64, byte-level vocabulary, 4 clients each
holding one topic of the generated corpus) trains in a few seconds; a model that has
learned nothing has a perplexity of about 256 (one byte in 256).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.config import load_scenario, validate_scenario
from snakesim.errors import ConfigurationError
from snakesim.experiments import RunResult, run_scenario
from tests.conftest import REPO

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

pytest.importorskip("transformers")


def tiny_lm(strategy: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A tiny OPT on 4 topics, 4 clients on a star: seconds per run."""
    data: dict[str, Any] = {
        "name": "tiny-lm",
        "seed": 2,
        "data": {"dataset": "text",
                 "text": {"corpus": {"sources": 4, "words_per_source": 900},
                          "tokenizer": "bytes", "seq_len": 32},
                 "test_fraction": 0.15, "partition": {"kind": "by_source"}},
        "model": {"name": "causal_lm",
                  "lm": {"preset": "tiny-opt", "overrides": {"num_hidden_layers": 2}}},
        "training": {"optimizer": "adamw", "lr": 0.003, "batch_size": 16,
                     "local_epochs": 1, "rounds": 2},
        "topology": {"kind": "star", "clients": 4},
        "nodes": {"compute": "10 GFLOPS"},
        "links": {"latency": "5 ms", "bandwidth": "100 Mbps"},
        "strategy": strategy,
    }
    data.update(changes)
    return data


def run(strategy: dict[str, Any], **changes: Any) -> RunResult:
    return run_scenario(validate_scenario(tiny_lm(strategy, **changes)))


def _falls(result: RunResult, below: float = 40) -> None:
    """Held-out perplexity falls during the run and ends below ``below`` (chance: 256)."""
    ppl = result.frames["rounds"]["perplexity"]
    assert ppl.notna().all()
    assert ppl.iloc[-1] < ppl.iloc[0]
    assert result.summary["final_perplexity"] == pytest.approx(ppl.iloc[-1])
    assert result.summary["final_perplexity"] < below
    assert result.summary["metric"] == "perplexity"
    assert result.summary["task"] == "causal_lm"


@pytest.fixture(scope="module")
def snake() -> RunResult:
    return run({"name": "snake", "mode": "p2p"})


@pytest.fixture(scope="module")
def fedavg() -> RunResult:
    return run({"name": "fedavg"})


def test_perplexity_falls_under_snake_learning(snake: RunResult) -> None:
    _falls(snake)


def test_perplexity_falls_under_fedavg(fedavg: RunResult) -> None:
    _falls(fedavg)
    assert list(fedavg.frames["rounds"]["round"]) == [0, 1, 2]


def test_perplexity_is_exp_of_the_per_token_loss(fedavg: RunResult) -> None:
    rounds = fedavg.frames["rounds"]
    for loss, ppl in zip(rounds["loss"], rounds["perplexity"], strict=True):
        assert ppl == pytest.approx(math.exp(loss))


def test_cost_only_charges_exactly_what_a_real_run_charges(fedavg: RunResult) -> None:
    cost = run({"name": "fedavg"}, mode="cost_only")
    for table in ("transfers", "computes"):
        real, only = fedavg.frames[table], cost.frames[table]
        pd.testing.assert_frame_equal(real.drop(columns="run_id"), only.drop(columns="run_id"))
    for key in ("total_bytes", "sim_time_s", "total_flops", "max_node_peak_memory_bytes",
                "max_node_storage_bytes"):
        assert cost.summary[key] == fedavg.summary[key], key
    assert cost.summary["final_accuracy"] is None
    assert cost.summary["final_perplexity"] is None
    assert "not computed" in cost.summary["quality"]
    assert cost.frames["rounds"]["perplexity"].isna().all()


@pytest.mark.parametrize("strategy", [
    {"name": "snake", "mode": "cs", "distill": "on", "frozen_dtype": "int8"},
    {"name": "splitfed", "cut": 1},  # tied embeddings across the cut
])
def test_cost_only_equals_a_real_run_for_other_schemes(strategy: dict[str, Any]) -> None:
    real = run(strategy, training={**tiny_lm(strategy)["training"], "rounds": 1})
    cost = run(strategy, training={**tiny_lm(strategy)["training"], "rounds": 1},
               mode="cost_only")
    for table in ("transfers", "computes"):
        pd.testing.assert_frame_equal(real.frames[table].drop(columns="run_id"),
                                      cost.frames[table].drop(columns="run_id"))


def test_lora_fedavg_sends_only_adapters_and_learns() -> None:
    pytest.importorskip("peft")
    full = run({"name": "fedavg"}, mode="cost_only")
    lora = run({"name": "fedavg", "lora": {"rank": 4, "alpha": 8,
                                           "targets": ["q_proj", "v_proj"]}})
    # Adapters on q and v of a randomly initialised model learn slowly (LoRA is meant
    # for pretrained weights), but they do learn.
    _falls(lora, below=250)
    # 2 blocks x (q, v) x rank 4 x (64 in + 64 out) fp32 values per adapter pair.
    adapters = 2 * 2 * 4 * (64 + 64) * 4
    per_client = lora.frames["transfers"].groupby("kind")["nbytes"].max()
    assert per_client["upload"] == per_client["download"] == adapters
    assert lora.summary["bytes_per_round"] < full.summary["bytes_per_round"] / 20
    # The frozen base model costs no gradients or optimizer state: less memory.
    assert lora.summary["max_node_peak_memory_bytes"] < full.summary[
        "max_node_peak_memory_bytes"]


def test_split_learning_sends_tokens_as_targets() -> None:
    result = run({"name": "split", "cut": 1})
    _falls(result)
    sent = result.frames["transfers"]
    up = sent[sent["kind"] == "activations"]["nbytes"]
    # Per batch of 16 sequences of 32 tokens: hidden states (fp32, width 64) and the
    # int64 tokens the server needs as targets.
    assert up.max() == 16 * 32 * 64 * 4 + 16 * 32 * 8


def test_by_source_needs_a_source_per_learner() -> None:
    data = tiny_lm({"name": "fedavg"}, topology={"kind": "star", "clients": 6})
    with pytest.raises(ConfigurationError, match="by_source"):
        run_scenario(validate_scenario(data))


def test_sequences_longer_than_the_model_are_refused() -> None:
    data = tiny_lm({"name": "fedavg"})
    data["data"]["text"]["seq_len"] = 512  # tiny-opt has 256 positions
    with pytest.raises(ConfigurationError, match=r"data\.text\.seq_len"):
        run_scenario(validate_scenario(data))


def test_lm_sections_are_checked_together(write_yaml: Any) -> None:
    data = tiny_lm({"name": "fedavg"})
    data["model"] = {"name": "digits_cnn"}
    result = CliRunner().invoke(app, ["validate", str(write_yaml(data))])
    assert result.exit_code == 2
    assert "causal_lm and dataset text go together" in result.output


def test_opt_1_3b_cost_only_runs_from_the_cli(tmp_path: Path) -> None:
    """The shipped cost-only scenario: 1.3 B parameters costed without allocating them."""
    out = tmp_path / "opt"
    result = CliRunner().invoke(app, ["run", str(REPO / "scenarios/llm/opt-1.3b-cost.yaml"),
                                      "--out", str(out), "-q"])
    assert result.exit_code == 0, result.output
    summary = pd.read_json(out / "summary.json", typ="series")
    assert summary["mode"] == "cost_only"
    # fp16 frozen weights (2.6 GB), one fp32 block training behind 23 frozen ones.
    assert 2.6e9 < summary["max_node_peak_memory_bytes"] < 12e9


def test_the_shipped_llm_scenarios_validate() -> None:
    for path in sorted((REPO / "scenarios" / "llm").glob("*.yaml")):
        scenario = load_scenario(path)
        assert scenario.model.name == "causal_lm", path


def test_cost_only_flag_costs_a_training_scenario(tmp_path: Path) -> None:
    out = tmp_path / "tiny"
    result = CliRunner().invoke(app, ["run", str(REPO / "scenarios/llm/tiny-opt-snake.yaml"),
                                      "--cost-only", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "not computed" in result.output
    summary = pd.read_json(out / "summary.json", typ="series")
    assert summary["mode"] == "cost_only" and summary["total_bytes"] > 0


def test_an_unknown_preset_is_a_located_validation_error(write_yaml: Any) -> None:
    data = tiny_lm({"name": "fedavg"})
    data["model"]["lm"]["preset"] = "opt-13b"
    result = CliRunner().invoke(app, ["validate", str(write_yaml(data))])
    assert result.exit_code == 2
    assert "model.lm.preset" in result.output and "tiny-opt" in result.output


@pytest.mark.parametrize(("section", "change", "key"), [
    ("text", {"tokenizer": "./no-such-tokenizer"}, "data.text.tokenizer: no such folder"),
    ("text", {"path": "./no-such-corpus"}, "data.text.path: no such file or folder"),
    ("lm", {"preset": None, "pretrained": "~/no-such-model"},
     "model.lm.pretrained: no such folder"),
])
def test_missing_local_files_are_located_errors(section: str, change: dict[str, Any],
                                                key: str) -> None:
    data = tiny_lm({"name": "fedavg"})
    target = data["data"]["text"] if section == "text" else data["model"]["lm"]
    target.update(change)
    with pytest.raises(ConfigurationError, match=key):
        run_scenario(validate_scenario(data))
