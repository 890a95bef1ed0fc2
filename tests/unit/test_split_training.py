"""Tests of `snakesim.learning.split`: split steps against whole-model steps, and costs."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snakesim.learning.costs import CostModel
from snakesim.learning.models import LayerStack, digits_cnn, init_parameters
from snakesim.learning.split import (
    PartsAverage,
    SplitCosts,
    SplitResult,
    batch_sizes,
    client_backward,
    client_forward,
    client_keys,
    server_step,
    split_state,
    train_split,
)
from snakesim.learning.training import TrainConfig, train_slice

INPUT = (1, 8, 8)
CUTS = [1, 2, 3, 4]


def _model(seed: int = 0) -> LayerStack:
    model = digits_cnn(width=4)
    init_parameters(model, torch.Generator().manual_seed(seed))
    return model


def _data(n: int, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *INPUT, generator=g), torch.randint(0, 10, (n,), generator=g)


@pytest.mark.parametrize("cut", CUTS)
def test_split_step_gives_the_gradients_of_the_whole_model(cut: int) -> None:
    x, y = _data(16)
    whole = _model()
    nn.functional.cross_entropy(whole(x), y).backward()  # type: ignore[no-untyped-call]
    split = _model()
    h, sent = client_forward(split, x, cut)
    server_step(split, sent, x, y, cut)
    assert sent.grad is not None
    client_backward(h, sent.grad)
    for (name, a), b in zip(whole.named_parameters(), split.parameters(), strict=True):
        assert a.grad is not None and b.grad is not None
        torch.testing.assert_close(b.grad, a.grad, msg=name)


@pytest.mark.parametrize(("cut", "optimizer"), [(1, "adam"), (3, "sgd")])
def test_split_training_matches_whole_model_training(cut: int, optimizer: str) -> None:
    x, y = _data(50)
    cfg = TrainConfig(optimizer=optimizer, lr=0.01, batch_size=16, epochs=2)
    state = _model().state_dict()
    whole = train_slice(_model(), state, range(5), x, y, cfg, torch.Generator().manual_seed(7))
    client, server = split_state(state, client_keys(_model(), cut))
    split = train_split(_model(), client, server, cut, x, y, cfg,
                        torch.Generator().manual_seed(7))
    assert split.steps == whole.steps == 8
    assert set(split.client_state) | set(split.server_state) == set(whole.state)
    for key, value in {**split.client_state, **split.server_state}.items():
        torch.testing.assert_close(value, whole.state[key], msg=key)
    assert split.mean_loss == pytest.approx(whole.mean_loss, rel=1e-5)
    assert client == split_state(state, client_keys(_model(), cut))[0]  # inputs untouched


def test_the_server_optimizer_state_resumes_across_turns() -> None:
    x, y = _data(32)
    cfg = TrainConfig(optimizer="adam", lr=0.01, batch_size=16, epochs=1)
    client, server = split_state(_model().state_dict(), client_keys(_model(), 2))
    first = train_split(_model(), client, server, 2, x, y, cfg, torch.Generator().manual_seed(0))
    fresh = train_split(_model(), first.client_state, first.server_state, 2, x, y, cfg,
                        torch.Generator().manual_seed(0))
    resumed = train_split(_model(), first.client_state, first.server_state, 2, x, y, cfg,
                          torch.Generator().manual_seed(0), first.server_optimizer)
    steps = [s["step"] for s in resumed.server_optimizer["state"].values()]
    assert all(int(s) == 4 for s in steps)
    key = next(iter(first.server_state))
    assert not torch.equal(fresh.server_state[key], resumed.server_state[key])


@pytest.mark.parametrize("cut", CUTS)
@pytest.mark.parametrize("batch", [32, 5])
def test_client_and_server_flops_add_up_to_the_whole_step(cut: int, batch: int) -> None:
    costs = SplitCosts(_model(), INPUT, cut, "adam", 0.0)
    whole = CostModel(lambda: digits_cnn(width=4), INPUT, "adam", 0.0)
    step = costs.step(batch)
    assert step.flops == whole.step(range(5), batch).flops
    assert step.client_forward_flops > 0 and step.server_flops > 0


@pytest.mark.parametrize("cut", CUTS)
def test_bytes_sent_are_those_of_the_real_cut_tensors(cut: int) -> None:
    model = _model()
    x, y = _data(12)
    h, sent = client_forward(model, x, cut)
    server_step(model, sent, x, y, cut)
    assert sent.grad is not None
    step = SplitCosts(model, INPUT, cut, "sgd", 0.9).step(12)
    assert step.activation_bytes == h.numel() * 4 == 12 * h[0].numel() * 4
    assert step.gradient_bytes == sent.grad.numel() * sent.grad.element_size()
    assert step.label_bytes == 12 * 8
    assert step.upload_bytes == step.activation_bytes + step.label_bytes


def test_memory_of_each_side_counts_only_its_part() -> None:
    model = _model()
    costs = SplitCosts(model, INPUT, 2, "adam", 0.0)
    total = sum(v.numel() * 4 for v in model.state_dict().values())
    assert costs.client_bytes + costs.server_bytes == total
    client, server = costs.client_memory(32), costs.server_memory(32)
    assert client.weights == costs.client_bytes and client.optimizer == 2 * client.gradients
    assert server.weights == costs.server_bytes
    # A SplitFed v1 server holds one server-side copy (weights, optimizer) per client.
    four = costs.server_memory(32, copies=4)
    assert four.total - server.total == 3 * (server.weights + server.optimizer)


def test_a_cut_must_leave_a_group_on_each_side() -> None:
    with pytest.raises(ValueError, match="cut must be between 1 and 4"):
        SplitCosts(_model(), INPUT, 5, "sgd", 0.9)
    with pytest.raises(ValueError):
        SplitCosts(_model(), INPUT, 0, "sgd", 0.9)


def test_averaging_identical_parts_is_the_identity() -> None:
    state = _model().state_dict()
    client, server = split_state(state, client_keys(_model(), 1))
    result = SplitResult(client, server, {}, 0.0, 0)
    average = PartsAverage()
    for weight in (3, 17, 40):
        average.add(result, weight)
    got_client, got_server = average.result(like=state)
    assert got_client.keys() == client.keys() and got_server.keys() == server.keys()
    for key, value in {**got_client, **got_server}.items():
        assert torch.equal(value, state[key]), key


def test_batch_sizes_cover_every_sample_every_epoch() -> None:
    assert batch_sizes(70, 32, 2) == [32, 32, 6, 32, 32, 6]
    assert batch_sizes(64, 32, 1) == [32, 32]
