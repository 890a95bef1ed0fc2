"""The result store: it deletes only what it created, a killed re-run keeps the previous
complete result, and an output folder that cannot be written fails before any run."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import snakesim
from snakesim.cli import app
from snakesim.config.loading import validate_scenario
from snakesim.config.schema import Scenario
from snakesim.errors import ResultsError
from snakesim.experiments import store
from snakesim.experiments.store import (
    TABLES,
    TEMP_PREFIX,
    prepare_out,
    read_summary,
    read_table,
    write_run,
)
from tests.conftest import small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

USER_FILES = {".gitignore": "results/\n", ".env": "TOKEN=mine\n", "notes.txt": "mine\n",
              "sub/keep.txt": "mine\n", ".hidden/cfg": "mine\n"}


def plant_user_files(folder: Path) -> None:
    for name, text in USER_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)


def assert_user_files_intact(folder: Path) -> None:
    for name, text in USER_FILES.items():
        assert (folder / name).read_text() == text, name


def test_user_files_and_dotfiles_survive_a_run_and_a_rerun(
        write_yaml, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    work = tmp_path / "work"
    work.mkdir()
    plant_user_files(work)
    monkeypatch.chdir(work)
    for _ in range(2):  # `snakesim run x.yaml --out .`, twice
        result = CliRunner().invoke(app, ["run", str(path), "--out", ".", "-q"])
        assert result.exit_code == 0, result.output
        assert_user_files_intact(work)
        assert read_summary(work)["rounds"] == 1
        # Nothing of snakesim's own is left behind: no staging, no backup.
        assert not list(work.glob(".snakesim-*"))


# --- a kill at every step of a commit ---------------------------------------------------

class Killed(BaseException):
    """Stands for SIGKILL: no handler of the store's catches it (nor may any)."""


def scenario(seed: int) -> Scenario:
    return validate_scenario(small_scenario({"name": "fedavg"}, seed=seed))


def frames(tag: str) -> dict[str, pd.DataFrame]:
    return {name: pd.DataFrame({"tag": [tag]}) for name in TABLES}


OLD_SEED, NEW_SEED = 1, 2


def write(out: Path, tag: str, seed: int, tables: tuple[str, ...] = TABLES) -> None:
    """A run tagged ``tag``; with fewer ``tables``, as an older snakesim wrote it."""
    write_run(out, scenario(seed), {"tag": tag}, frames(tag))
    for name in set(TABLES) - set(tables):
        (out / f"{name}.parquet").unlink()


@pytest.fixture
def kill_after(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[int | None], None]]:
    """``kill_after(k)``: the k-th file-system change from now on raises `Killed`."""
    state: dict[str, int | None] = {"left": None}
    real = {"replace": os.replace, "rmtree": shutil.rmtree, "touch": Path.touch,
            "unlink": Path.unlink, "mkdir": Path.mkdir}

    def step() -> None:
        left = state["left"]
        if left is not None:
            if left == 0:
                state["left"] = None
                raise Killed
            state["left"] = left - 1

    def wrap(name: str) -> Callable[..., Any]:
        def changed(*args: Any, **kwargs: Any) -> Any:
            step()
            return real[name](*args, **kwargs)
        return changed

    monkeypatch.setattr(os, "replace", wrap("replace"))
    monkeypatch.setattr(shutil, "rmtree", wrap("rmtree"))
    for name in ("touch", "unlink", "mkdir"):
        monkeypatch.setattr(Path, name, wrap(name))

    def arm(k: int | None) -> None:
        state["left"] = k

    yield arm


def read_back(out: Path) -> str:
    """The tag of the complete run ``out`` holds; fails on a mix or on nothing."""
    tag = read_summary(out)["tag"]
    seed = {"old": OLD_SEED, "new": NEW_SEED}[tag]
    assert yaml.safe_load((out / "scenario.yaml").read_text())["seed"] == seed
    present = [n for n in TABLES if (out / f"{n}.parquet").exists()]
    assert {read_table(out, n)["tag"].iloc[0] for n in present} == {tag}
    return str(tag)


@pytest.mark.parametrize("old_tables", [TABLES, TABLES[:-1]],
                         ids=["same-files", "previous-run-lacked-a-table"])
def test_a_kill_at_any_step_of_a_rerun_leaves_the_old_or_the_new_run(
        tmp_path: Path, kill_after: Callable[[int | None], None],
        old_tables: tuple[str, ...]) -> None:
    template = tmp_path / "template"
    template.mkdir()
    plant_user_files(template)
    write(template, "old", OLD_SEED, old_tables)
    outcomes = []
    for k in range(100):
        out = tmp_path / f"k{k}"
        shutil.copytree(template, out)
        kill_after(k)
        try:
            write(out, "new", NEW_SEED)
        except Killed:
            killed = True
        else:
            killed = False
        kill_after(None)
        outcome = read_back(out)  # reading repairs the folder first
        if outcome == "old" and old_tables != TABLES:
            assert not (out / "timeline.parquet").exists()  # no new file beside the old
        assert_user_files_intact(out)
        outcomes.append(outcome)
        write(out, "new", NEW_SEED)  # and the folder can be written again
        assert read_back(out) == "new"
        assert not list(out.glob(".snakesim-*"))
        if not killed:
            break
    else:
        pytest.fail("the write never finished")
    assert outcomes[0] == "old" and outcomes[-1] == "new"
    assert k >= 10  # every step of the commit was tried: one kill point per move


