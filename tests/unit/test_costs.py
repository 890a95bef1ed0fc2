"""Tests of `snakesim.learning.costs.model`: the probed cost model checked against real steps.

The memory model's components are compared with what a real CPU training step
actually allocates, and the probed FLOPs with `FlopCounterMode` on the real step.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from snakesim.learning.costs.breakdown import tensor_bytes
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.optimizer_step import optimizer_slots
from snakesim.learning.costs.precision import Precision
from snakesim.learning.costs.probe import saved_storages
from snakesim.learning.models.stack import LayerStack, digits_cnn, init_parameters
from snakesim.learning.models.vgg import mlp, vgg11
from snakesim.learning.training import TrainConfig, make_optimizer

INPUT = (1, 8, 8)
N_GROUPS = 5
SLICES: list[tuple[int, ...]] = [(0, 1, 2, 3, 4), (1, 4), (2, 3), (3,), (4,)]
OPTIMIZERS = [("sgd", 0.9), ("sgd", 0.0), ("adam", 0.0)]



def _factory() -> LayerStack:
    return digits_cnn(width=4)


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


class RealStep:
    """One real CPU training step of a slice, with what it allocated."""

    def __init__(self, trainable: Sequence[int], batch_size: int, optimizer: str = "sgd",
                 momentum: float = 0.9) -> None:
        model = _factory()
        init_parameters(model, torch.Generator().manual_seed(0))
        g = torch.Generator().manual_seed(1)
        x = torch.rand(batch_size, *INPUT, generator=g)
        y = torch.randint(0, 10, (batch_size,), generator=g)
        groups = sorted(set(trainable))
        for i, group in enumerate(model.groups):
            group.requires_grad_(i in groups)
        params = [p for i in groups for p in model.groups[i].parameters()]
        opt = make_optimizer(params, TrainConfig(optimizer=optimizer, momentum=momentum))

        # The cost model's dedupe rule: distinct storages saved for backward, excluding
        # parameters and the input batch.
        first = groups[0]
        with FlopCounterMode(display=False) as counter, \
                saved_storages((*model.parameters(), x, y)) as saved:
            with torch.no_grad():
                h = model.forward_range(x, 0, first)
            loss = nn.functional.cross_entropy(model.forward_range(h, first, len(model)), y)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
        opt.step()

        self.model = model
        self.flops = counter.get_total_flops()
        self.activation_bytes = sum(saved.values())
        self.grad_bytes = sum(_nbytes(p.grad) for p in model.parameters() if p.grad is not None)
        # Adam also keeps a scalar `step` tensor per parameter; it is a few bytes, not
        # parameter-sized, and the memory model deliberately leaves it out.
        self.optimizer_bytes = sum(_nbytes(v) for s in opt.state.values()
                                   for k, v in s.items()
                                   if isinstance(v, torch.Tensor) and k != "step")
        self.state_keys = {k for s in opt.state.values() for k in s}


# --------------------------------------------------------------------------- sizes
def test_tensor_bytes_is_numel_times_element_size() -> None:
    tensors = [torch.zeros(3, 4), torch.zeros(5, dtype=torch.float16),
               torch.zeros(2, 2, dtype=torch.int64), torch.zeros(0)]
    expected = 3 * 4 * 4 + 5 * 2 + 4 * 8 + 0
    assert tensor_bytes(tensors) == expected
    assert tensor_bytes({str(i): t for i, t in enumerate(tensors)}) == expected
    assert tensor_bytes([]) == 0


def test_group_and_model_bytes_match_a_real_state_dict() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    model = _factory()
    state = model.state_dict()
    assert costs.n_groups == N_GROUPS
    for i in range(N_GROUPS):
        assert costs.group_bytes(i) == tensor_bytes([state[k] for k in model.group_keys(i)])
    assert sum(costs.group_bytes(i) for i in range(N_GROUPS)) == costs.model_bytes()
    assert costs.model_bytes() == tensor_bytes(state)
    assert costs.memory(SLICES[0], 4).weights == costs.model_bytes()


@pytest.mark.parametrize(("optimizer", "momentum", "slots"),
                         [("sgd", 0.0, 0), ("sgd", 0.9, 1), ("adam", 0.0, 2), ("adam", 0.9, 2)])
def test_optimizer_slots(optimizer: str, momentum: float, slots: int) -> None:
    assert optimizer_slots(optimizer, momentum) == slots


# -------------------------------------------------------------- memory vs. reality
@pytest.mark.parametrize(("optimizer", "momentum"), OPTIMIZERS)
@pytest.mark.parametrize("trainable", SLICES)
def test_memory_model_matches_a_real_step(trainable: tuple[int, ...], optimizer: str,
                                          momentum: float) -> None:
    batch = 3
    costs = CostModel(_factory, INPUT, optimizer, momentum)
    mem = costs.memory(trainable, batch)
    real = RealStep(trainable, batch, optimizer, momentum)
    assert mem.gradients == real.grad_bytes > 0
    assert mem.optimizer == real.optimizer_bytes
    assert mem.activations == real.activation_bytes > 0
    assert mem.batch == batch * (8 * 8 * 4 + 8)
    # Backward holds the gradients of the loss input and of the logits (batch x 10).
    assert mem.output_gradient == 2 * batch * 10 * 4
    # Adam's multi-tensor step needs one gradient-sized scratch set; SGD without weight
    # decay none.
    assert mem.step_buffers == (mem.gradients if optimizer == "adam" else 0)
    # The peak is the timeline's largest event (checked against real allocations in
    # test_memory_timeline); the end of the forward holds every saved activation.
    assert mem.total == max(e.bytes for e in mem.timeline)
    assert mem.total >= mem.weights + mem.optimizer + mem.batch + mem.activations
    if optimizer == "sgd" and momentum == 0:
        assert mem.optimizer == 0
        assert real.state_keys == set()
    elif optimizer == "sgd":
        assert mem.optimizer == mem.gradients
        assert real.state_keys == {"momentum_buffer"}
    else:
        assert mem.optimizer == 2 * mem.gradients
        assert real.state_keys == {"exp_avg", "exp_avg_sq", "step"}


def test_frozen_groups_after_the_slice_get_no_gradient() -> None:
    real = RealStep((1, 4), 2)
    for i, group in enumerate(real.model.groups):
        for p in group.parameters():
            assert (p.grad is not None) == (i in (1, 4))


def test_activations_scale_with_the_batch() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    for trainable in SLICES:
        one = costs.memory(trainable, 1).activations
        # The loss keeps a batch-independent scalar; everything else grows linearly.
        assert costs.memory(trainable, 4).activations - one == pytest.approx(
            3 * (costs.memory(trainable, 2).activations - one), abs=0)


def test_fewer_trainable_groups_never_need_more_memory() -> None:
    costs = CostModel(_factory, INPUT, "adam", 0.0)
    batch = 4
    for k in range(1, N_GROUPS):
        more = costs.memory(range(k - 1, N_GROUPS), batch)
        fewer = costs.memory(range(k, N_GROUPS), batch)
        assert fewer.gradients < more.gradients
        assert fewer.optimizer < more.optimizer
        assert fewer.activations <= more.activations
        if k >= 2:
            # Freezing a leading group drops the activations it saved. (Freezing conv1
            # alone saves nothing: its input is the batch and its ReLU output is what
            # conv2 keeps anyway.)
            assert fewer.activations < more.activations
    full = costs.memory(range(N_GROUPS), batch)
    for trainable in SLICES:
        part = costs.memory(trainable, batch)
        assert part.gradients <= full.gradients
        assert part.optimizer <= full.optimizer
        assert part.activations <= full.activations
    # Subsets of a slice never need more gradient or optimizer memory.
    assert costs.memory((3,), batch).gradients < costs.memory((2, 3), batch).gradients
    assert costs.memory((4,), batch).optimizer < costs.memory((1, 4), batch).optimizer


# ---------------------------------------------------------------------- FLOPs
@pytest.mark.parametrize("trainable", SLICES)
def test_step_flops_match_a_real_step(trainable: tuple[int, ...]) -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    real = RealStep(trainable, 3)
    assert costs.step(trainable, 3).flops == real.flops > 0


def test_full_step_flops_are_forward_plus_backward() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    model = _factory()
    x = torch.rand(2, *INPUT)
    with FlopCounterMode(display=False) as counter:
        model(x)
    forward = counter.get_total_flops()
    full = costs.step(range(N_GROUPS), 2).flops
    # Backward costs about twice the forward (the first conv needs no input gradient).
    assert 2 * forward < full <= 3 * forward
    assert costs.step((), 2).flops == forward


def test_training_fewer_groups_costs_fewer_flops() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    flops = [costs.step(range(k, N_GROUPS), 4).flops for k in range(N_GROUPS + 1)]
    assert all(a > b for a, b in pairwise(flops))


@pytest.mark.parametrize(("n_samples", "batch", "epochs"),
                         [(10, 4, 1), (10, 4, 3), (8, 4, 2), (3, 4, 2), (1, 1, 1)])
def test_train_flops_counts_full_and_partial_batches(n_samples: int, batch: int,
                                                     epochs: int) -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    trainable = (2, 3, 4)
    full, rest = divmod(n_samples, batch)
    expected = full * costs.step(trainable, batch).flops
    if rest:
        expected += costs.step(trainable, rest).flops
    assert costs.train_flops(trainable, n_samples, batch, epochs) == epochs * expected
    # FLOPs are linear in the batch, so the total is that of every sample once per epoch.
    assert costs.train_flops(trainable, n_samples, batch, epochs) == pytest.approx(
        epochs * n_samples * costs.step(trainable, 1).flops)


def test_probing_is_cached() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    first = costs.step((2, 4), 3)
    assert costs.step((2, 4), 3) is first
    assert costs.step([4, 2], 3) is first  # order of the groups does not matter
    assert costs.step((2, 4), 5) is not first


def test_probing_leaves_no_gradients_on_the_meta_model() -> None:
    costs = CostModel(_factory, INPUT, "sgd", 0.9)
    costs.step(range(N_GROUPS), 2)
    assert all(p.grad is None for p in costs._model.parameters())


# ------------------------------------------------------------------- precision
CLASSIFIERS: dict[str, Callable[[], LayerStack]] = {
    "digits_cnn": _factory, "mlp": lambda: mlp(hidden=(32, 16)),
    "vgg11": lambda: vgg11(in_channels=1, image_size=(8, 8), width_mult=0.125)}


@pytest.mark.parametrize("dtype", ["bf16", "fp16"])
@pytest.mark.parametrize("name", sorted(CLASSIFIERS))
def test_half_precision_is_charged_for_every_classifier(name: str, dtype: str) -> None:
    """The probe casts the fp32 batch to the half model (it used to fail on it)."""
    factory = CLASSIFIERS[name]
    everything = range(len(factory()))
    fp32 = CostModel(factory, INPUT, "adam", 0.0).memory(everything, 8)
    mixed = CostModel(factory, INPUT, "adam", 0.0,
                      precision=Precision(dtype)).memory(everything, 8)
    pure = CostModel(factory, INPUT, "adam", 0.0,
                     precision=Precision(dtype, master_weights=False)).memory(everything, 8)
    # Mixed: fp32 master weights, gradients and state, plus half weight copies; half
    # activations (with the half copy of the batch the first layer saves).
    assert (mixed.gradients, mixed.optimizer) == (fp32.gradients, fp32.optimizer)
    assert fp32.weights < mixed.weights < 1.5 * fp32.weights
    assert mixed.activations < fp32.activations + 8 * 64 * 2
    # Pure: everything in 2 bytes (BatchNorm's int64 step counters excepted).
    assert (pure.gradients, pure.optimizer) == (fp32.gradients // 2, fp32.optimizer // 2)
    assert pure.weights == pytest.approx(fp32.weights / 2, rel=1e-3)
    assert pure.activations == mixed.activations
    assert pure.total < mixed.total and pure.total < fp32.total


@pytest.mark.parametrize("trainable", [(0, 1, 2, 3), (2, 3)])
@pytest.mark.parametrize("name", ["digits_cnn", "mlp"])
def test_pure_half_activations_match_a_real_step(name: str, trainable: tuple[int, ...]) -> None:
    model = CLASSIFIERS[name]()
    trainable = (*[i for i in trainable if i < len(model) - 1], len(model) - 1)
    precision = Precision("bf16", master_weights=False)
    costs = CostModel(CLASSIFIERS[name], INPUT, "sgd", 0.9, precision=precision)
    init_parameters(model, torch.Generator().manual_seed(0))
    model.to(torch.bfloat16).set_trainable(trainable)
    x, y = torch.rand(6, *INPUT), torch.randint(0, 10, (6,))
    first = min(trainable)
    with saved_storages((*model.parameters(), x, y)) as saved:
        with torch.no_grad():
            h = model.forward_range(x, 0, first)
        nn.functional.cross_entropy(model.forward_range(h, first, len(model)), y).backward()  # type: ignore[no-untyped-call]
    assert costs.memory(trainable, 6).activations == sum(saved.values()) > 0
