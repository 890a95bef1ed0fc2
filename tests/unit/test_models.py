"""Tests of `snakesim.learning.models.stack`: layer stacks, the digits CNN, initialisation."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snakesim.errors import ConfigurationError
from snakesim.learning.models.stack import (
    LayerStack,
    digits_cnn,
    init_parameters,
    model_factory,
)


def _model(seed: int = 0, width: int = 4) -> LayerStack:
    model = digits_cnn(width=width)
    init_parameters(model, torch.Generator().manual_seed(seed))
    return model


def test_digits_cnn_has_five_named_groups() -> None:
    model = digits_cnn(width=4)
    assert len(model) == 5
    assert model.group_names == ["conv1", "conv2", "conv3", "fc", "head"]


@pytest.mark.parametrize(("batch", "classes"), [(1, 10), (3, 10), (2, 7)])
def test_output_shape(batch: int, classes: int) -> None:
    model = digits_cnn(num_classes=classes, width=4)
    with torch.no_grad():
        out = model(torch.rand(batch, 1, 8, 8))
    assert out.shape == (batch, classes)


def test_forward_range_composes() -> None:
    model = _model()
    x = torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        full = model(x)
        for k in range(len(model) + 1):
            h = model.forward_range(x, 0, k)
            assert torch.equal(model.forward_range(h, k, len(model)), full)
        assert model.forward_range(x, 2, 2) is x


def test_group_keys_and_group_of_cover_the_state_dict_once() -> None:
    model = _model()
    keys = [k for i in range(len(model)) for k in model.group_keys(i)]
    assert sorted(keys) == sorted(model.state_dict())
    assert len(keys) == len(set(keys))
    for i in range(len(model)):
        assert model.group_keys(i), f"group {i} has no tensors"
        assert all(model.group_of(k) == i for k in model.group_keys(i))


def test_layer_stack_needs_one_name_per_group() -> None:
    with pytest.raises(ValueError):
        LayerStack([nn.ReLU(), nn.ReLU()], ["only-one"])


def test_init_parameters_is_seeded_by_the_generator_alone() -> None:
    a, b, c = _model(seed=5), _model(seed=5), _model(seed=6)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    weights = [k for k in sa if k.endswith("weight")]
    assert all(not torch.equal(sa[k], sc[k]) for k in weights)
    biases = [k for k in sa if k.endswith("bias")]
    assert biases and all(not sa[k].any() for k in biases)


def test_init_parameters_leaves_the_global_rng_alone() -> None:
    model = digits_cnn(width=4)
    before = torch.random.get_rng_state()
    init_parameters(model, torch.Generator().manual_seed(0))
    assert torch.equal(torch.random.get_rng_state(), before)


def test_init_parameters_is_independent_of_the_global_rng() -> None:
    torch.manual_seed(1)
    a = _model(seed=3)
    torch.manual_seed(2)
    b = _model(seed=3)
    assert all(torch.equal(v, b.state_dict()[k]) for k, v in a.state_dict().items())


def test_model_factory() -> None:
    factory = model_factory("digits_cnn", num_classes=10, width=4)
    m1, m2 = factory(), factory()
    assert isinstance(m1, LayerStack)
    assert m1 is not m2
    assert m1.state_dict().keys() == digits_cnn(width=4).state_dict().keys()
    with pytest.raises(ConfigurationError, match="resnet"):
        model_factory("resnet", num_classes=10, width=4)
