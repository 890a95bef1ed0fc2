"""Link technologies and node tiers (`snakesim.config.presets`) and classifiers
(`snakesim.learning.models.stack.ClassifierName`) are named once: the schema's literals
come from there, the tables and builders agree, and the README documents each."""

from __future__ import annotations

from typing import get_args

import pytest

from snakesim.config import validate_scenario
from snakesim.config.presets import LINKS, NODES, LinkPreset, NodeTier
from snakesim.errors import ScenarioError
from tests.conftest import REPO


def test_the_literals_are_the_tables() -> None:
    assert list(get_args(LinkPreset)) == list(LINKS)
    assert list(get_args(NodeTier)) == list(NODES)


def test_every_preset_is_in_the_readme_table() -> None:
    readme = (REPO / "README.md").read_text()
    for name in [*LINKS, *NODES]:
        assert f"| `{name}` |" in readme, name


def tiered(link: str, node: str) -> dict[str, object]:
    return {"name": "t", "strategy": {"name": "fedavg"}, "topology": {
        "kind": "tiered", "tiers": [{"name": "cloud", "count": 1, "node": "cloud"},
                                    {"name": "dev", "count": 2, "node": node, "link": link}]}}


@pytest.mark.parametrize("link", list(LINKS))
def test_every_link_preset_validates(link: str) -> None:
    validate_scenario(tiered(link, "device"))


def test_an_unknown_preset_is_a_located_error_listing_the_known_ones() -> None:
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(tiered("wifi7", "device"))
    message = str(caught.value)
    assert "topology.tiers.1.link" in message
    assert all(name in message for name in LINKS)


def test_every_classifier_the_schema_accepts_is_built_and_documented() -> None:
    from snakesim.config.schema import ModelSpec
    from snakesim.learning.models import MODELS, model_factory

    accepted = set(get_args(ModelSpec.model_fields["name"].annotation))
    assert accepted == {*MODELS, "causal_lm"}
    readme = (REPO / "README.md").read_text()
    for name in MODELS:
        stack = model_factory(name, num_classes=10, input_shape=(1, 8, 8))()
        assert len(stack) > 1, name
        assert f"`{name}`" in readme, name


@pytest.mark.parametrize("hidden", [[16], [32, 16, 8]])
def test_each_classifier_knows_its_groups_and_option_before_it_is_built(
        hidden: list[int]) -> None:
    from snakesim.config.groups import group_count
    from snakesim.config.schema import ModelSpec
    from snakesim.learning.models import MODELS, model_factory
    from snakesim.learning.models.stack import CLASSIFIERS

    assert list(CLASSIFIERS) == list(MODELS)
    for name in MODELS:
        spec = ModelSpec(name=name, hidden=hidden) if name == "mlp" else ModelSpec(name=name)
        built = model_factory(name, num_classes=10, input_shape=(3, 32, 32),
                              hidden=tuple(spec.hidden))()
        assert group_count(spec) == len(built), name
        others = [c.option for n, c in CLASSIFIERS.items() if n != name]
        for option in others:  # another classifier's option is refused, with its owner
            value = {"width": 8, "width_mult": 0.5, "hidden": [4]}[option]
            with pytest.raises(ValueError, match=f"{option} applies to model"):
                ModelSpec(name=name, **{option: value})