def test_a_kill_during_the_repair_is_repaired_too(
        tmp_path: Path, kill_after: Callable[[int | None], None]) -> None:
    template = tmp_path / "template"
    write(template, "old", OLD_SEED, TABLES[:-1])
    repairs_killed = 0
    for k in range(100):  # kill the commit at step k ...
        killed = tmp_path / f"k{k}"
        shutil.copytree(template, killed)
        kill_after(k)
        try:
            write(killed, "new", NEW_SEED)
        except Killed:
            pass
        else:
            break
        for j in range(100):  # ... then the repair of that state at step j
            out = tmp_path / f"k{k}-j{j}"
            kill_after(None)
            shutil.copytree(killed, out)
            kill_after(j)
            try:
                store.recover(out)
            except Killed:
                repairs_killed += 1
            else:
                break
            finally:
                kill_after(None)
            assert read_back(out) in ("old", "new")
        assert read_back(out) in ("old", "new")
    assert repairs_killed >= 10  # the repair of a half-moved folder has many steps


def test_stale_temporaries_are_removed_and_only_they(tmp_path: Path) -> None:
    out = tmp_path / "run"
    out.mkdir()
    plant_user_files(out)
    (out / f"{TEMP_PREFIX}summary.json.x1").write_text("half")
    (out / f"{TEMP_PREFIX}staging").mkdir()
    (out / f"{TEMP_PREFIX}staging" / "rounds.parquet").write_text("half")
    (out / ".summary.json.old-style").write_text("not ours any more")
    write(out, "new", NEW_SEED)
    assert not list(out.glob(f"{TEMP_PREFIX}*"))
    assert (out / ".summary.json.old-style").exists()
    assert_user_files_intact(out)


def test_old_results_without_a_backup_read_as_before(tmp_path: Path) -> None:
    write(tmp_path, "old", OLD_SEED)
    summary = read_summary(tmp_path)
    assert summary["tag"] == "old"
    assert summary["scenario_sha256"] == store.scenario_sha256(scenario(OLD_SEED))
    (tmp_path / "summary.json").write_text("{not json")
    with pytest.raises(ResultsError, match="not a valid summary"):
        read_summary(tmp_path)


# --- the output folder is checked before anything runs -----------------------------------

def unwritable_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "locked"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        (folder / "probe").touch()
    except PermissionError:
        return folder
    (folder / "probe").unlink()
    # root writes anywhere it may: use a kernel folder nobody can create files in.
    for candidate in (Path("/sys/kernel"), Path("/proc/self")):
        try:
            prepare_out(candidate)
        except ResultsError:
            return candidate
    pytest.skip("no folder here refuses writes")


@pytest.fixture
def no_simulation(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("a simulation ran although --out is unusable")

    monkeypatch.setattr("snakesim.experiments.run_scenario", refuse)
    monkeypatch.setattr("snakesim.api.run_scenario", refuse)
    monkeypatch.setattr("snakesim.experiments.pool.run_scenario", refuse)


def bad_outs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    (tmp_path / "afile").write_text("mine")
    return {"file": (tmp_path / "afile", "is a file"),
            "under a file": (tmp_path / "afile" / "sub", "cannot be created"),
            "not writable": (unwritable_folder(tmp_path), "not writable")}


@pytest.mark.parametrize("case", ["file", "under a file", "not writable"])
@pytest.mark.usefixtures("no_simulation")
def test_an_unusable_out_is_one_line_and_exit_2_before_any_run(
        write_yaml, tmp_path: Path, case: str) -> None:
    scenario_file = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    sweep_file = tmp_path / "sweep.yaml"
    sweep_file.write_text(yaml.safe_dump({"name": "s", "base": scenario_file.name,
                                          "seeds": [1]}))
    target, expected = bad_outs(tmp_path)[case]
    for command, file in (("run", scenario_file), ("sweep", sweep_file)):
        result = CliRunner().invoke(app, [command, str(file), "--out", str(target)])
        assert result.exit_code == 2, result.output
        lines = result.output.strip().splitlines()
        assert lines == [f"error: --out: {target}: {lines[0].split(': ', 3)[3]}"]
        assert expected in lines[0]
    with pytest.raises(ResultsError, match=f"out: .*{expected}"):
        snakesim.run(scenario_file, out=target)
    with pytest.raises(ResultsError, match=f"out: .*{expected}"):
        snakesim.sweep(sweep_file, out=target)
    assert (tmp_path / "afile").read_text() == "mine"


def test_the_summary_records_the_scenario_hash(write_yaml, tmp_path: Path) -> None:
    path = write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}))
    snakesim.run(path, out=tmp_path / "a")
    summary = json.loads((tmp_path / "a" / "summary.json").read_text())
    resolved = validate_scenario(yaml.safe_load((tmp_path / "a" / "scenario.yaml")
                                                .read_text()))
    assert summary["scenario_sha256"] == store.scenario_sha256(resolved)


def test_the_resolved_scenario_reads_back_as_written(tmp_path: Path) -> None:
    # Strings that a YAML 1.1 dumper writes bare and a 1.2 reader retypes ("1e9" is a
    # float in 1.2, "on" a boolean in 1.1) must come back as the same scenario.
    from snakesim.config import load_scenario

    spec = validate_scenario({**small_scenario({"name": "snake"}), "name": "1e9",
                              "description": "on"})
    write_run(tmp_path / "run", spec, {"run_id": "x"}, frames("a"))
    assert load_scenario(tmp_path / "run" / "scenario.yaml") == spec
