"""``snakesim report RUN_DIR...``: finished runs side by side, with their figures."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from snakesim.cli import app
from tests.conftest import small_scenario


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("runs")
    folders = []
    for name in ("fedavg", "snake"):
        data = small_scenario({"name": name}, training={"rounds": 1})
        data["name"] = f"small-{name}"
        scenario = root / f"{name}.yaml"
        scenario.write_text(yaml.safe_dump(data))
        result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(root / name),
                                          "-q"])
        assert result.exit_code == 0, result.output
        folders.append(root / name)
    return folders


def test_runs_side_by_side_with_their_figures(runs: list[Path], tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    result = CliRunner().invoke(app, ["report", *map(str, runs), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    table = page.split('<table class="runs">', 1)[1].split("</table>", 1)[0]
    header = table.split("</tr>", 1)[0]
    assert "small-fedavg-s3" in header and "small-snake-s3" in header
    row = next(r for r in table.split("<tr>") if r.startswith("<td>payload bytes"))
    assert row.count("<td>") == 3 and " kB" in row  # the name, then one cell per run
    # One quality-vs-cost figure, then a timeline and a network per run; no files.
    assert page.count("data:image/png;base64,") == 1 + 2 * len(runs)
    assert page.count("<details><summary>Scenario of") == 2 and "digits_cnn" in page
    assert not list(tmp_path.glob(".*"))


def test_one_run_defaults_to_its_folder(runs: list[Path]) -> None:
    result = CliRunner().invoke(app, ["report", str(runs[0])])
    assert result.exit_code == 0, result.output
    assert (runs[0] / "report.html").is_file()


def test_folders_that_are_neither_are_a_clear_error(runs: list[Path], tmp_path: Path
                                                   ) -> None:
    result = CliRunner().invoke(app, ["report", str(runs[0]), str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path}: not a sweep folder" in result.output
    assert "nor a finished run folder (no summary.json)" in result.output
