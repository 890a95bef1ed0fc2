"""Device rules and training-loop conventions change the memory account as they should."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from snakesim.config.accelerators import ACCELERATORS
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.costs.rules import CPU, GENERIC, rules_for
from snakesim.learning.models.stack import LayerStack, digits_cnn
from snakesim.learning.training import TrainConfig, batch_loss

CUDA = rules_for(ACCELERATORS["h100"])


def _dropout_model() -> LayerStack:
    return LayerStack([nn.Sequential(nn.Flatten(), nn.Linear(64, 128), nn.ReLU()),
                       nn.Sequential(nn.Dropout(0.1), nn.Linear(128, 10))],
                      ["body", "head"])


def test_cuda_keeps_one_byte_dropout_masks() -> None:
    costs = CostModel(_dropout_model, (1, 8, 8), "sgd", 0.0)
    batch = 16
    generic = costs.memory([0, 1], batch).activations
    cuda = costs.memory([0, 1], batch, rules=CUDA).activations
    # One mask of batch x 128 elements: 4 bytes each on meta and CPU, 1 on CUDA.
    assert generic - cuda == batch * 128 * 3


def test_cuda_adds_its_cublas_workspace_and_the_cpu_a_per_tensor_optimizer() -> None:
    costs = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "adam", 0.0)
    everything = range(costs.n_groups)
    generic, cuda = costs.memory(everything, 8), costs.memory(everything, 8, rules=CUDA)
    assert cuda.workspace == 32 * 1024**2
    assert cuda.total == generic.total + cuda.workspace  # otherwise the same account
    cpu = costs.memory(everything, 8, rules=CPU)
    largest = max(p.numel() * 4 for p in costs.model.parameters())
    assert generic.step_buffers == generic.gradients  # foreach: sqrt(v) for all
    assert cpu.step_buffers == 2 * largest  # per tensor: sqrt(v) and its quotient


def test_held_logits_stay_alive_through_the_backward_and_the_step() -> None:
    costs = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "sgd", 0.9)
    held = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "sgd", 0.9, hold_logits=True)
    everything = range(costs.n_groups)
    a, b = costs.memory(everything, 8), held.memory(everything, 8)
    logits = 8 * 10 * 4
    assert b.held_logits == logits
    for x, y in zip(a.timeline, b.timeline, strict=True):
        assert y.bytes - x.bytes == (0 if x.name.startswith("forward") else logits)


def test_an_fp32_loss_in_bf16_saves_an_fp32_copy_of_the_logits() -> None:
    precision = Precision("bf16", master_weights=False)
    plain = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "sgd", 0.0,
                      precision=precision)
    upcast = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "sgd", 0.0,
                       precision=precision, loss_fp32=True)
    head = [plain.n_groups - 1]
    # log_softmax saves its output: bf16 (2 bytes) or fp32 (4 bytes) per logit.
    extra = upcast.memory(head, 8).activations - plain.memory(head, 8).activations
    assert extra == pytest.approx(8 * 10 * 2, abs=8)  # (and the scalar loss itself)
    def at_head(costs: CostModel) -> int:
        return next(e.bytes for e in costs.memory(head, 8).timeline
                    if e.name == f"backward {head[0]}")

    assert at_head(upcast) > at_head(plain)


def test_training_honours_the_loss_conventions() -> None:
    model = digits_cnn(width=4).to(torch.bfloat16)
    x, y = torch.rand(4, 1, 8, 8, dtype=torch.bfloat16), torch.randint(0, 10, (4,))
    held: list[torch.Tensor] = []
    loss = batch_loss(model, None, 0, x, y, TrainConfig(loss_fp32=True), held)
    assert loss.dtype == torch.float32 and held[0].dtype == torch.bfloat16
    assert batch_loss(model, None, 0, x, y, TrainConfig()).dtype == torch.bfloat16
    assert GENERIC.foreach and not CPU.foreach


@pytest.mark.parametrize("rules", [GENERIC, CPU, CUDA], ids=lambda r: r.name)
def test_train_phases_add_up_to_the_job_flops(rules: object) -> None:
    costs = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), "adamw", 0.0)
    forward, backward, update = costs.train_phases([2, 3, 4], 70, 32, 2, rules=rules)  # type: ignore[arg-type]
    assert forward.flops + backward.flops == pytest.approx(
        costs.train_flops([2, 3, 4], 70, 32, 2))
    # AdamW reads and writes parameters, gradients and both moments every step.
    params = sum(p.numel() * 4 for i in (2, 3, 4) for p in costs.model.owned_parameters(i))
    assert update.bytes >= 2 * 3 * 7 * params and update.flops == 0
    assert update.stream_bytes == update.bytes
