"""Scenario schema of data sets, models, partitioners and the baseline strategies."""

from __future__ import annotations

from typing import Any

import pytest

from snakesim.config import validate_scenario
from snakesim.errors import ScenarioError
from tests.conftest import small_scenario


def problems(strategy: dict[str, Any] | None = None, **changes: Any) -> str:
    try:
        validate_scenario(small_scenario(strategy or {"name": "fedavg"}, **changes), "x.yaml")
    except ScenarioError as err:
        return str(err)
    return ""


@pytest.mark.parametrize(("changes", "expected"), [
    ({"data": {"dataset": "cifar10"}},
     "x.yaml: data.path: data set cifar10 is read from a local folder: give its path"),
    ({"data": {"dataset": "digits", "path": "/x"}},
     "x.yaml: data.path: only for cifar10, mnist, fashion_mnist (dataset is digits)"),
    ({"data": {"synthetic": {"samples": 10}}},
     "x.yaml: data.synthetic: only for dataset synthetic"),
    ({"data": {"dataset": "svhn"}}, "x.yaml: data.dataset: "),
    ({"model": {"name": "digits_cnn", "hidden": [3]}},
     "x.yaml: model: hidden applies to model mlp only (model is digits_cnn)"),
    ({"model": {"name": "vgg11", "width": 3}},
     "x.yaml: model: width applies to model digits_cnn only (model is vgg11)"),
    ({"data": {"partition": {"kind": "shards", "k": 0}}}, "x.yaml: data.partition.k: "),
    ({"data": {"partition": {"kind": "quantity_skew", "sigma": 0}}},
     "x.yaml: data.partition.sigma: "),
])
def test_data_and_model_errors_are_located(changes: dict[str, Any], expected: str) -> None:
    text = problems(**changes)
    assert text.startswith(expected) and "\n" not in text


def test_file_based_sets_validate_without_the_folder() -> None:
    assert problems(data={"dataset": "mnist", "path": "/does/not/exist"}) == ""
    assert problems(data={"dataset": "synthetic",
                          "synthetic": {"samples": 100, "shape": [3, 4, 4]}}) == ""
    assert problems(model={"name": "mlp", "hidden": [8]}) == ""
    assert problems(model={"name": "vgg11", "width_mult": 0.25}) == ""


@pytest.mark.parametrize(("strategy", "expected"), [
    ({"name": "fedavg", "fraction": 0}, "x.yaml: strategy.fraction: "),
    ({"name": "fedavg", "fraction": 1.5}, "x.yaml: strategy.fraction: "),
    ({"name": "fedprox", "mu": -1}, "x.yaml: strategy.mu: "),
    ({"name": "central", "node": "zz"}, "x.yaml: strategy.node: unknown node (got zz)"),
    ({"name": "local", "server": "n1"}, "x.yaml: strategy.server: unknown key"),
])
def test_strategy_option_errors_are_located(strategy: dict[str, Any], expected: str) -> None:
    assert problems(strategy).startswith(expected)


def test_server_requirements() -> None:
    ring = {"kind": "ring", "nodes": 4}
    assert problems({"name": "central"}, topology=ring).startswith(
        "x.yaml: strategy.node: centralised training needs a node")
    assert problems({"name": "central", "node": "n2"}, topology=ring) == ""
    assert problems({"name": "local"}, topology=ring) == ""
    assert "FedProx needs a server node" in problems({"name": "fedprox"}, topology=ring)
