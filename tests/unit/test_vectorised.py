"""Batched (vectorised) slice training gives what one job after another gives."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
import torch
from torch import nn

from snakesim.errors import TrainingDiverged
from snakesim.learning.batching import ALONE, ClientBatcher
from snakesim.learning.costs.model import CostModel
from snakesim.learning.models.stack import LayerStack, digits_cnn, init_parameters
from snakesim.learning.models.vgg import vgg11
from snakesim.learning.objective import CAUSAL_LM
from snakesim.learning.training import SliceResult, TrainConfig, slice_job, train_slice
from snakesim.learning.vectorised import (
    RandomOpsInModel,
    SliceTask,
    batch_obstacle,
    model_obstacle,
    train_slices,
)

TOLERANCE = 1e-5  # max |difference| of any parameter after a round (the bound)
# Ragged local data: a client below the batch size, last batches of 16, 15, 4 and 8.
SIZES = [144, 143, 20, 100, 40]
BASE = TrainConfig(batch_size=32)


def _data(sizes: list[int], shape: tuple[int, ...] = (1, 8, 8), seed: int = 0,
          ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    g = torch.Generator().manual_seed(seed)
    return [(torch.randn(n, *shape, generator=g), torch.randint(0, 10, (n,), generator=g))
            for n in sizes]


def _model(build: Callable[[], LayerStack]) -> tuple[LayerStack, dict[str, torch.Tensor]]:
    model = build()
    init_parameters(model, torch.Generator().manual_seed(0))
    return model, {k: v.clone() for k, v in model.state_dict().items()}


def _both(model: LayerStack, state: dict[str, torch.Tensor], cfg: TrainConfig,
          data: list[tuple[torch.Tensor, torch.Tensor]], trainable: tuple[int, ...],
          ) -> tuple[list[SliceResult], list[SliceResult]]:
    seq = [train_slice(model, state, trainable, x, y, cfg, torch.Generator().manual_seed(i))
           for i, (x, y) in enumerate(data)]
    tasks = [SliceTask(state, trainable, x, y, cfg, torch.Generator().manual_seed(i))
             for i, (x, y) in enumerate(data)]
    return seq, train_slices(model, tasks)


def _max_difference(a: list[SliceResult], b: list[SliceResult]) -> float:
    assert [r.state.keys() for r in a] == [r.state.keys() for r in b]
    return max(float((x.state[k].double() - y.state[k].double()).abs().max())
               for x, y in zip(a, b, strict=True) for k in x.state)


CONFIGS: dict[str, TrainConfig] = {
    "sgd": replace(BASE, momentum=0.0),
    "sgd-momentum": BASE,
    "sgd-weight-decay": replace(BASE, weight_decay=1e-3),
    "adam": replace(BASE, optimizer="adam", lr=0.003),
    "adam-l2": replace(BASE, optimizer="adam", lr=0.003, weight_decay=1e-3),
    "adamw": replace(BASE, optimizer="adamw", lr=0.003, weight_decay=1e-2),
    "fedprox": replace(BASE, prox_mu=0.1),
    "grad-clip": replace(BASE, grad_clip=0.5),
    "two-epochs": replace(BASE, optimizer="adam", lr=0.003, epochs=2),
}


@pytest.mark.parametrize("name", list(CONFIGS))
def test_batched_clients_match_sequential_jobs(name: str) -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    seq, batched = _both(model, state, CONFIGS[name], _data(SIZES), tuple(range(5)))
    assert _max_difference(seq, batched) < TOLERANCE
    assert [r.steps for r in seq] == [r.steps for r in batched]
    assert [r.mean_loss for r in seq] == pytest.approx([r.mean_loss for r in batched],
                                                       abs=TOLERANCE)


def test_a_slice_behind_frozen_groups_matches() -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    seq, batched = _both(model, state, replace(BASE, epochs=2), _data(SIZES), (2, 3))
    assert _max_difference(seq, batched) < TOLERANCE
    assert set(batched[0].state) == {k for g in (2, 3) for k in model.trained_keys(g)}


def test_batchnorm_models_match_with_their_running_statistics() -> None:
    # VGG-11 with BatchNorm: running means and variances are per client and updated in
    # every step, as in the module. (Where the sequential path itself is not stable to
    # rounding, e.g. BatchNorm over a 4-sample last batch at a 1 x 1 feature map, it
    # differs between thread counts as much as batching does; these sizes are stable.)
    model, state = _model(lambda: vgg11(in_channels=1, image_size=(8, 8), width_mult=0.125))
    seq, batched = _both(model, state, replace(BASE, lr=0.01), _data([64, 96, 32]),
                         tuple(range(len(model))))
    assert _max_difference(seq, batched) < TOLERANCE
    assert any("running_var" in k for k in batched[0].state)
    assert int(batched[1].state["groups.0.1.num_batches_tracked"]) == 3


def test_batched_jobs_draw_their_data_order_like_sequential_ones() -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    data = _data(SIZES)
    sequential = [torch.Generator().manual_seed(i) for i in range(len(data))]
    for g, (x, y) in zip(sequential, data, strict=True):
        train_slice(model, state, (0, 1, 2, 3, 4), x, y, BASE, g)
    batched = [torch.Generator().manual_seed(i) for i in range(len(data))]
    train_slices(model, [SliceTask(state, (0, 1, 2, 3, 4), x, y, BASE, g)
                         for g, (x, y) in zip(batched, data, strict=True)])
    for a, b in zip(sequential, batched, strict=True):
        assert torch.equal(a.get_state(), b.get_state())


def test_a_diverging_client_stops_the_batch_as_it_stops_a_job() -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    cfg = replace(BASE, lr=1e12)
    with pytest.raises(TrainingDiverged, match=r"training diverged: in slice training.*"
                                                r"training\.lr is 1e\+12"):
        train_slices(model, [SliceTask(state, (0, 1, 2, 3, 4), x, y, cfg,
                                       torch.Generator().manual_seed(i))
                             for i, (x, y) in enumerate(_data([64, 64]))])


class _Noisy(nn.Module):
    """Draws random numbers in training, as a library's dropout call does."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 0.0 * torch.rand_like(x)


