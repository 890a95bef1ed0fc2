"""``preset: noniid``: the ablation's strongest Snake variant as named option defaults."""

from __future__ import annotations

import importlib.util

import pytest

from snakesim.config import validate_scenario
from snakesim.config.snake_spec import PRESETS
from snakesim.config.strategies import SnakeStrategy
from snakesim.errors import ScenarioError
from tests.conftest import REPO, run_small, small_scenario


def _ablation_variants() -> dict[str, dict[str, object]]:
    path = REPO / "benchmarks" / "snake_noniid_ablation.py"
    spec = importlib.util.spec_from_file_location("snake_noniid_ablation", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.VARIANTS  # type: ignore[no-any-return]


def test_the_preset_is_the_ablations_best_combination() -> None:
    # The preset is what the ablation measured as snake_best_sliding2, key for key: it
    # cannot drift.
    best = dict(_ablation_variants()["snake_best_sliding2"])
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


def test_the_preset_slides_a_window_of_two_and_a_file_can_fix_it() -> None:
    preset = SnakeStrategy.model_validate({"name": "snake", "preset": "noniid"})
    assert (preset.window.kind, preset.window.groups) == ("sliding", 2)
    assert preset.preset_window()
    fixed = SnakeStrategy.model_validate({"name": "snake", "preset": "noniid",
                                          "window": "fixed"})
    assert fixed.window.kind == "fixed" and not fixed.preset_window()
    assert not SnakeStrategy.model_validate(
        {"name": "snake", "window": {"kind": "sliding", "width": 2}}).preset_window()


def test_the_presets_width_is_capped_to_a_smaller_body_and_a_files_is_an_error() -> None:
    # An MLP with one hidden layer: groups hidden and head, so a body of one group.
    mlp = {"name": "mlp", "hidden": [16]}
    run = run_small({"name": "snake", "preset": "noniid"}, model=mlp,
                    training={"rounds": 1, "local_epochs": 1})
    assert run.summary["final_accuracy"] > 0.1
    with pytest.raises(ScenarioError, match=r"strategy\.window\.width.*at most the number "
                                            r"of body groups \(1"):
        validate_scenario(small_scenario({"name": "snake", "window": {"kind": "sliding",
                                                                      "width": 2}},
                                         model=mlp))


def test_the_presets_window_with_another_assignment_says_how_to_keep_it() -> None:
    with pytest.raises(ScenarioError, match=r"strategy\.assignment.*preset noniid.*"
                                            r"window: fixed"):
        validate_scenario(small_scenario({"name": "snake", "preset": "noniid",
                                          "assignment": "even"}))


def test_the_preset_trains_two_body_groups_a_hop_and_is_deterministic_from_the_seed(
        ) -> None:
    # small_scenario's digits_cnn: groups 0-3 are the body, 4 the head; 4 clients a pass.
    a, b = (run_small({"name": "snake", "preset": "noniid"}) for _ in range(2))
    trained = [str(g) for g in a.frames["computes"]["groups"]]
    starts = [hop % 3 for hop in range(len(trained))]  # body - width + 1 = 3 positions
    assert trained == [f"{s},{s + 1},4" for s in starts]
    assert a.frames["rounds"]["accuracy"].tolist() == b.frames["rounds"]["accuracy"].tolist()
    assert a.summary["total_bytes"] == b.summary["total_bytes"]
