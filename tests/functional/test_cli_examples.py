"""The shipped examples from the command line: examples, init, running one by name."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from snakesim.cli import app

runner = CliRunner()


def test_examples_lists_names_kinds_and_descriptions() -> None:
    result = runner.invoke(app, ["examples"])
    assert result.exit_code == 0, result.output
    rows = {line.split()[0]: line.split()[1] for line in result.output.splitlines()[1:]
            if line.strip() and not line.startswith("copy one")}
    assert rows["quickstart"] == "scenario" and rows["sweeps/heterogeneity"] == "sweep"
    assert "Snake Learning (P2P) on digits" in result.output


def test_init_copies_and_then_refuses_to_overwrite(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "quickstart", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"wrote {tmp_path / 'quickstart.yaml'}" in result.output
    assert f"run it: snakesim run {tmp_path / 'quickstart.yaml'}" in result.output
    again = runner.invoke(app, ["init", "quickstart", str(tmp_path)])
    assert again.exit_code == 2
    assert again.output.strip() == (f"error: {tmp_path / 'quickstart.yaml'}: exists; not "
                                    "overwritten (remove it or choose another folder)")


def test_init_says_to_run_a_file_topology_from_its_folder(tmp_path: Path) -> None:
    result = runner.invoke(app, ["init", "abilene", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert f"run it from {tmp_path}: cd {tmp_path} && snakesim run abilene.yaml" \
        in result.output


def test_validate_resolves_names_and_keeps_the_missing_file_error(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch,
                                                                  ) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["validate", "quickstart", "heterogeneity", "nope.yaml",
                                 "quickstrt"])
    assert result.exit_code == 2
    lines = result.output.splitlines()
    assert lines[0].startswith("quickstart: no such file; using the shipped example "
                               "quickstart (")
    assert any(line.endswith("quickstart.yaml: ok") for line in lines)
    assert any(line.endswith("heterogeneity.yaml: ok (a sweep of 18 points)") for line in lines)
    assert "error: nope.yaml: no such file" in lines
    assert "error: quickstrt: no such file or shipped example (`snakesim examples` lists " \
        "them)" in lines


def test_run_of_an_unknown_name_is_one_line(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "6g"])
    assert result.exit_code == 2
    assert result.output.strip() == ("error: 6g: no such file or shipped example (`snakesim "
                                     "examples` lists them); did you mean 6g-tiered-fedavg, "
                                     "6g-tiered?")


@pytest.mark.slow
def test_run_by_name_logs_progress_lines_off_a_terminal(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SNAKESIM_PROGRESS_INTERVAL", "0")
    result = runner.invoke(app, ["run", "quickstart-fedavg", "--cost-only"])
    assert result.exit_code == 0, result.output
    assert "using the shipped example quickstart-fedavg" in result.output
    assert "quickstart-fedavg: round 1/10, 10%, elapsed " in result.output
    assert "quickstart-fedavg: round 10/10, 100%, elapsed " in result.output
    assert (tmp_path / "results" / "quickstart-fedavg" / "summary.json").is_file()
