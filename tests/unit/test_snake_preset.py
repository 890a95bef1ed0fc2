"""``preset: noniid``: the ablation's strongest Snake variant as named option defaults."""

from __future__ import annotations

import importlib.util

import pytest

from snakesim.config import validate_scenario
from snakesim.config.snake_spec import PRESETS
from snakesim.config.strategies import SnakeStrategy
from snakesim.errors import ScenarioError
from tests.conftest import REPO, small_scenario


def _ablation_variants() -> dict[str, dict[str, object]]:
    path = REPO / "benchmarks" / "snake_noniid_ablation.py"
    spec = importlib.util.spec_from_file_location("snake_noniid_ablation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VARIANTS  # type: ignore[no-any-return]


def test_the_preset_is_the_ablations_best_combination() -> None:
    # The preset is what the ablation measured as snake_best, key for key: it cannot drift.
    best = dict(_ablation_variants()["snake_best"])
    assert best.pop("name") == "snake"
    preset = SnakeStrategy.model_validate({"name": "snake", "preset": "noniid"})
    measured = SnakeStrategy.model_validate({"name": "snake", **best})
    assert preset.model_dump(exclude={"preset"}) == measured.model_dump(exclude={"preset"})


def test_the_preset_fills_in_only_what_the_file_leaves_out() -> None:
    spec = SnakeStrategy.model_validate({"name": "snake", "preset": "noniid",
                                         "distill": "off", "head": "restricted_softmax"})
    assert spec.distill == "off" and spec.head.policy == "restricted_softmax"
    assert (spec.lr_schedule.kind, spec.lr_schedule.final) == ("cosine", 0.1)
    plain = SnakeStrategy.model_validate({"name": "snake"})
    assert (plain.distill, plain.head.policy, plain.lr_schedule.kind) == (
        "off", "everywhere", "constant")


def test_a_resolved_preset_reloads_the_same() -> None:
    scenario = validate_scenario(small_scenario({"name": "snake", "preset": "noniid"}))
    again = validate_scenario(scenario.model_dump(mode="json"))
    assert again.strategy == scenario.strategy
    assert set(PRESETS) == {"noniid"}


def test_an_unknown_preset_is_a_located_error() -> None:
    with pytest.raises(ScenarioError, match=r"strategy.*preset"):
        validate_scenario(small_scenario({"name": "snake", "preset": "iid"}))
