"""The run summary of real runs: groups each node trained, exclusions, outages, warning."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.config import validate_scenario
from snakesim.experiments import run_scenario
from snakesim.learning.costs.model import CostModel
from snakesim.learning.models.stack import model_factory
from tests.conftest import small_scenario

pytestmark = pytest.mark.slow  # real training

ONE = {"optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 1, "rounds": 1}


def test_snake_summary_names_each_nodes_groups_and_the_skipped_node() -> None:
    assignment = {"kind": "explicit", "map": {"n1": [0, 1], "n2": [2], "n4": [3]}}
    result = run_scenario(validate_scenario(small_scenario(
        {"name": "snake", "assignment": assignment}, training=ONE)))
    nodes = result.summary["nodes"]
    assert {n: f["groups"] for n, f in nodes.items()} == {
        "n1": [0, 1, 4], "n2": [2, 4], "n3": [], "n4": [3, 4], "server": []}  # 4: the head
    assert nodes["n3"]["excluded"] == [{"what": "training", "round": 1,
                                        "why": "strategy.assignment: no groups in the map"}]
    assert result.summary["excluded_nodes"] == ["n3"]
    # The groups come from the jobs that ran: the computes table says it per job.
    assert set(result.frames["computes"]["groups"]) == {"0,1,4", "2,4", "3,4"}
    json.dumps(result.summary)  # summary.json holds it as it is


def test_split_summary_puts_the_client_part_on_clients_and_the_rest_on_the_server() -> None:
    result = run_scenario(validate_scenario(small_scenario({"name": "split", "cut": 2},
                                                           training=ONE)))
    groups = {n: f["groups"] for n, f in result.summary["nodes"].items()}
    assert groups == {"n1": [0, 1], "n2": [0, 1], "n3": [0, 1], "n4": [0, 1],
                      "server": [2, 3, 4]}


def test_outages_and_their_effects_are_counted() -> None:
    base = small_scenario({"name": "fedavg"}, training=ONE)
    result = run_scenario(validate_scenario({**base, "outages": {"links": [
        {"between": ["n1", "server"], "windows": [{"start": 0.03, "duration": 1}]}]}}))
    counts = result.summary["counts"]
    assert counts["outages"] == 1 == result.summary["outage_events"]
    effects = result.frames["effects"]
    assert counts["effects"] == {k: int(v) for k, v in
                                 effects.groupby("effect")["count"].sum().items()}
    hit = {n: f["effects"] for n, f in result.summary["nodes"].items() if f["effects"]}
    assert hit == {"n1": {"waited": 1}}  # its upload found no live route until 1.03 s
    assert result.summary["excluded_nodes"] == []


def test_run_prints_the_nodes_and_warns_when_nodes_were_excluded(write_yaml,
                                                                  tmp_path: Path) -> None:
    factory = model_factory("digits_cnn", num_classes=10, width=8)
    full = CostModel(factory, (1, 8, 8), "adam", 0.9).memory(range(5), 32).total
    poor = {"dist": "list", "values": [full - 1, "4 GB", "4 GB", full - 1]}
    path = write_yaml(small_scenario({"name": "fedavg"}, training=ONE,
                                     nodes={"compute": "5 GFLOPS", "memory": poor}))
    out = tmp_path / "run"
    for quiet in ([], ["-q"]):
        result = CliRunner().invoke(app, ["run", str(path), "--out", str(out), *quiet])
        assert result.exit_code == 0, result.output
        warning = [line for line in result.output.splitlines() if line.startswith("warning")]
        # One line, printed with --quiet too.
        assert warning == [f"warning: {path}: 2 of 5 nodes excluded (n1, n4): nodes.memory: "
                           f"cannot train the whole model (2); details: \"nodes\" in "
                           f"{out}/summary.json, {out}/effects.parquet"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["excluded_nodes"] == ["n1", "n4"]
    assert summary["nodes"]["n2"]["groups"] == [0, 1, 2, 3, 4]
    assert summary["counts"] == {"outages": 0, "effects": {"excluded": 2}}
    shown = CliRunner().invoke(app, ["run", str(path), "--out", str(out)]).output
    assert "initial accuracy (round 0)" in shown and "excluded nodes" in shown
    assert "cannot train the whole model" in shown.split("results in")[0]  # the table
