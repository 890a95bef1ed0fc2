"""Tests of `snakesim.learning.split`: split steps against whole-model steps, and costs."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from snakesim.errors import ConfigurationError, TrainingDiverged
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.costs.split_costs import SplitCosts
from snakesim.learning.data.datasets import load_digits
from snakesim.learning.models.stack import LayerStack, digits_cnn, init_parameters
from snakesim.learning.split import (
    PartsAverage,
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


# ------------------------------------------------------------ precision and clipping
PRECISIONS = {"bf16": Precision("bf16"), "fp16": Precision("fp16"),
              "bf16-pure": Precision("bf16", master_weights=False),
              "fp16-pure": Precision("fp16", master_weights=False)}


def _held(precision: Precision, seed: int = 0) -> LayerStack:
    model = _model(seed)
    return model.to(precision.param_dtype)


def _state(model: LayerStack) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("name", sorted(PRECISIONS))
def test_split_training_in_half_precision_matches_whole_model_training(name: str) -> None:
    """Autocast at both sides, the loss scale reaching the client, half parts: all exact.

    Plain SGD is not scale-invariant, so a client that did not unscale the gradient of
    the fp16-scaled loss it receives would take 2**16 times too large steps.
    """
    precision = PRECISIONS[name]
    x, y = _data(50)
    cfg = TrainConfig(optimizer="sgd", lr=0.05, momentum=0.0, batch_size=16, epochs=2,
                      precision=precision)
    state = _state(_held(precision))
    whole = train_slice(_held(precision), state, range(5), x, y, cfg,
                        torch.Generator().manual_seed(7))
    client, server = split_state(state, client_keys(_model(), 2))
    split = train_split(_held(precision), client, server, 2, x, y, cfg,
                        torch.Generator().manual_seed(7))
    trained = {**split.client_state, **split.server_state}
    assert {v.dtype for v in trained.values()} == {precision.param_dtype}
    for key, value in trained.items():
        torch.testing.assert_close(value, whole.state[key], rtol=0, atol=0, msg=key)
        assert not torch.equal(value, state[key]), key
    assert split.mean_loss == whole.mean_loss


def test_precision_and_clipping_change_what_split_training_learns() -> None:
    x, y = _data(48)
    client, server = split_state(_state(_model()), client_keys(_model(), 2))
    results = {}
    for name, change in {"fp32": {}, "bf16": {"precision": Precision("bf16")},
                         "clip": {"grad_clip": 1e-6}}.items():
        cfg = TrainConfig(optimizer="adam", lr=0.01, batch_size=16, **change)
        result = train_split(_model(), client, server, 2, x, y, cfg,
                             torch.Generator().manual_seed(0))
        results[name] = {**result.client_state, **result.server_state}
    for a, b in [("fp32", "bf16"), ("fp32", "clip"), ("bf16", "clip")]:
        assert any(not torch.equal(results[a][k], results[b][k]) for k in results[a]), (a, b)


def test_each_side_clips_its_own_gradient_norm() -> None:
    """One SGD step of lr 1 moves each part by exactly the clip norm (not both together)."""
    x, y = _data(16)
    state = _state(_model())
    client, server = split_state(state, client_keys(_model(), 2))
    cfg = TrainConfig(optimizer="sgd", lr=1.0, momentum=0.0, batch_size=16, grad_clip=1e-3)
    result = train_split(_model(), client, server, 2, x, y, cfg,
                         torch.Generator().manual_seed(0))
    for part in (result.client_state, result.server_state):
        moved = torch.cat([(v - state[k]).flatten() for k, v in part.items()])
        assert float(moved.norm()) == pytest.approx(1e-3, rel=1e-3)


@pytest.mark.parametrize("precision", [Precision("bf16"), Precision("bf16", False)],
                         ids=["mixed", "pure"])
def test_bf16_split_training_learns_digits(precision: Precision) -> None:
    data = load_digits()
    x, y = data.x_train[:96], data.y_train[:96]
    model = digits_cnn(width=8)
    init_parameters(model, torch.Generator().manual_seed(0))
    model.to(precision.param_dtype)
    client, server = split_state(_state(model), client_keys(model, 2))
    cfg = TrainConfig(optimizer="adam", lr=0.01, batch_size=16, precision=precision)
    gen, optimizer, losses = torch.Generator().manual_seed(0), None, []
    for _ in range(6):
        result = train_split(model, client, server, 2, x, y, cfg, gen, optimizer)
        client, server = result.client_state, result.server_state
        optimizer = result.server_optimizer
        losses.append(result.mean_loss)
    assert losses[-1] < 0.5 * losses[0]


def test_fp16_split_training_stays_finite_with_loss_scaling() -> None:
    x, y = _data(64)
    client, server = split_state(_state(_model()), client_keys(_model(), 3))
    cfg = TrainConfig(optimizer="adam", lr=0.01, batch_size=8, epochs=3,
                      precision=Precision("fp16"))
    result = train_split(_model(), client, server, 3, x, y, cfg,
                         torch.Generator().manual_seed(0))
    assert result.steps == 24 and math.isfinite(result.mean_loss)
    for key, value in {**result.client_state, **result.server_state}.items():
        assert bool(torch.isfinite(value.float()).all()), key
        assert value.dtype == torch.float32, key  # fp32 master weights


def test_half_precision_costs_of_a_split_job() -> None:
    fp32 = SplitCosts(_model(), INPUT, 2, "adam", 0.0)
    mixed = SplitCosts(_model(), INPUT, 2, "adam", 0.0, precision=Precision("bf16"))
    pure = SplitCosts(_model(), INPUT, 2, "adam", 0.0,
                      precision=Precision("bf16", master_weights=False))
    full, half = fp32.step(32), mixed.step(32)
    # Mixed: half activations at the cut and saved, fp32 parts plus half weight copies.
    assert half.activation_bytes == half.gradient_bytes == full.activation_bytes // 2
    assert half.client_saved_bytes < full.client_saved_bytes
    assert half.server_saved_bytes < full.server_saved_bytes
    assert mixed.client_bytes == fp32.client_bytes
    for side in ("client_memory", "server_memory"):
        a, b = getattr(fp32, side)(32), getattr(mixed, side)(32)
        assert b.gradients == a.gradients and b.optimizer == a.optimizer
        assert a.weights < b.weights < 1.5 * a.weights  # + 2-byte copies of the weights
        assert b.activations < a.activations
    # Pure: everything in 2 bytes (the fp32 batch excepted).
    assert pure.client_bytes == fp32.client_bytes // 2
    for side in ("client_memory", "server_memory"):
        a, c = getattr(fp32, side)(32), getattr(pure, side)(32)
        assert (c.weights, c.gradients, c.optimizer) == (
            a.weights // 2, a.gradients // 2, a.optimizer // 2)
        assert c.total < a.total


# ------------------------------------------------------------------------ divergence
def test_a_diverging_split_job_raises_a_located_error() -> None:
    x, y = _data(48)
    client, server = split_state(_state(_model()), client_keys(_model(), 2))
    cfg = TrainConfig(optimizer="sgd", lr=1e30, batch_size=16)
    with pytest.raises(TrainingDiverged, match=r"^training diverged: in split training "
                       r"\(cut 2\), the loss became nan at step 2 of 3 \(training.lr is "
                       r"1e\+30") as error:
        train_split(_model(), client, server, 2, x, y, cfg, torch.Generator().manual_seed(0))
    assert "\n" not in str(error.value)
    assert isinstance(error.value, ConfigurationError)
