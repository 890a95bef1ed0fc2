"""The shipped examples: listing, names, copying with the files they read, resolving."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from snakesim.config import load_scenario
from snakesim.config.sweep import load_sweep
from snakesim.errors import ConfigurationError
from snakesim.examples import (
    copy_example,
    examples_root,
    find_example,
    list_examples,
    shipped_instead,
)
from tests.conftest import REPO


def test_every_shipped_file_is_listed_with_its_kind_and_a_description() -> None:
    assert examples_root().resolve() == (REPO / "scenarios").resolve()  # the checkout
    listed = {e.name: e for e in list_examples()}
    files = {p.relative_to(REPO / "scenarios").with_suffix("").as_posix()
             for p in (REPO / "scenarios").rglob("*.yaml")}
    assert set(listed) == files
    assert listed["quickstart"].kind == "scenario"
    assert listed["sweeps/heterogeneity"].kind == "sweep"
    assert listed["llm/sweeps/opt-1.3b-cost"].kind == "sweep"
    for example in listed.values():
        assert example.description and "\n" not in example.description
        assert len(example.description) <= 100


@pytest.mark.parametrize("name", ["quickstart", "quickstart.yaml", "scenarios/quickstart.yaml",
                                  "./scenarios/quickstart.yaml"])
def test_names_of_the_quick_start(name: str) -> None:
    assert find_example(name).path == examples_root() / "quickstart.yaml"


def test_a_unique_last_part_names_an_example_and_an_ambiguous_one_is_refused() -> None:
    assert find_example("heterogeneity").name == "sweeps/heterogeneity"
    assert find_example("llm/opt-1.3b-cost").kind == "scenario"
    with pytest.raises(ConfigurationError, match=r"^opt-1\.3b-cost: ambiguous example name; "
                       r"one of llm/opt-1\.3b-cost, llm/sweeps/opt-1\.3b-cost$"):
        find_example("opt-1.3b-cost")


def test_an_unknown_name_suggests_close_ones() -> None:
    with pytest.raises(ConfigurationError, match=r"^tiered: no such file or shipped example "
                       r"\(`snakesim examples` lists them\); did you mean 6g-tiered-fedavg, "
                       r"6g-tiered\?$"):
        find_example("tiered")


def test_copying_a_scenario_gives_the_same_bytes(tmp_path: Path) -> None:
    written = copy_example("quickstart", tmp_path / "new")
    assert written == [tmp_path / "new" / "quickstart.yaml"]
    assert written[0].read_bytes() == (REPO / "scenarios" / "quickstart.yaml").read_bytes()
    assert load_scenario(written[0]).name == "quickstart"


def test_a_copied_sweep_brings_its_base_where_it_looks_for_it(tmp_path: Path) -> None:
    written = copy_example("sweeps/heterogeneity", tmp_path)
    assert written == [tmp_path / "sweeps" / "heterogeneity.yaml", tmp_path / "quickstart.yaml"]
    assert len(load_sweep(written[0]).points) == 18


def test_a_copied_file_topology_runs_from_the_folder(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    written = copy_example("abilene", tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in written] == [
        "abilene.yaml", "scenarios/topologies/Abilene.json",
        "scenarios/topologies/LICENSE-topohub"]
    monkeypatch.chdir(tmp_path)  # its topology path is relative to the working folder
    assert len(load_scenario("abilene.yaml").topology.relays) == 2  # type: ignore[union-attr]


def test_nothing_is_overwritten_and_nothing_half_copied(tmp_path: Path) -> None:
    (tmp_path / "scenarios" / "topologies").mkdir(parents=True)
    mine = tmp_path / "scenarios" / "topologies" / "Abilene.json"
    mine.write_text("mine")
    with pytest.raises(ConfigurationError, match=r"Abilene\.json: exists; not overwritten"):
        copy_example("abilene", tmp_path)
    assert mine.read_text() == "mine"
    assert not (tmp_path / "abilene.yaml").exists()


def test_resolving_a_file_or_a_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    own = tmp_path / "quickstart"
    own.write_text("a file of mine")
    assert shipped_instead(own) is None  # an existing file always wins
    os.remove(own)
    example = shipped_instead(Path("quickstart"))
    assert example is not None and example.name == "quickstart"
    # A missing path that names nothing shipped is left to the loader's own error.
    assert shipped_instead(tmp_path / "nope.yaml") is None
    assert shipped_instead(Path("nope.yaml")) is None
    with pytest.raises(ConfigurationError, match="no such file or shipped example"):
        shipped_instead(Path("nope"))


def test_an_example_reading_a_missing_file_says_to_copy_it(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigurationError, match=r"^abilene: the shipped example abilene reads "
                       r"scenarios/topologies/Abilene\.json relative to the working folder, "
                       r"which has none; copy it with `snakesim init abilene DIR`"):
        shipped_instead(Path("abilene"))
    monkeypatch.chdir(REPO)  # from the repository root the reference is found
    assert shipped_instead(Path("abilene")) is not None