def test_random_operations_leave_the_generators_untouched() -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    model.groups[4] = nn.Sequential(_Noisy(), model.groups[4])
    model.refresh_aliases()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    generators = [torch.Generator().manual_seed(i) for i in range(2)]
    before = [g.get_state() for g in generators]
    with pytest.raises(RandomOpsInModel):
        train_slices(model, [SliceTask(state, (0, 1, 2, 3, 4), x, y, BASE, g)
                             for g, (x, y) in zip(generators, _data([40, 40]), strict=True)])
    assert all(torch.equal(g.get_state(), s) for g, s in zip(generators, before, strict=True))


def test_what_cannot_be_batched_says_why() -> None:
    model = digits_cnn(width=8)
    assert batch_obstacle(BASE, distill=False) is None and model_obstacle(model) is None
    assert "distillation" in str(batch_obstacle(BASE, distill=True))
    bf16 = replace(BASE, precision=replace(BASE.precision, dtype="bf16"))
    assert "training.dtype bf16" in str(batch_obstacle(bf16, distill=False))
    dropout = LayerStack([nn.Sequential(nn.Flatten(), nn.Dropout(0.1), nn.Linear(64, 10))],
                         ["head"])
    assert "dropout" in str(model_obstacle(dropout))


@pytest.mark.parametrize("objective", ["classification", "causal_lm"])
def test_the_mean_of_sample_losses_is_the_loss(objective: str) -> None:
    # What padding relies on: weighting each real sample 1 gives the unpadded loss.
    from snakesim.learning.objective import objective_for

    g = torch.Generator().manual_seed(0)
    if objective == "classification":
        x, logits = torch.randn(5, 3, generator=g), torch.randn(5, 10, generator=g)
    else:
        x, logits = torch.randint(0, 7, (5, 6), generator=g), torch.randn(5, 6, 7, generator=g)
    y = torch.randint(0, 10, (5,), generator=g)
    task = objective_for(objective)
    torch.testing.assert_close(task.sample_losses(logits, x, y).mean(), task.loss(logits, x, y))


