"""Tests of `snakesim.learning.models.vgg`: VGG-11 (BatchNorm) and the MLP as layer stacks."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snakesim.errors import ConfigurationError
from snakesim.learning.costs.model import CostModel
from snakesim.learning.models.stack import LayerStack, init_parameters, model_factory
from snakesim.learning.models.vgg import mlp, vgg11
from snakesim.learning.training import TrainConfig, train_slice


def _init(model: LayerStack, seed: int = 0) -> LayerStack:
    init_parameters(model, torch.Generator().manual_seed(seed))
    return model


def _state(model: LayerStack) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def test_vgg11_has_eight_conv_groups_and_a_head() -> None:
    model = vgg11(width_mult=0.125)
    assert len(model) == 9
    assert model.group_names == [*(f"conv{i}" for i in range(1, 9)), "head"]
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert [c.out_channels for c in convs] == [8, 16, 32, 32, 64, 64, 64, 64]
    assert len(norms) == 8
    pools = [m for m in model.modules() if isinstance(m, nn.MaxPool2d)]
    assert len(pools) == 5  # 32 x 32 -> 1 x 1, the CIFAR variant


def test_full_width_vgg11_has_the_standard_parameter_count() -> None:
    with torch.device("meta"):
        model = vgg11()
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 256, 512, 512, 512, 512]
    # The usual CIFAR VGG-11 with BatchNorm and one linear classifier: 9.23 M.
    assert sum(p.numel() for p in model.parameters()) == 9_231_114


@pytest.mark.parametrize(("shape", "batch"), [((3, 32, 32), 2), ((1, 28, 28), 3),
                                              ((1, 8, 8), 2)])
def test_vgg11_output_shape_for_any_image_size(shape: tuple[int, int, int],
                                               batch: int) -> None:
    model = _init(model_factory("vgg11", num_classes=7, input_shape=shape, width_mult=0.125)())
    model.eval()
    with torch.no_grad():
        assert model(torch.rand(batch, *shape)).shape == (batch, 7)


def test_mlp_has_one_group_per_layer() -> None:
    model = mlp(num_classes=5, input_shape=(1, 8, 8), hidden=(32, 16, 8))
    assert model.group_names == ["fc1", "fc2", "fc3", "head"]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(64, 32), (32, 16),
                                                                   (16, 8), (8, 5)]
    with torch.no_grad():
        assert model(torch.rand(4, 1, 8, 8)).shape == (4, 5)
    flat = mlp(num_classes=3, input_shape=(2, 3), hidden=())
    assert len(flat) == 1 and flat(torch.rand(2, 2, 3)).shape == (2, 3)


@pytest.mark.parametrize("name", ["vgg11", "mlp", "digits_cnn"])
def test_init_is_deterministic_and_batchnorm_starts_as_identity(name: str) -> None:
    factory = model_factory(name, num_classes=10, input_shape=(3, 16, 16), width=4,
                            width_mult=0.125, hidden=(16,))
    a, b, c = _init(factory(), 4), _init(factory(), 4), _init(factory(), 5)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert any(not torch.equal(sa[k], sc[k]) for k in sa)
    for m in a.modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.weight, torch.ones_like(m.weight))
            assert not m.bias.any() and not m.running_mean.any()
            assert torch.equal(m.running_var, torch.ones_like(m.running_var))


def test_group_keys_cover_parameters_and_batchnorm_buffers() -> None:
    model = vgg11(width_mult=0.125)
    keys = [k for i in range(len(model)) for k in model.group_keys(i)]
    assert sorted(keys) == sorted(model.state_dict())
    assert "groups.0.1.running_mean" in model.group_keys(0)
    assert model.state_dict()["groups.0.1.num_batches_tracked"].dtype == torch.int64


def test_tiny_vgg_trains_a_step_and_updates_batchnorm_statistics() -> None:
    model = _init(vgg11(num_classes=4, width_mult=0.0625, image_size=(16, 16)))
    state = _state(model)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(9, 3, 16, 16, generator=g), torch.randint(0, 4, (9,), generator=g)
    cfg = TrainConfig(optimizer="sgd", lr=0.1, momentum=0.0, batch_size=8, epochs=1)
    out = train_slice(model, state, [1, 8], x, y, cfg, torch.Generator().manual_seed(1))
    assert out.steps == 2  # 8 + a last batch of 1: BatchNorm still sees 2 x 2 or more
    assert set(out.state) == set(model.group_keys(1)) | set(model.group_keys(8))
    assert not torch.equal(out.state["groups.1.0.weight"], state["groups.1.0.weight"])
    assert not torch.equal(out.state["groups.1.1.running_mean"], state["groups.1.1.running_mean"])
    assert int(out.state["groups.1.1.num_batches_tracked"]) == 2


def test_cost_model_probes_vgg_and_mlp_on_meta() -> None:
    for factory, shape in [(lambda: vgg11(width_mult=0.125), (3, 32, 32)),
                           (lambda: mlp(input_shape=(1, 8, 8)), (1, 8, 8))]:
        costs = CostModel(factory, shape, "sgd", 0.9)
        everything = list(range(costs.n_groups))
        assert costs.step(everything, 4).flops > costs.step([costs.n_groups - 1], 4).flops > 0


def test_model_factory_names_and_shape_errors() -> None:
    with pytest.raises(ConfigurationError, match="known: digits_cnn, vgg11, mlp"):
        model_factory("resnet", num_classes=10)
    with pytest.raises(ConfigurationError, match="channels x height x width"):
        model_factory("vgg11", num_classes=10, input_shape=(64,))
    assert len(model_factory("mlp", num_classes=10, input_shape=(64,))()) == 3
