"""The memory timeline's peak against the real allocations of a CPU training step.

Each case trains a slice for one step to create the optimizer state, then profiles a
second step (`snakesim.learning.costs.measure`: every CPU allocation and free), as
snakesim's training runs it: gradients freed before the forward, the loss in the compute dtype.
The predicted peak (`CostModel.memory(..., rules=CPU)`, the largest timeline event) must
be close to the real one, in the same phase (forward, backward or optimizer step), and
the gradients must appear when the timeline says: none after the forward, all of them
after the backward.

Tolerances: 10 % for the CNN and MLP (what stays unseen: buffers CPU convolution kernels
allocate internally, which are not tensors); 12 % for the tiny LMs, whose attention the
probe runs as CUDA's memory-efficient kernel on the meta device while the real CPU step
runs the CPU flash kernel, with smaller backward buffers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import pytest
import torch
from torch import nn

from snakesim.learning.costs.measure import RealTimeline, measure_training_step
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.costs.rules import CPU
from snakesim.learning.models.stack import LayerStack, ModelFactory, digits_cnn, init_parameters
from snakesim.learning.models.vgg import mlp
from snakesim.learning.objective import CAUSAL_LM, CLASSIFICATION, Objective
from snakesim.learning.training import TrainConfig

pytestmark = pytest.mark.slow

OPTIMIZERS = [("sgd", 0.9, 0.0), ("sgd", 0.0, 0.0), ("adam", 0.0, 0.0),
              ("adamw", 0.0, 0.01), ("sgd", 0.9, 1e-4)]


def _phase(event: str) -> str:
    return "optimizer step" if event == "optimizer step" else event.split()[0]


def _real_step(factory: ModelFactory, objective: Objective, shape: tuple[int, ...],
               trainable: tuple[int, ...], batch: int, optimizer: str, momentum: float,
               weight_decay: float, precision: Precision) -> tuple[RealTimeline, int, int]:
    model: LayerStack = factory()
    init_parameters(model, torch.Generator().manual_seed(0))
    model.to(precision.param_dtype)
    model.train()
    g = torch.Generator().manual_seed(1)
    if objective is CAUSAL_LM:
        x = torch.randint(0, 256, (batch, *shape), generator=g)
    else:
        x = torch.rand(batch, *shape, generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    cfg = TrainConfig(optimizer=optimizer, momentum=momentum, weight_decay=weight_decay,
                      objective=objective, precision=precision)
    return measure_training_step(model, trainable, x, y, cfg)


def _check(costs: CostModel, real: RealTimeline, resident: int, grads: int,
           trainable: tuple[int, ...], batch: int, tolerance: float) -> None:
    mem = costs.memory(trainable, batch, rules=CPU)
    predicted = max(mem.timeline, key=lambda e: e.bytes)
    assert mem.total == pytest.approx(real.peak, rel=tolerance), (predicted, real)
    # The phase of the peak, where the timeline tells the phases apart by more than the
    # tolerance.
    others = [e.bytes for e in mem.timeline if _phase(e.name) != _phase(predicted.name)]
    if not others or predicted.bytes > (1 + tolerance) * max(others):
        assert _phase(predicted.name) == real.peak_phase, (mem.timeline, real)
    # Gradients: none left over from the last step, all of them after the backward.
    assert mem.gradients == grads
    assert real.after["backward"] == pytest.approx(resident + grads, abs=64)


CNNS: dict[str, tuple[Callable[[], LayerStack], tuple[int, ...]]] = {
    "digits_cnn": (lambda: digits_cnn(width=4), (1, 8, 8)),
    "mlp": (lambda: mlp(10, (1, 8, 8), (64, 32)), (1, 8, 8)),
}


# On AVX-512 CPUs oneDNN runs convolutions in blocked layouts, and the reorders it
# allocates through torch (activation-sized) are not in the timeline: measured on a
# 2-core AVX-512/AMX Xeon, the CNN's real peak is 27-36 % above the prediction (the MLP
# still within 10 %). A known gap of the model, kept visible as an expected failure there
# (not strict: where the kernels differ it passes) and checked everywhere else.
_BLOCKED_CONV = "AVX512" in torch.backends.cpu.get_cpu_capability() and \
    torch.backends.mkldnn.is_available()


@pytest.mark.parametrize(("optimizer", "momentum", "weight_decay"), OPTIMIZERS)
@pytest.mark.parametrize("trainable", [(0, 1, 2, 3, 4), (1, 4), (3,), (4,)])
@pytest.mark.parametrize("batch", [3, 64])
@pytest.mark.parametrize("name", list(CNNS))
def test_classifier_timeline_peak_matches_the_real_step(
        name: str, batch: int, trainable: tuple[int, ...], optimizer: str, momentum: float,
        weight_decay: float, request: pytest.FixtureRequest) -> None:
    if name == "digits_cnn" and _BLOCKED_CONV:
        request.applymarker(pytest.mark.xfail(
            reason="oneDNN's blocked-layout conv buffers (AVX-512) are not modelled",
            strict=False))
    factory, shape = CNNS[name]
    if name == "mlp":
        trainable = tuple(i for i in trainable if i < 3) or (2,)
    real, resident, grads = _real_step(factory, CLASSIFICATION, shape, trainable, batch,
                                       optimizer, momentum, weight_decay, Precision())
    costs = CostModel(factory, shape, optimizer, momentum, weight_decay=weight_decay)
    _check(costs, real, resident, grads, trainable, batch, 0.10)


@cache
def _lm(preset: str) -> ModelFactory:
    pytest.importorskip("transformers")
    from snakesim.learning.models.lm_models import lm_factory, load_lm_config

    return lm_factory(load_lm_config(preset=preset, overrides={"num_hidden_layers": 2}),
                      seed=0)


@pytest.mark.parametrize("dtype", ["fp32", "bf16-pure"])
@pytest.mark.parametrize(("optimizer", "momentum"), [("adamw", 0.0), ("sgd", 0.9)])
@pytest.mark.parametrize("trainable", [(0, 1, 2, 3), (1,), (3,), (2, 3)])
@pytest.mark.parametrize("preset", ["tiny-opt", "tiny-llama"])
def test_lm_timeline_peak_matches_the_real_step(preset: str, trainable: tuple[int, ...],
                                                optimizer: str, momentum: float,
                                                dtype: str) -> None:
    precision = Precision() if dtype == "fp32" else Precision("bf16", master_weights=False)
    factory = _lm(preset)
    real, resident, grads = _real_step(factory, CAUSAL_LM, (16,), trainable, 3, optimizer,
                                       momentum, 0.0, precision)
    costs = CostModel(factory, (16,), optimizer, momentum, objective=CAUSAL_LM,
                      precision=precision)
    _check(costs, real, resident, grads, trainable, 3, 0.12)


def test_the_training_loop_frees_gradients_before_the_forward() -> None:
    # What the timeline assumes of snakesim's own loop (`learning.training`): a step's
    # forward never meets the previous step's gradients.
    from snakesim.learning import training

    model = digits_cnn(width=4)
    init_parameters(model, torch.Generator().manual_seed(0))
    seen: list[bool] = []
    hook = model.groups[0].register_forward_hook(
        lambda *_: seen.append(any(p.grad is not None for p in model.parameters())))
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    training.train_slice(model, model.state_dict(), range(len(model)), x, y,
                         TrainConfig(batch_size=2), torch.Generator().manual_seed(0))
    hook.remove()
    assert seen == [False] * 4
    assert isinstance(model.groups[0], nn.Module)
