"""The memory model of causal LMs checked against the tensors a real CPU step allocates.

For tied (tiny OPT) and untied (tiny Llama) models, several slices, AdamW and SGD (with
and without momentum), fp32 and pure bf16: the predicted weight, gradient, optimizer,
batch, output-gradient and step-buffer bytes must equal what the real training step
holds, and the predicted activations (probed with the fused attention's saved set) must
be within 10% of the storages the real step saves for backward.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

import pytest
import torch

from snakesim.learning.costs.breakdown import MemoryBreakdown
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.costs.probe import saved_storages
from snakesim.learning.models.lm_models import lm_factory, load_lm_config
from snakesim.learning.models.stack import LayerStack, ModelFactory
from snakesim.learning.objective import CAUSAL_LM
from snakesim.learning.training import TrainConfig, make_optimizer

pytest.importorskip("transformers")

BATCH = 3
LENGTH = 16
VOCAB = 256
MODELS = ["tiny-opt", "tiny-llama"]
# Groups: 0 embed, 1 block0, 2 block1, 3 head.
SLICES: dict[str, tuple[int, ...]] = {
    "all": (0, 1, 2, 3), "block0": (1,), "head": (3,), "embed": (0,), "block1+head": (2, 3),
    "block0+head": (1, 3)}
OPTIMIZERS = {"adamw": ("adamw", 0.0), "sgd-momentum": ("sgd", 0.9), "sgd": ("sgd", 0.0)}
PRECISIONS = {"fp32": Precision(), "bf16-pure": Precision("bf16", master_weights=False)}


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


@cache
def _factory(preset: str) -> ModelFactory:
    return lm_factory(load_lm_config(preset=preset, overrides={"num_hidden_layers": 2}),
                      seed=0)


@cache
def _costs(preset: str, optimizer: str, momentum: float, dtype: str) -> CostModel:
    return CostModel(_factory(preset), (LENGTH,), optimizer, momentum, objective=CAUSAL_LM,
                     precision=PRECISIONS[dtype])


class RealLMStep:
    """One real CPU training step of a slice of an LM, as training runs it, measured."""

    def __init__(self, preset: str, trainable: Sequence[int], optimizer: str, momentum: float,
                 precision: Precision) -> None:
        model = _factory(preset)()
        model.to(precision.param_dtype)
        model.train()
        groups = sorted(set(trainable))
        params = model.set_trainable(groups)
        opt = make_optimizer(params, TrainConfig(optimizer=optimizer, momentum=momentum))
        g = torch.Generator().manual_seed(1)
        x = torch.randint(0, VOCAB, (BATCH, LENGTH), generator=g)
        y = torch.zeros(BATCH, dtype=torch.long)

        # Distinct storages saved for backward, excluding parameters and the batch.
        first = groups[0]
        with saved_storages((*model.parameters(), x, y)) as saved:
            with torch.no_grad():
                h = model.forward_range(x, 0, first)
            logits = model.forward_range(h, first, len(model))
            loss = CAUSAL_LM.loss(logits, x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()  # type: ignore[no-untyped-call]
        opt.step()

        self.model: LayerStack = model
        self.params = params
        self.logits_bytes = _nbytes(logits)
        self.activation_bytes = sum(saved.values())
        # Parameters and every buffer, each storage once (tied matrices, shared rotary
        # frequencies), and the persistent part (what the state dict holds).
        storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                    for t in (*model.parameters(), *model.buffers())}
        self.held_bytes = sum(storages.values())
        persistent = model.state_dict()
        self.non_persistent_bytes = sum(_nbytes(b) for k, b in model.named_buffers()
                                        if k not in persistent)
        self.grad_bytes = sum(_nbytes(p.grad) for p in model.parameters() if p.grad is not None)
        # The scalar `step` of Adam(W) is a few bytes, deliberately not modelled.
        self.optimizer_bytes = sum(_nbytes(v) for s in opt.state.values()
                                   for k, v in s.items()
                                   if isinstance(v, torch.Tensor) and k != "step")


@pytest.mark.parametrize("dtype", list(PRECISIONS))
@pytest.mark.parametrize("opt_name", list(OPTIMIZERS))
@pytest.mark.parametrize("slice_name", list(SLICES))
@pytest.mark.parametrize("preset", MODELS)
def test_lm_memory_model_matches_a_real_step(preset: str, slice_name: str, opt_name: str,
                                             dtype: str) -> None:
    """Every predicted component equals (activations: within 10% of) the real step's."""
    optimizer, momentum = OPTIMIZERS[opt_name]
    trainable = SLICES[slice_name]
    precision = PRECISIONS[dtype]
    mem = _costs(preset, optimizer, momentum, dtype).memory(trainable, BATCH)
    real = RealLMStep(preset, trainable, optimizer, momentum, precision)

    assert mem.weights == real.held_bytes
    assert mem.gradients == real.grad_bytes > 0
    assert mem.optimizer == real.optimizer_bytes
    slots = {"adamw": 2, "sgd-momentum": 1, "sgd": 0}[opt_name]
    assert mem.optimizer == slots * mem.gradients
    assert mem.batch == BATCH * (LENGTH * 8 + 8)
    assert mem.output_gradient == 2 * real.logits_bytes
    assert mem.step_buffers == (mem.gradients if optimizer == "adamw" else 0)
    # The peak is the timeline's largest event (checked against real allocations in
    # test_memory_timeline); the end of the forward holds every saved activation.
    assert mem.total == max(e.bytes for e in mem.timeline)
    assert mem.total >= mem.weights + mem.optimizer + mem.batch + mem.activations
    assert 0.9 * real.activation_bytes <= mem.activations <= 1.1 * real.activation_bytes

    # Exactly the trained groups' own parameters got gradients (a tied matrix with its
    # owner, the embeddings), at the parameter dtype.
    trained = {id(p) for p in real.params}
    for name, p in real.model.named_parameters():
        assert (p.grad is not None) == (id(p) in trained), name
        assert p.dtype == precision.param_dtype
        if p.grad is not None:
            assert p.grad.dtype == precision.param_dtype


def test_weights_count_every_buffer_held() -> None:
    """Every parameter and buffer is counted, also buffers outside the state dict."""
    real = RealLMStep("tiny-llama", (3,), "sgd", 0.0, Precision())
    assert real.non_persistent_bytes > 0  # Llama's rotary frequencies
    assert _costs("tiny-llama", "sgd", 0.0, "fp32").memory((3,), BATCH).weights \
        == real.held_bytes


def test_pure_bf16_halves_weights_gradients_and_optimizer_state() -> None:
    """Pure bf16 stores parameters, gradients and optimizer state in 2 bytes, not 4."""
    full: MemoryBreakdown = _costs("tiny-opt", "adamw", 0.0, "fp32").memory((0, 1, 2, 3), BATCH)
    half = _costs("tiny-opt", "adamw", 0.0, "bf16-pure").memory((0, 1, 2, 3), BATCH)
    assert 2 * half.weights == full.weights
    assert 2 * half.gradients == full.gradients
    assert 2 * half.optimizer == full.optimizer
    assert 2 * half.output_gradient == full.output_gradient
    assert half.batch == full.batch  # token ids stay int64
    assert half.activations < full.activations