# ----------------------------------------------------------------------- the batcher
def _jobs(batcher: ClientBatcher, model: LayerStack, state: dict[str, torch.Tensor],
          data: list[tuple[torch.Tensor, torch.Tensor]], **kw: Any) -> list[Any]:
    costs = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "sgd", 0.9)
    return [slice_job(costs, model, state, range(5), x, y, BASE,
                      torch.Generator().manual_seed(i), batcher=batcher, **kw)
            for i, (x, y) in enumerate(data)]


def test_the_batcher_runs_accepted_jobs_together_and_matches_alone() -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    data = _data(SIZES)
    alone = [job.result() for job in _jobs(ClientBatcher(model, enabled=False), model, state,
                                           data)]
    batcher = ClientBatcher(model, limit=3)
    jobs = _jobs(batcher, model, state, data)
    probe = _jobs(batcher, model, state, data[:1])[0]  # made, never accepted nor run
    for job in jobs:
        job.accepted()
    results = [job.result() for job in reversed(jobs)][::-1]
    assert _max_difference(alone, results) < TOLERANCE
    # Five jobs, at most three a batch: 3 + 2, asked for from the last.
    assert batcher.summary() == {"batched_jobs": 5, "batches": 2, "jobs_run_alone": 0,
                                 "run_alone_because": {}}
    assert not probe.done


def test_a_job_not_accepted_runs_alone_exactly_as_unbatched() -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    data = _data([50])
    plain = _jobs(ClientBatcher(model, enabled=False), model, state, data)[0].result()
    batcher = ClientBatcher(model)
    result = _jobs(batcher, model, state, data)[0].result()
    assert all(torch.equal(plain.state[k], result.state[k]) for k in plain.state)
    assert batcher.summary()["run_alone_because"] == {ALONE: 1}


def test_distillation_jobs_run_alone_with_their_reason() -> None:
    model, state = _model(lambda: digits_cnn(width=8))
    batcher = ClientBatcher(model)
    cfg = replace(BASE, distill_weight=0.5)
    costs = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "sgd", 0.9)
    teacher = digits_cnn(width=8)
    jobs = [slice_job(costs, model, state, range(5), x, y, cfg,
                      torch.Generator().manual_seed(i), teacher, batcher=batcher)
            for i, (x, y) in enumerate(_data([40, 40]))]
    for job in jobs:
        job.accepted()
    for job in jobs:
        job.result()
    assert batcher.summary()["batches"] == 0
    assert batcher.summary()["run_alone_because"] == {
        "knowledge distillation (a teacher per job)": 2}


# ----------------------------------------------------------------------------- LoRA
def test_lora_adapters_batch_and_match() -> None:
    pytest.importorskip("peft")
    from snakesim.config.strategies import LoraSpec
    from snakesim.experiments.build import with_lora
    from snakesim.learning.models.lm_models import lm_factory, load_lm_config

    config = load_lm_config(preset="tiny-opt", overrides={"num_hidden_layers": 2})
    model = with_lora(lm_factory(config, seed=0), LoraSpec(rank=4, alpha=8,
                                                           targets=["q_proj", "v_proj"]),
                      seed=0)()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    g = torch.Generator().manual_seed(3)
    vocab = int(config.vocab_size)
    data = [(torch.randint(0, vocab, (n, 16), generator=g), torch.zeros(n, dtype=torch.long))
            for n in (12, 10, 12)]  # a 2-sequence last batch: padded
    cfg = TrainConfig(optimizer="adamw", lr=0.003, batch_size=4, objective=CAUSAL_LM)
    assert batch_obstacle(cfg, distill=False) is None
    assert model_obstacle(model) is None, "the tiny preset has dropout"
    seq, batched = _both(model, state, cfg, data, tuple(range(len(model))))
    assert _max_difference(seq, batched) < TOLERANCE
    assert batched[0].state and all("lora_" in k for k in batched[0].state)
