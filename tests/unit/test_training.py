"""Tests of `snakesim.learning.training`: slice training and lazy training jobs."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import cache

import pytest
import torch

from snakesim.errors import ConfigurationError, TrainingDiverged
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.data.datasets import load_digits
from snakesim.learning.evaluation import evaluate
from snakesim.learning.lazy import Lazy
from snakesim.learning.models.stack import LayerStack, digits_cnn, init_parameters
from snakesim.learning.stepping import check_finite
from snakesim.learning.training import (
    SliceResult,
    TrainConfig,
    TrainJob,
    slice_job,
    train_slice,
)

State = dict[str, torch.Tensor]
INPUT = (1, 8, 8)
CFG = TrainConfig(optimizer="sgd", lr=0.05, momentum=0.9, batch_size=8, epochs=1)



def _factory() -> LayerStack:
    return digits_cnn(width=4)


def _initial_state(seed: int = 0) -> State:
    model = _factory()
    init_parameters(model, torch.Generator().manual_seed(seed))
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


@cache
def _digits() -> tuple[torch.Tensor, torch.Tensor]:
    data = load_digits()
    return data.x_train[:64].clone(), data.y_train[:64].clone()


def _data(n: int = 24, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, *INPUT, generator=g), torch.randint(0, 10, (n,), generator=g)


def _train(trainable: Sequence[int], seed: int = 0, cfg: TrainConfig = CFG,
           state: State | None = None, model: LayerStack | None = None) -> SliceResult:
    x, y = _data()
    return train_slice(model or _factory(), state or _initial_state(), trainable, x, y, cfg,
                       torch.Generator().manual_seed(seed))


def _keys(trainable: Sequence[int]) -> set[str]:
    model = _factory()
    return {k for i in trainable for k in model.group_keys(i)}


# ----------------------------------------------------------------------- train_slice
def test_returns_exactly_the_trainable_groups() -> None:
    for trainable in [(0, 1, 2, 3, 4), (2, 3), (4,), (1, 4)]:
        result = _train(trainable)
        assert set(result.state) == _keys(trainable)
        assert result.steps == 3  # 24 samples, batches of 8, one epoch
        assert result.mean_loss > 0


def test_only_trainable_groups_change() -> None:
    state = _initial_state()
    model = _factory()
    trainable = (1, 3)
    result = _train(trainable, state=state, model=model)
    after = model.state_dict()
    for key, before in state.items():
        if model.group_of(key) in trainable:
            assert not torch.equal(after[key], before), key
            assert torch.equal(result.state[key], after[key])
        else:
            assert torch.equal(after[key], before), key


def test_results_are_copies_not_views_of_the_workspace() -> None:
    model = _factory()
    result = _train((3, 4), model=model)
    snapshot = {k: v.clone() for k, v in result.state.items()}
    _train((3, 4), seed=1, model=model)  # reuse the workspace
    assert all(torch.equal(result.state[k], snapshot[k]) for k in snapshot)


def test_input_state_is_not_modified() -> None:
    state = _initial_state()
    before = {k: v.clone() for k, v in state.items()}
    _train((0, 1, 2, 3, 4), state=state)
    assert state.keys() == before.keys()
    assert all(torch.equal(state[k], before[k]) for k in before)


def test_same_seed_same_result_different_seed_different() -> None:
    trainable = (2, 3, 4)
    a, b, c = _train(trainable, seed=3), _train(trainable, seed=3), _train(trainable, seed=4)
    assert a.mean_loss == b.mean_loss
    assert all(torch.equal(a.state[k], b.state[k]) for k in a.state)
    assert any(not torch.equal(a.state[k], c.state[k]) for k in a.state)


def test_groups_before_the_first_trainable_group_get_no_gradient() -> None:
    model = _factory()
    trainable = (2, 4)
    _train(trainable, model=model)
    for i, group in enumerate(model.groups):
        for p in group.parameters():
            if i in trainable:
                assert p.grad is not None
            else:
                assert p.grad is None, f"group {i} got a gradient"


def test_loss_decreases_on_an_easy_problem() -> None:
    # 64 real digits, 8 epochs of the whole model (width 8: width 4 learns too slowly).
    x, y = _digits()
    model = digits_cnn(width=8)
    init_parameters(model, torch.Generator().manual_seed(0))
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    cfg = TrainConfig(optimizer="adam", lr=0.01, batch_size=8, epochs=1)
    gen = torch.Generator().manual_seed(0)
    losses = []
    for _ in range(8):
        result = train_slice(model, state, range(5), x, y, cfg, gen)
        state = {**state, **result.state}
        losses.append(result.mean_loss)
    assert losses[-1] < 0.5 * losses[0]
    assert min(losses[4:]) < min(losses[:4])
    model.load_state_dict(state)
    accuracy, _ = evaluate(model, x, y)
    assert accuracy > 0.6


def test_adam_trains_a_slice() -> None:
    cfg = TrainConfig(optimizer="adam", lr=1e-2, batch_size=8, epochs=2)
    result = _train((3, 4), cfg=cfg)
    assert result.steps == 6
    initial = _initial_state()
    assert all(not torch.equal(result.state[k], initial[k]) for k in result.state)


# --------------------------------------------------------------------------- TrainJob
def test_train_job_runs_the_work_once_and_caches() -> None:
    calls = []
    product = SliceResult({}, 1.5, 2)

    def work() -> SliceResult:
        calls.append(1)
        return product

    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    job = TrainJob(work, 10.0, costs.memory((4,), 8), 16)
    assert calls == []
    assert job.result() is product
    assert job.result() is product
    assert len(calls) == 1
    assert job.flops == 10.0
    assert job.samples == 16
    assert job.peak_memory_bytes == job.memory.total


def test_a_lazy_result_of_none_runs_once_too_and_lets_go_of_its_work() -> None:
    calls: list[int] = []
    job: Lazy[None] = Lazy(lambda: calls.append(1))
    assert not job.done
    assert job.result() is None and job.result() is None
    assert calls == [1] and job.done and job._work is None


def test_slice_job_knows_its_cost_before_running() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    model = _factory()
    state = _initial_state()
    x, y = _data(n=20)
    cfg = TrainConfig(batch_size=8, epochs=2)
    trainable = (1, 2, 4)
    job = slice_job(costs, model, state, trainable, x, y, cfg,
                    torch.Generator().manual_seed(0))
    # Nothing ran yet: the workspace model still holds its own (unloaded) parameters.
    assert all(p.grad is None for p in model.parameters())
    assert not torch.equal(model.state_dict()["groups.4.weight"], state["groups.4.weight"])
    assert job.flops == costs.train_flops(trainable, 20, 8, 2)
    assert job.memory == costs.memory(trainable, 8)
    assert job.peak_memory_bytes == costs.memory(trainable, 8).total
    assert job.samples == 40
    result = job.result()
    assert set(result.state) == _keys(trainable)
    assert result.steps == 6
    assert job.result() is result


def test_slice_job_memory_uses_the_largest_real_batch() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    x, y = _data(n=5)
    job = slice_job(costs, _factory(), _initial_state(), (4,), x, y,
                    TrainConfig(batch_size=32), torch.Generator().manual_seed(0))
    assert job.memory == costs.memory((4,), 5)


# ------------------------------------------------------- precision and divergence
def test_pure_half_training_holds_the_model_in_the_half_format() -> None:
    cfg = TrainConfig(optimizer="sgd", lr=0.05, batch_size=8,
                      precision=Precision("bf16", master_weights=False))
    model = _factory()  # fp32: the job holds it in bf16, as a pure-bf16 node does
    result = _train((2, 3, 4), cfg=cfg, model=model)
    assert {v.dtype for v in result.state.values()} == {torch.bfloat16}
    assert all(p.dtype == torch.bfloat16 for p in model.parameters())
    assert math.isfinite(result.mean_loss)


def test_adam_is_refused_in_pure_fp16_and_sgd_trains() -> None:
    pure = Precision("fp16", master_weights=False)
    for optimizer in ("adam", "adamw"):
        with pytest.raises(ConfigurationError, match=f"training.optimizer: {optimizer} "
                           "cannot train purely in fp16"):
            _train((3, 4), cfg=TrainConfig(optimizer=optimizer, precision=pure))
    result = _train((3, 4), cfg=TrainConfig(optimizer="sgd", batch_size=8, precision=pure))
    assert all(bool(torch.isfinite(v).all()) for v in result.state.values())


def test_a_diverging_slice_job_raises_a_located_error() -> None:
    cfg = TrainConfig(optimizer="sgd", lr=1e30, batch_size=8)
    with pytest.raises(TrainingDiverged, match=r"^training diverged: in slice training, "
                       r"the loss became (nan|inf) at step 2 of 3 \(training.lr is 1e\+30, "
                       r"training.weight_decay 0, training.grad_clip 0, training.dtype "
                       r"fp32\); lower training.lr") as error:
        _train((0, 1, 2, 3, 4), cfg=cfg)
    assert "\n" not in str(error.value)


def test_weights_broken_by_the_last_step_are_a_divergence() -> None:
    cfg = TrainConfig(lr=1.0)
    losses = [torch.tensor(2.0), torch.tensor(1.0)]
    weights = [torch.ones(3), torch.tensor([1.0, math.inf])]
    with pytest.raises(TrainingDiverged, match="the weights became inf or NaN in step 2"):
        check_finite(losses, weights, cfg, "slice training")
    assert check_finite(losses, weights[:1], cfg, "slice training") == 1.5
    assert math.isnan(check_finite([], weights, cfg, "slice training"))


def test_cost_only_jobs_are_not_a_divergence() -> None:
    cfg = TrainConfig(lr=1e30, cost_only=True)
    assert math.isnan(_train((4,), cfg=cfg).mean_loss)
