"""``snakesim compare`` and costs to a target on small real runs; a sweep with a target."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from snakesim.api import run as run_api
from snakesim.cli import app
from snakesim.config import validate_scenario
from snakesim.config.sweep import load_sweep
from snakesim.config.targets import QualityTarget
from snakesim.errors import ScenarioError
from snakesim.experiments.store import read_summary, read_table
from snakesim.experiments.targets import NEEDED, run_cost_to_target, spent_until
from snakesim.units import Dimension, format_quantity
from tests.conftest import small_scenario

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


def tiny(strategy: dict[str, Any], name: str, **changes: Any) -> dict[str, Any]:
    """3 clients, 3 rounds, a 4-wide CNN on digits, with every energy price set."""
    return small_scenario(
        strategy, name=name,
        training={"rounds": 3, "optimizer": "adam", "lr": 0.003, "batch_size": 32,
                  "local_epochs": 1},
        model={"name": "digits_cnn", "width": 4}, topology={"kind": "star", "clients": 3},
        nodes={"compute": "4 GFLOPS", "energy_per_flop": "20 pJ", "idle_power": "2 W",
               "server": {"compute": "1 TFLOPS", "memory": "64 GB", "storage": "1 TB",
                          "idle_power": "50 W"}},
        links={"latency": "5 ms", "bandwidth": "100 Mbps", "energy_per_bit": "10 nJ",
               "overrides": [{"between": ["n1", "server"], "energy_per_bit": "100 nJ"}]},
        **changes)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    """A FedAvg and a Snake run, stored as ``snakesim run`` stores them."""
    root = tmp_path_factory.mktemp("runs")
    folders = []
    for strategy, name in (({"name": "fedavg"}, "fa"), ({"name": "snake", "mode": "p2p"},
                                                          "sn")):
        folder = root / name
        run_api(validate_scenario(tiny(strategy, name)), out=folder)
        folders.append(folder)
    return folders


def _tables(run_dir: Path) -> dict[str, pd.DataFrame]:
    return {name: read_table(run_dir, name) for name in NEEDED}


@pytest.mark.slow
def test_costs_by_the_end_are_the_run_totals(runs: list[Path]) -> None:
    for run_dir in runs:
        summary = read_summary(run_dir)
        assert summary["energy_j"] > 0
        energy, flops = spent_until(_tables(run_dir), summary["sim_time_s"])
        assert energy == pytest.approx(summary["energy_j"], rel=1e-9)
        assert flops == pytest.approx(summary["total_flops"], rel=1e-12)


@pytest.mark.slow
def test_the_final_accuracy_as_target_is_reached_by_the_end(runs: list[Path]) -> None:
    for run_dir in runs:
        rounds = read_table(run_dir, "rounds")
        best = float(rounds["accuracy"].max())
        cost = run_cost_to_target(run_dir, QualityTarget(accuracy=best))
        first = rounds[rounds["accuracy"] >= best].iloc[0]
        assert (cost.round, cost.step) == (first["round"], first["step"])
        assert cost.sim_time_s == first["sim_time_s"]
        assert cost.total_bytes == first["cum_total_bytes"]
        assert 0 < cost.energy_j <= read_summary(run_dir)["energy_j"] * (1 + 1e-12)
        beyond = run_cost_to_target(run_dir, QualityTarget(accuracy=min(1.0, best + 1e-6)))
        assert not beyond.reached and math.isnan(beyond.energy_j)


@pytest.mark.slow
def test_compare_table_csv_and_markdown(runs: list[Path], tmp_path: Path) -> None:
    csv, md = tmp_path / "t.csv", tmp_path / "out" / "t.md"
    fa = read_table(runs[0], "rounds")
    target = float(fa["accuracy"].iloc[1])  # FedAvg gets there in round 2 at the latest
    result = invoke("compare", *map(str, runs), "--target-accuracy", str(target),
                    "--csv", str(csv), "--markdown", str(md))
    assert result.exit_code == 0, result.output
    assert "fedavg" in result.output and "snake" in result.output
    assert "time to target" in result.output
    table = pd.read_csv(csv)
    assert list(table["run"]) == ["fa", "sn"]
    for row, run_dir in zip(table.itertuples(), runs, strict=True):
        summary = read_summary(run_dir)
        assert row.strategy == summary["strategy"] and row.seed == summary["seed"]
        assert row.total_bytes == summary["total_bytes"]
        assert row.sim_time_s == pytest.approx(summary["sim_time_s"], rel=1e-9)
        assert row.energy_j == pytest.approx(summary["energy_j"], rel=1e-9)
        assert row.final_accuracy == pytest.approx(summary["final_accuracy"], rel=1e-9)
        assert math.isnan(row.final_perplexity)
        cost = run_cost_to_target(run_dir, QualityTarget(accuracy=target))
        if cost.reached:
            assert row.time_to_target_s == pytest.approx(cost.sim_time_s, rel=1e-9)
            assert row.bytes_to_target == cost.total_bytes
        else:
            assert math.isnan(row.time_to_target_s)
    assert table.loc[0, "time_to_target_s"] <= fa["sim_time_s"].iloc[1]
    lines = md.read_text().splitlines()
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in lines
            if line.startswith("|")]
    header, body = rows[0], rows[2:]
    assert header[:3] == ["run", "strategy", "scenario"] and "bytes to target" in header
    assert [r[0] for r in body] == ["fa", "sn"]
    size = header.index("payload bytes")
    assert body[0][size] == format_quantity(read_summary(runs[0])["total_bytes"],
                                            Dimension.SIZE)


@pytest.mark.slow
def test_csv_to_stdout_and_never_reached(runs: list[Path]) -> None:
    result = invoke("compare", *map(str, runs), "--target-accuracy", "1", "--csv", "-")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(io.StringIO(result.stdout))
    assert table["time_to_target_s"].isna().all() and table["energy_to_target_j"].isna().all()
    assert "NaN" in result.stdout
    shown = invoke("compare", *map(str, runs), "--target-accuracy", "1")
    assert "not reached" in shown.output


@pytest.mark.slow
def test_perplexity_target_on_classifier_runs_is_refused(runs: list[Path]) -> None:
    result = invoke("compare", *map(str, runs), "--target-perplexity", "10")
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert lines == [f"error: {d}: a classifier run, judged by accuracy: give an accuracy "
                     "target, not perplexity" for d in runs]


@pytest.mark.slow
def test_accuracy_target_on_a_language_model_run_is_refused(tmp_path: Path) -> None:
    pytest.importorskip("transformers")
    from tests.functional.test_llm_runs import tiny_lm

    folder = tmp_path / "lm"
    run_api(validate_scenario(tiny_lm({"name": "fedavg"},
                                      training={"optimizer": "adamw", "lr": 0.003,
                                                "batch_size": 16, "local_epochs": 1,
                                                "rounds": 1})), out=folder)
    result = invoke("compare", str(folder), "--target-accuracy", "0.5")
    assert result.exit_code == 2
    assert f"{folder}: a language model run, judged by perplexity" in result.output
    summary = read_summary(folder)
    assert summary["final_perplexity"] < summary["initial_perplexity"]
    # Half way between the initial model (round 0) and the trained one: first met at 1.
    midway = (summary["initial_perplexity"] + summary["final_perplexity"]) / 2
    ok = invoke("compare", str(folder), "--target-perplexity", f"{midway:.6g}", "--csv", "-")
    assert ok.exit_code == 0, ok.output
    table = pd.read_csv(io.StringIO(ok.stdout))
    assert table.loc[0, "metric"] == "perplexity" and table.loc[0, "target_round"] == 1
    assert table.loc[0, "final_perplexity"] == pytest.approx(
        read_summary(folder)["final_perplexity"])


@pytest.mark.parametrize(("args", "message"), [
    (["--target-accuracy", "0.5", "--target-perplexity", "3"],
     "error: --target-accuracy, --target-perplexity: give one target, not both"),
    (["--target-accuracy", "1.5"], "error: --target-accuracy: "),
    (["--target-perplexity", "0.5"], "error: --target-perplexity: "),
    (["--csv", "-", "--markdown", "-"], "error: --csv, --markdown: only one"),
])
def test_bad_options_give_one_located_line(tmp_path: Path, args: list[str],
                                           message: str) -> None:
    result = invoke("compare", str(tmp_path), *args)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert result.output.startswith(message), result.output


def test_folders_that_are_not_runs_say_which_and_why(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "file.txt").write_text("x")
    sweep = tmp_path / "sweep"
    sweep.mkdir()
    (sweep / "summary.parquet").write_bytes(b"")
    failed = tmp_path / "failed"
    failed.mkdir()
    (failed / "failed.json").write_text(json.dumps({"error": "boom"}))
    result = invoke("compare", *(str(tmp_path / n) for n in
                                 ("empty", "file.txt", "sweep", "failed", "missing")))
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 5
    assert lines[0].startswith(f"error: {tmp_path / 'empty'}: not a run folder (no "
                               "summary.json")
    assert lines[1] == f"error: {tmp_path / 'file.txt'}: is a file, not a run folder"
    assert lines[2].startswith(f"error: {sweep}: is a sweep folder, not a run")
    assert lines[3].startswith(f"error: {failed}: a run that failed")
    assert lines[4] == f"error: {tmp_path / 'missing'}: no such folder"


def _sweep(tmp_path: Path, target: dict[str, Any], **base: Any) -> Path:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(
        tiny({"name": "fedavg"}, "b", **base)))
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump({
        "name": "t", "base": "base.yaml", "target": target,
        "grid": {"strategy": [{"name": "fedavg"}, {"name": "snake", "mode": "p2p"}]}}))
    return path


@pytest.mark.parametrize(("target", "base", "expected"), [
    ({"accuracy": 2}, {}, "sweep.yaml: target.accuracy: "),
    ({"accuracy": 0.5, "perplexity": 3}, {},
     "sweep.yaml: target: give exactly one of accuracy or perplexity"),
    ({"perplexity": 20}, {}, "sweep.yaml: target.perplexity: point strategy=fedavg_seed=3 "
     "is judged by accuracy (model digits_cnn), not perplexity (got 20"),
    ({"accuracy": 0.5}, {"mode": "cost_only"}, "sweep.yaml: target.accuracy: point "
     "strategy=fedavg_seed=3 measures no quality (mode cost_only) (got 0.5)"),
    ({"colour": 1}, {}, "sweep.yaml: target.colour: unknown key"),
])
def test_bad_sweep_targets_are_located(tmp_path: Path, target: dict[str, Any],
                                       base: dict[str, Any], expected: str) -> None:
    with pytest.raises(ScenarioError) as info:
        load_sweep(_sweep(tmp_path, target, **base))
    assert expected in str(info.value), str(info.value)


@pytest.mark.slow
def test_a_sweep_with_a_target_adds_its_columns_and_figure(tmp_path: Path) -> None:
    path = _sweep(tmp_path, {"accuracy": 0.2})
    out = tmp_path / "out"
    assert invoke("sweep", str(path), "--out", str(out)).exit_code == 0
    summary = pd.read_parquet(out / "summary.parquet")
    assert (summary["target"] == "accuracy >= 0.2").all()
    for row in summary.itertuples():
        cost = run_cost_to_target(out / row.run_dir, QualityTarget(accuracy=0.2))
        assert row.target_round == cost.round or (math.isnan(row.target_round)
                                                  and not cost.reached)
        assert row.bytes_to_target == cost.total_bytes or not cost.reached
    result = invoke("plot", str(out))
    assert result.exit_code == 0, result.output
    assert (out / "figures" / "target.png").is_file()
    # Changing the target reruns nothing and rewrites the summary's target columns.
    path.write_text(path.read_text().replace("accuracy: 0.2", "accuracy: 1.0"))
    assert invoke("sweep", str(path), "--out", str(out)).exit_code == 0
    summary = pd.read_parquet(out / "summary.parquet")
    assert summary["time_to_target_s"].isna().all()
    assert invoke("plot", str(out)).exit_code == 0


def _summary(rows: list[tuple[str, float, int, float]]) -> pd.DataFrame:
    """A sweep summary with target columns: (strategy, alpha, seed, time to target)."""
    return pd.DataFrame([{"strategy": s, "alpha": a, "seed": seed, "target":
                          "accuracy >= 0.9", "time_to_target_s": t,
                          "bytes_to_target": t * 1e6} for s, a, seed, t in rows])


def test_target_figure_marks_what_was_not_reached() -> None:
    from snakesim.analysis.target_plots import target_figure

    nan = math.nan
    summary = _summary([("fedavg", 0.1, 1, 2.0), ("fedavg", 0.1, 2, nan),
                        ("fedavg", 10.0, 1, 1.0), ("fedavg", 10.0, 2, 3.0),
                        ("snake", 0.1, 1, nan), ("snake", 0.1, 2, nan),
                        ("snake", 10.0, 1, 4.0), ("snake", 10.0, 2, 4.0)])
    fig = target_figure(summary, ["strategy", "alpha", "seed"])
    assert "5 of 8 runs reached it" in fig.texts[0].get_text()
    time_ax = fig.axes[0]
    assert [t.get_text() for t in time_ax.texts] == ["1/2"]  # fedavg at alpha 0.1
    crosses = [line for line in time_ax.lines if line.get_marker() == "x"]
    assert len(crosses) == 1  # snake at alpha 0.1: no seed reached it
    means = [line for line in time_ax.lines if line.get_marker() == "o"]
    assert list(means[0].get_ydata()) == [2.0, 2.0]  # reached seeds only
    assert [t.get_text() for t in time_ax.get_legend().get_texts()] == ["fedavg", "snake"]


def test_target_figure_without_a_numeric_parameter_draws_bars() -> None:
    from snakesim.analysis.target_plots import target_figure

    summary = _summary([("fedavg", 1.0, 1, 2.0), ("snake", 1.0, 1, math.nan)])
    fig = target_figure(summary, ["strategy", "seed"])
    ax = fig.axes[0]
    assert len(ax.patches) == 1 and ax.patches[0].get_height() == 2.0
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fedavg", "snake"]
    assert [t.get_text() for t in ax.texts] == ["not reached"]
