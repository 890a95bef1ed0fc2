"""Strict types, physical ranges, size limits and model-aware checks at validate time."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from snakesim.config import validate_scenario
from snakesim.config.groups import group_count
from snakesim.config.limits import current_limits
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.learning.data.datasets import load_digits
from snakesim.learning.models.stack import model_factory
from tests.conftest import small_scenario

BASE = small_scenario({"name": "snake"})


def problems(**changes: Any) -> str:
    """The one-line problems of the small scenario with ``a__b=value`` changes."""
    data = copy.deepcopy(BASE)
    for dotted, value in changes.items():
        node = data
        *path, last = dotted.split("__")
        for key in path:
            node = node.setdefault(key, {})
        node[last] = value
    with pytest.raises(ScenarioError) as caught:
        validate_scenario(data, "x.yaml")
    lines = str(caught.value).splitlines()
    assert all(line.startswith("x.yaml: ") for line in lines)
    return str(caught.value)


@pytest.mark.parametrize("key", ["training__rounds", "training__lr", "seed",
                                 "training__batch_size", "model__width"])
def test_booleans_are_not_numbers(key: str) -> None:
    assert "(got True)" in problems(**{key: True})


def test_numeric_strings_are_not_numbers_but_quantities_parse() -> None:
    assert "training.lr" in problems(training__lr="0.1")
    assert "training.rounds" in problems(training__rounds="3")
    validate_scenario({**BASE, "links": {"bandwidth": "1 Gbps", "latency": "2 ms"}})


def test_a_float_is_not_a_count() -> None:
    assert "topology.clients" in problems(topology={"kind": "star", "clients": 1e3})


@pytest.mark.parametrize("value", [float("inf"), float("nan"), -float("inf")])
def test_numbers_must_be_finite(value: float) -> None:
    assert "training.lr" in problems(training__lr=value)


@pytest.mark.parametrize(("key", "value", "rule"), [
    ("links__bandwidth", 1e300, "at most 1e+15 bps"),
    ("links__bandwidth", 1e-300, "at least 1 bps"),
    ("links__latency", "1e12 s", "at most 1e+09 s"),
    ("nodes__compute", "1e30 FLOPS", "at most 1e+21 FLOPS"),
    ("nodes__memory", 1e30, "at most 1e+18 B"),
])
def test_quantities_have_a_physical_range(key: str, value: object, rule: str) -> None:
    assert rule in problems(**{key: value})


def test_outage_processes_have_a_floor() -> None:
    text = problems(outages={"links": [{"between": ["n1", "server"], "windows": [
        {"start": 0, "duration": "1 us", "period": "2 us"}]}]})
    assert "at least 0.001 s" in text


def test_seeds_fit_the_libraries_that_use_them() -> None:
    assert "data.split_seed" in problems(data__split_seed=2**40)
    validate_scenario({**BASE, "seed": 2**40})  # spawned by numpy's SeedSequence


@pytest.mark.parametrize("topology", [
    {"kind": "star", "clients": 10**9},
    {"kind": "tiered", "tiers": [{"name": "a", "count": 1000}, {"name": "b", "count": 1000}]},
    {"kind": "ring", "nodes": 10**8},
])
def test_too_many_nodes_is_one_located_line(topology: dict[str, Any]) -> None:
    text = problems(topology=topology)
    assert text.count("\n") == 0 and "SNAKESIM_MAX_NODES" in text


def test_too_many_links_and_jobs() -> None:
    assert "SNAKESIM_MAX_LINKS" in problems(topology={"kind": "mesh", "nodes": 5000})
    text = problems(training__rounds=1_000_000, topology={"kind": "star", "clients": 20})
    assert "training.rounds" in text and "SNAKESIM_MAX_JOBS" in text


def test_limits_are_overridable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAKESIM_MAX_NODES", "3")
    assert current_limits().max_nodes == 3
    assert "over the limit of 3" in problems()
    monkeypatch.setenv("SNAKESIM_MAX_NODES", "lots")
    with pytest.raises(ConfigurationError, match="SNAKESIM_MAX_NODES"):
        current_limits()


def test_synthetic_and_corpus_sizes_are_bounded() -> None:
    text = problems(data={"dataset": "synthetic", "synthetic": {
        "samples": 1_000_000, "shape": [3, 64, 64]}})
    assert "data.synthetic" in text and "values" in text


def test_group_indices_cuts_and_windows_are_checked_at_validate() -> None:
    assert "strategy.assignment.map.n1.0: the model has 5 layer groups" in problems(
        strategy={"name": "snake", "assignment": {"kind": "explicit", "map": {"n1": [99]}}})
    assert "strategy.cut: must be between 1 and 4" in problems(
        strategy={"name": "split", "cut": 5})
    assert "strategy.cut" in problems(strategy={"name": "splitfed", "cut": 9})
    assert "strategy.window.width" in problems(
        strategy={"name": "snake", "window": {"kind": "sliding", "width": 5}})
    validate_scenario({**BASE, "strategy": {"name": "snake",
                                            "window": {"kind": "sliding", "width": 4}}})


def test_lm_size_overrides_are_checked() -> None:
    lm = {"name": "causal_lm", "lm": {"preset": "tiny-opt",
                                      "overrides": {"num_hidden_layers": -1}}}
    text = problems(model=lm, data={"dataset": "text"})
    assert "model.lm.overrides.num_hidden_layers" in text


@pytest.mark.parametrize(("name", "options"), [
    ("digits_cnn", {}), ("vgg11", {}), ("mlp", {"hidden": [32]}), ("mlp", {"hidden": [8] * 5}),
])
def test_group_count_matches_the_built_model(name: str, options: dict[str, Any]) -> None:
    from snakesim.config.schema import ModelSpec

    data = load_digits(0.25, 0)
    factory = model_factory(name, num_classes=data.num_classes, width=8,
                            input_shape=data.input_shape, width_mult=0.25,
                            hidden=tuple(options.get("hidden", (256, 128))))
    with torch.device("meta"):
        built = len(factory())
    assert group_count(ModelSpec(name=name, **options)) == built


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["tiny-opt", "tiny-llama", "tiny-gpt2"])
def test_lm_group_count_matches_the_built_model(preset: str) -> None:
    pytest.importorskip("transformers")
    from snakesim.config.schema import LMSpec, ModelSpec
    from snakesim.learning.models.lm_models import lm_factory, load_lm_config

    spec = ModelSpec(name="causal_lm", lm=LMSpec(preset=preset,
                                                 overrides={"num_hidden_layers": 3}
                                                 if preset != "tiny-gpt2" else {"n_layer": 3}))
    with torch.device("meta"):
        built = len(lm_factory(load_lm_config(preset=preset, overrides=dict(
            spec.lm.overrides)), seed=0)())  # type: ignore[union-attr]
    assert group_count(spec) == built == 5


def test_pure_fp16_adam_is_refused_at_validate() -> None:
    text = problems(training={"optimizer": "adam", "dtype": "fp16", "master_weights": False})
    assert "training: optimizer adam cannot train in pure fp16" in text
    validate_scenario({**BASE, "training": {"optimizer": "sgd", "dtype": "fp16",
                                            "master_weights": False}})


def test_partition_feasibility_is_decided_from_the_data_size() -> None:
    # digits: 1,797 images, 25 % test -> 1,347 training samples; 4 learners here.
    text = problems(data={"partition": {"kind": "dirichlet", "alpha": 0.5,
                                        "min_samples": 400}})
    assert "data.partition.min_samples: 4 learners x 400 samples exceeds the 1347" in text
    assert "data.partition.k" in problems(data={"partition": {"kind": "shards", "k": 11}})
    assert "data.partition.k" in problems(data={"partition": {"kind": "shards", "k": 2}},
                                          topology={"kind": "star", "clients": 4},
                                          strategy={"name": "snake", "route": ["n1", "n2"]})
    validate_scenario({**BASE, "data": {"partition": {"kind": "dirichlet", "alpha": 0.5,
                                                      "min_samples": 336}}})
    synthetic = {"dataset": "synthetic", "synthetic": {"samples": 40, "classes": 2}}
    assert "exceeds the 30 training samples of synthetic" in problems(
        data={**synthetic, "partition": {"kind": "quantity_skew", "min_samples": 8}})
