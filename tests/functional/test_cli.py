"""The command line as a user meets it: run, validate, schema, plot and their errors."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
import typer
import yaml
from typer.testing import CliRunner

from snakesim.cli import app
from snakesim.config import load_scenario
from tests.conftest import REPO, small_scenario

runner = CliRunner()


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args))


@pytest.mark.slow
def test_run_writes_the_result_folder(write_yaml, tmp_path: Path) -> None:
    path = write_yaml(small_scenario({"name": "snake"}, training={"rounds": 1}))
    out = tmp_path / "run"
    result = invoke("run", str(path), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "final accuracy" in result.output
    names = {p.name for p in out.iterdir()}
    assert {"scenario.yaml", "summary.json", "rounds.parquet", "transfers.parquet",
            "computes.parquet", "nodes.parquet", "links.parquet"} <= names
    assert not [n for n in names if n.startswith(".")]  # no temporary files left
    summary = json.loads((out / "summary.json").read_text())
    for key in ("strategy", "rounds", "final_accuracy", "total_bytes", "link_bytes",
                "sim_time_s", "max_node_peak_memory_bytes", "max_node_storage_bytes"):
        assert key in summary
    # The resolved scenario is a valid scenario equal to the one that ran.
    assert load_scenario(out / "scenario.yaml") == load_scenario(path)


@pytest.mark.slow
def test_default_out_is_results_slash_name(write_yaml, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    monkeypatch.chdir(tmp_path)
    assert invoke("run", str(path), "-q").exit_code == 0
    assert (tmp_path / "results" / "small" / "summary.json").is_file()


BAD_FILES = {
    "unknown key": ("name: x\nstrategy: {name: snake}\ncolour: red\n",
                    "bad.yaml: colour: unknown key (got colour)"),
    "negative bandwidth": ("name: x\nstrategy: {name: snake}\nlinks: {bandwidth: -5 Mbps}\n",
                           "bad.yaml: links.bandwidth: must be > 0 (got -5 Mbps)"),
    "unknown unit": ("name: x\nstrategy: {name: snake}\nlinks: {latency: 5 lightyears}\n",
                     "bad.yaml: links.latency: unknown time unit 'lightyears'"),
    "yaml syntax": ("name: x\nstrategy: [snake\n", "bad.yaml:3:1: YAML syntax error"),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_files_give_one_located_line_and_exit_2(case: str, command: str,
                                                     tmp_path: Path) -> None:
    text, expected = BAD_FILES[case]
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    result = invoke(command, str(path))
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert expected in lines[0]
    assert "Traceback" not in result.output


@pytest.mark.parametrize("command", ["run", "validate"])
def test_missing_file(command: str, tmp_path: Path) -> None:
    result = invoke(command, str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {tmp_path / 'nope.yaml'}: no such file"


def test_validate_accepts_the_shipped_scenarios() -> None:
    files = sorted(str(p) for p in (REPO / "scenarios").glob("*.yaml"))
    files += sorted(str(p) for p in (REPO / "scenarios" / "schemes").glob("*.yaml"))
    assert len(files) >= 15
    result = invoke("validate", *files)
    assert result.exit_code == 0, result.output
    assert result.output.count(": ok") == len(files)


def test_schema_is_json_schema_of_a_scenario() -> None:
    result = invoke("schema")
    assert result.exit_code == 0
    schema = json.loads(result.output)
    assert schema["title"] == "Scenario"
    assert "strategy" in schema["required"]


@pytest.mark.slow
def test_plot_draws_runs(write_yaml, tmp_path: Path) -> None:
    runs = []
    for strategy in ("snake", "fedavg"):
        path = write_yaml(small_scenario({"name": strategy}, training={"rounds": 1}),
                          name=f"{strategy}.yaml")
        runs.append(tmp_path / strategy)
        assert invoke("run", str(path), "--out", str(runs[-1]), "-q").exit_code == 0
    png = tmp_path / "fig.png"
    result = invoke("plot", *map(str, runs), "--out", str(png))
    assert result.exit_code == 0, result.output
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 10_000  # a drawn figure, not an empty canvas


def test_plot_of_a_folder_that_is_not_a_run(tmp_path: Path) -> None:
    result = invoke("plot", str(tmp_path))
    assert result.exit_code == 2
    assert "not a finished run" in result.output


def test_quickstart_files_are_the_same_scenario_but_for_the_strategy() -> None:
    snake = yaml.safe_load((REPO / "scenarios" / "quickstart.yaml").read_text())
    fedavg = yaml.safe_load((REPO / "scenarios" / "quickstart-fedavg.yaml").read_text())
    for key in ("data", "model", "training", "topology", "nodes", "links", "seed"):
        assert snake[key] == fedavg[key], key


def test_a_valid_file_that_cannot_run_names_the_file(write_yaml) -> None:
    data = small_scenario({"name": "fedavg"},
                          data={"partition": {"kind": "dirichlet", "alpha": 0.5,
                                              "min_samples": 400}})
    path = write_yaml(data)
    result = invoke("run", str(path), "-q")
    assert result.exit_code == 2
    assert result.output.startswith(f"error: {path}: data.partition.min_samples:")
    assert len(result.output.strip().splitlines()) == 1


def test_the_shipped_sweeps_load() -> None:
    from snakesim.config.sweep import load_sweep

    sweeps = sorted((REPO / "scenarios" / "sweeps").glob("*.yaml"))
    assert sweeps
    for path in sweeps:
        assert load_sweep(path).points


# --- no traceback reaches a user ----------------------------------------------------------

FAILURES = {
    "out of memory": (MemoryError(), 2, "error: out of memory in 'snakesim run {file}'"),
    "torch out of memory": (RuntimeError("DefaultCPUAllocator: can't allocate memory: you "
                                         "tried to allocate 9999999999 bytes"), 2,
                            "error: out of memory in 'snakesim run {file}'"),
    "disk full": (OSError(errno.ENOSPC, "No space left on device", "results/x/a.parquet"),
                  2, "error: results/x/a.parquet: No space left on device"),
    "permission": (PermissionError(errno.EACCES, "Permission denied", "/data/x"), 2,
                   "error: /data/x: Permission denied"),
    "overflow": (OverflowError("int too large to convert to float"), 2,
                 "error: {file}: numeric overflow from an extreme input value "
                 "(OverflowError: int too large to convert to float)"),
    "floating point": (FloatingPointError("overflow encountered in exp"), 2,
                       "error: {file}: numeric overflow from an extreme input value"),
    "a bug": (ZeroDivisionError("division by zero"), 70,
              "internal error: ZeroDivisionError: division by zero (traceback saved to "),
}


def fail_with(error: BaseException):  # type: ignore[no-untyped-def]
    def fail(*args: object, **kwargs: object) -> None:
        raise error

    return fail


@pytest.mark.parametrize("case", sorted(FAILURES))
def test_every_failure_is_one_line_without_a_traceback(
        case: str, write_yaml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    error, code, expected = FAILURES[case]
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    monkeypatch.setenv("SNAKESIM_CRASH_DIR", str(tmp_path / "crashes"))
    monkeypatch.setattr("snakesim.api.run_scenario", fail_with(error))
    result = invoke("run", str(path), "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == code, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert lines[0].startswith(expected.format(file=path)), lines[0]
    assert "Traceback" not in result.output
    crashes = list((tmp_path / "crashes").glob("snakesim-crash-*-*.txt"))
    if code == 70:
        assert len(crashes) == 1 and lines[0].endswith(
            f"traceback saved to {crashes[0]}; please report it with the scenario file)")
        text = crashes[0].read_text()
        assert "Traceback" in text and "ZeroDivisionError: division by zero" in text
    else:
        assert not crashes


def test_a_bug_in_a_sweep_is_saved_and_reported_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(small_scenario({"name": "fedavg"})))
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(yaml.safe_dump({"name": "s", "base": "base.yaml", "seeds": [1]}))
    monkeypatch.setenv("SNAKESIM_CRASH_DIR", str(tmp_path / "crashes"))
    monkeypatch.setattr("snakesim.api.run_sweep",
                        fail_with(KeyError("surprise")))
    result = invoke("sweep", str(sweep), "--out", str(tmp_path / "out"))
    assert result.exit_code == 70
    assert result.output.strip().startswith("internal error: KeyError: 'surprise'")
    assert len(list((tmp_path / "crashes").iterdir())) == 1


def test_ctrl_c_says_interrupted_and_exits_130(write_yaml, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    monkeypatch.setattr("snakesim.api.run_scenario", fail_with(KeyboardInterrupt()))
    result = invoke("run", str(path), "--out", str(tmp_path / "out"), "-q")
    assert result.exit_code == 130
    assert result.output.strip() == "interrupted"
    assert not (tmp_path / "out" / "summary.json").exists()


def test_typer_and_click_exits_pass_through(write_yaml, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    monkeypatch.setattr("snakesim.api.run_scenario", fail_with(typer.Exit(3)))
    assert invoke("run", str(path), "-q", "--out", str(tmp_path / "o")).exit_code == 3
    monkeypatch.setattr("snakesim.api.run_scenario",
                        fail_with(typer.BadParameter("no good", param_hint="'--x'")))
    result = invoke("run", str(path), "-q", "--out", str(tmp_path / "o"))
    assert result.exit_code == 2 and "Invalid value for '--x': no good" in result.output
    usage = invoke("run")  # a missing argument: click's own usage error
    assert usage.exit_code == 2 and "Missing argument" in usage.output


def test_validate_accepts_sweep_files_and_checks_their_points(tmp_path: Path) -> None:
    result = invoke("validate", str(REPO / "scenarios/sweeps/heterogeneity.yaml"))
    assert result.exit_code == 0, result.output
    assert "ok (a sweep of 18 points)" in result.output
    bad = tmp_path / "sweep.yaml"
    bad.write_text(f"name: s\nbase: {REPO / 'scenarios/quickstart.yaml'}\n"
                   "grid: {training.rounds: [1, true, -3]}\n", encoding="utf-8")
    result = invoke("validate", str(bad))
    assert result.exit_code == 2
    assert f"{bad}: grid.training.rounds.1: input should be a valid integer" in result.output
    assert f"{bad}: grid.training.rounds.2:" in result.output
