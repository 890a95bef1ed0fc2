"""Sweeps: labels stay inside the sweep folder, results are tied to their scenario, equal
points run once, and no failing point (an exception, a dead worker) stops a sweep."""

from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import snakesim
from snakesim.cli import app
from snakesim.config.loading import validate_scenario
from snakesim.config.sweep import MAX_LABEL, SweepPoint, load_sweep
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.experiments.sweep import run_sweep
from tests.functional.test_sweep import tiny_base, write_sweep

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def label_of(values: dict[str, Any], index: int = 0) -> str:
    return SweepPoint(index, values, validate_scenario(tiny_base())).label


@pytest.mark.parametrize("values", [
    {"model.lm.overrides./etc/cron.d/x": 1},
    {"model.lm.overrides.../../x": "../../y"},
    {"data.path": "/abs/path/data"},
    {"strategy": {"name": "snake", "note": "a/b\\c\x00d"}},
    {f"k{i}": "v" * 40 for i in range(12)},  # far over 200 bytes
])
def test_every_label_is_one_plain_file_name(values: dict[str, Any]) -> None:
    label = label_of(values)
    assert "/" not in label and "\\" not in label and "\x00" not in label
    assert not label.startswith(".") and label not in ("", ".", "..")
    assert len(label.encode()) <= MAX_LABEL
    assert Path(label).name == label


def test_plain_labels_are_unchanged() -> None:
    # Existing sweep folders keep their names, so resuming them still finds their runs.
    assert label_of({"training.local_epochs": 2, "data.partition.alpha": 0.1,
                     "links.bandwidth": "1 Gbps"}) == (
        "local_epochs=2_alpha=0.1_bandwidth=1-Gbps_seed=3")


def test_a_too_long_label_falls_back_to_index_and_hash() -> None:
    long = {f"k{i}": "v" * 40 for i in range(12)}
    other = {**long, "k0": "w" * 40}
    assert label_of(long, 7).startswith("point-0007-")
    assert label_of(long, 7) != label_of(other, 7)  # the hash tells them apart
    assert label_of(long, 7) == label_of(dict(long), 7)  # and is stable


def test_a_point_folder_outside_the_sweep_folder_is_refused(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, seeds=[1])
    out, elsewhere = tmp_path / "out", tmp_path / "elsewhere"
    out.mkdir()
    elsewhere.mkdir()
    label = load_sweep(path).points[0].label
    (out / label).symlink_to(elsewhere)  # a planted link must not redirect the run
    with pytest.raises(ConfigurationError, match="not inside the sweep folder"):
        run_sweep(load_sweep(path), out)
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out)])
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1
    assert list(elsewhere.iterdir()) == []


def test_a_bad_strategy_dict_in_a_grid_is_a_located_error(tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"strategy": [{"name": "snake", "mode": "bogus"},
                                                    {"name": "fedavg"}]})
    with pytest.raises(ScenarioError) as info:
        load_sweep(path)
    assert str(info.value) == (f"{path}: grid.strategy.0.mode: input should be 'p2p' "
                               "or 'cs' (got bogus)")
    result = CliRunner().invoke(app, ["sweep", str(path)])
    assert result.exit_code == 2
    assert result.output.strip() == f"error: {info.value}"


class Progress:
    def __init__(self) -> None:
        self.calls: list[tuple[int, int, str]] = []

    def __call__(self, done: int, total: int, label: str) -> None:
        self.calls.append((done, total, label))

    @property
    def ran(self) -> int:
        """How many points ran (every call after the first is one)."""
        return len(self.calls) - 1


def sweep_with_progress(path: Path, out: Path, jobs: int = 1) -> tuple[pd.DataFrame, Progress]:
    progress = Progress()
    table = snakesim.sweep(path, out=out, jobs=jobs, on_progress=progress)
    return table, progress


def test_a_changed_base_reruns_its_points_and_an_unchanged_one_does_not(
        tmp_path: Path) -> None:
    path = write_sweep(tmp_path, grid={"data.partition.alpha": [0.3, 3.0]})
    out = tmp_path / "out"
    table, progress = sweep_with_progress(path, out)
    assert progress.ran == 2 and set(table["rounds"]) == {1}
    base = yaml.safe_load((tmp_path / "base.yaml").read_text())
    base["training"]["rounds"] = 2
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(base))
    table, progress = sweep_with_progress(path, out)
    assert progress.ran == 2 and set(table["rounds"]) == {2}
    summaries = sorted(out.glob("*/summary.json"))
    assert {json.loads(p.read_text())["rounds"] for p in summaries} == {2}
    stamps = [p.stat().st_mtime_ns for p in summaries]
    table, progress = sweep_with_progress(path, out)
    assert progress.calls == [(2, 2, "2 already finished")] and len(table) == 2
    assert [p.stat().st_mtime_ns for p in summaries] == stamps
    # A result written before the hash was stored is not trusted: it runs again.
    old = json.loads(summaries[0].read_text())
    del old["scenario_sha256"]
    summaries[0].write_text(json.dumps(old))
    table, progress = sweep_with_progress(path, out)
    assert progress.ran == 1 and progress.calls[-1][2] == summaries[0].parent.name
    assert "scenario_sha256" in json.loads(summaries[0].read_text())
    assert "scenario_sha256" not in table  # bookkeeping, not a result


