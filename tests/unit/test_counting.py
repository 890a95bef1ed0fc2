"""`OpCounter` counts FLOPs as FlopCounterMode does, and bytes moved per kernel."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from snakesim.learning.costs.counting import NO_WORK, OpCounter, Work


def _step(device: str) -> tuple[nn.Module, torch.Tensor]:
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                          nn.Flatten(), nn.Dropout(0.2), nn.Linear(4 * 8 * 8, 10))
    return model.to(device), torch.zeros(5, 1, 8, 8, device=device)


@pytest.mark.parametrize("device", ["cpu", "meta"])
def test_flops_equal_flop_counter_mode(device: str) -> None:
    model, x = _step(device)
    y = torch.zeros(5, dtype=torch.long, device=device)
    with OpCounter() as ours:
        nn.functional.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
    with FlopCounterMode(display=False) as theirs:
        nn.functional.cross_entropy(model(x), y).backward()  # type: ignore[no-untyped-call]
    assert ours.flops == theirs.get_total_flops() > 0
    assert ours.kernels > 0 and ours.bytes > 0


def test_attention_flops_equal_flop_counter_mode() -> None:
    # The kernel the probes route meta attention to (`costs.attention`).
    q = torch.zeros(2, 4, 16, 8, device="meta")
    attention = torch.ops.aten._scaled_dot_product_efficient_attention
    with OpCounter() as ours:
        attention(q, q, q, None, False)
    with FlopCounterMode(display=False) as theirs:
        attention(q, q, q, None, False)
    assert ours.flops == theirs.get_total_flops() > 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(1, 6), min_size=1, max_size=3),
       st.sampled_from([torch.float32, torch.bfloat16, torch.float64]))
def test_an_elementwise_kernel_reads_its_inputs_and_writes_its_output(
        shape: list[int], dtype: torch.dtype) -> None:
    a, b = torch.ones(shape, dtype=dtype), torch.ones(shape, dtype=dtype)
    with OpCounter() as c:
        a * b
    moved = 3 * a.numel() * a.element_size()
    assert c.work == Work(0.0, moved, 1, moved)


def test_views_move_nothing_and_a_broadcast_is_read_once() -> None:
    a, row = torch.ones(64, 32), torch.ones(32)
    with OpCounter() as views:
        a.view(-1).unsqueeze(0).t()
        a.t()[3:, :5]
    assert views.work == NO_WORK
    with OpCounter() as broadcast:
        a + row
    assert broadcast.bytes == (2 * 64 * 32 + 32) * 4
    with OpCounter() as alloc:
        torch.empty(100)
    assert alloc.bytes == 0 and alloc.kernels == 1


def test_work_adds_and_scales() -> None:
    w = Work(2.0, 10.0, 3)
    assert w + NO_WORK == w
    assert w + w == 2 * w == Work(4.0, 20.0, 6, 0.0)
