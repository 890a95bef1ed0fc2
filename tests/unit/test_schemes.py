"""Each scheme describes itself once (`snakesim.config.strategies.SCHEMES`); the scenario
union, the strategy registry, the server checks and the docs all follow from that list."""

from __future__ import annotations

import importlib
from typing import get_args

import pytest

from snakesim.config import validate_scenario
from snakesim.config.strategies import SCHEMES, Strategy, scheme_name
from snakesim.errors import ScenarioError
from snakesim.strategies import REGISTRY
from tests.conftest import REPO, small_scenario

NAMES = [scheme_name(spec) for spec in SCHEMES]


def test_the_scenario_union_holds_exactly_the_listed_schemes() -> None:
    union, _ = get_args(Strategy)
    assert set(get_args(union)) == set(SCHEMES)
    assert len(set(NAMES)) == len(NAMES)


def test_the_registry_is_the_schemes_and_each_module_builds() -> None:
    assert list(REGISTRY) == NAMES
    for spec in SCHEMES:
        module = importlib.import_module(spec.implementation)
        assert callable(module.build), spec.implementation


def test_every_scheme_is_documented_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text()
    for spec, name in zip(SCHEMES, NAMES, strict=True):
        assert f"{name}:" in readme or f"name: {name}" in readme, name
        assert spec.display.lower() in readme.lower(), spec.display


@pytest.mark.parametrize("spec", SCHEMES, ids=NAMES)
def test_a_missing_server_is_a_located_error_naming_the_scheme(spec: type) -> None:
    name = scheme_name(spec)
    strategy = {"name": name, **({"mode": "cs"} if name == "snake" else {})}
    data = small_scenario(strategy, topology={"kind": "ring", "nodes": 4})
    if not validate_scenario_needs_server(data):
        validate_scenario(data)  # runs: it needs no server
        return
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(data)
    needs = "needs a node to train on" if name == "central" else "needs a server node"
    assert spec.display.lower() in str(caught.value).lower() and needs in str(caught.value)


def validate_scenario_needs_server(data: dict[str, object]) -> bool:
    # Built from the scheme's own description, not a list kept here.
    union, _ = get_args(Strategy)
    by_name = {scheme_name(s): s for s in get_args(union)}
    section = data["strategy"]
    assert isinstance(section, dict)
    spec = by_name[section["name"]].model_validate(section)
    return bool(spec.needs_server()) or section["name"] == "central"