def test_equal_points_run_once(tmp_path: Path) -> None:
    # 1 and 1.0 are different labels but the same learning rate: one run.
    path = write_sweep(tmp_path, grid={"training.lr": [1, 1.0, 0.01]}, seeds=[1])
    assert len(load_sweep(path).points) == 3
    out = tmp_path / "out"
    table, progress = sweep_with_progress(path, out)
    assert len(table) == 2 and progress.ran == 2
    assert {total for _, total, _ in progress.calls} == {2}
    labels = [p.label for p in load_sweep(path).points]
    assert json.loads((out / "duplicates.json").read_text()) == {labels[1]: labels[0]}
    assert not (out / labels[1]).exists()
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "2 of 2 runs finished" in result.output and "1 point(s) equal" in result.output


def test_a_point_that_raises_a_bug_is_recorded_and_the_sweep_goes_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from snakesim.experiments import pool

    real = pool.run_scenario

    def buggy(scenario: Any, *args: Any, **kwargs: Any) -> Any:
        if scenario.training.lr == 0.0123:
            raise RuntimeError("injected bug")
        return real(scenario, *args, **kwargs)

    monkeypatch.setattr(pool, "run_scenario", buggy)
    path = write_sweep(tmp_path, grid={"training.lr": [0.0123, 0.003]})
    out = tmp_path / "out"
    result = CliRunner().invoke(app, ["sweep", str(path), "--out", str(out)])
    assert result.exit_code == 1, result.output
    assert "1 of 2 runs finished" in result.output
    failed = json.loads((out / "lr=0.0123_seed=3" / "failed.json").read_text())
    assert failed["error"] == "RuntimeError: injected bug"
    trace = Path(failed["traceback"]).read_text()
    assert "Traceback" in trace and "injected bug" in trace
    assert "failed: lr=0.0123_seed=3: RuntimeError: injected bug (traceback in" in result.output
    assert "Traceback" not in result.output


FAULTS = textwrap.dedent('''
    """Test-only faults for sweep workers (spawned processes only): chosen by the lr."""
    import os
    import signal
    import sys

    if "--multiprocessing-fork" in sys.argv:
        import snakesim.experiments.pool as _pool

        _real = _pool.run_scenario

        def _faulty(scenario, *args, **kwargs):
            lr = scenario.training.lr
            if lr == 0.0666:  # kills its worker every time
                os.kill(os.getpid(), signal.SIGKILL)
            marker = os.environ["SNAKESIM_TEST_KILLED_ONCE"]
            if lr == 0.0777 and not os.path.exists(marker):  # only the first time
                open(marker, "w").close()
                os.kill(os.getpid(), signal.SIGKILL)
            if lr == 0.0123:
                raise ZeroDivisionError("injected")
            return _real(scenario, *args, **kwargs)

        _pool.run_scenario = _faulty
''')


def plant_faults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Plant `FAULTS` in every spawned worker; return the kill-once marker's path."""
    # Workers are spawned interpreters: a sitecustomize on their PYTHONPATH plants the
    # faults there, so the pool, its workers and the kills are all real.
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(FAULTS)
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(
        [str(site), *filter(None, [os.environ.get("PYTHONPATH")])]))
    marker = tmp_path / "killed-once"
    monkeypatch.setenv("SNAKESIM_TEST_KILLED_ONCE", str(marker))
    return marker


# The two kinds of death run in separate sweeps: in one sweep, the point that always
# kills could break the pool before the kill-once point reached its own kill, and that
# point's solo retry would then be its second death (a result that hung on timing).


def test_a_worker_that_dies_once_loses_no_sibling_and_its_point_is_retried(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = plant_faults(tmp_path, monkeypatch)
    path = write_sweep(tmp_path, grid={"training.lr": [0.0777, 0.003]})
    out = tmp_path / "out"
    table, progress = sweep_with_progress(path, out, jobs=2)
    assert marker.exists()  # the fault really fired
    assert sorted(table["training.lr"]) == [0.003, 0.0777]
    assert progress.ran == 2
    assert not list(out.glob("*/failed.json"))


def test_a_point_that_always_kills_its_worker_is_marked_failed_and_siblings_go_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plant_faults(tmp_path, monkeypatch)
    path = write_sweep(tmp_path, grid={"training.lr": [0.003, 0.0666, 0.0123]})
    out = tmp_path / "out"
    table, progress = sweep_with_progress(path, out, jobs=2)
    assert sorted(table["training.lr"]) == [0.003]
    assert progress.ran == 3
    died = json.loads((out / "lr=0.0666_seed=3" / "failed.json").read_text())
    assert died["error"].startswith("worker process died")
    bug = json.loads((out / "lr=0.0123_seed=3" / "failed.json").read_text())
    assert bug["error"] == "ZeroDivisionError: injected"
    assert (out / "lr=0.0123_seed=3" / "traceback.txt").is_file()
