"""The real allocation timeline of a CPU training step, read from PyTorch's profiler.

What the memory account is checked against (``tests/unit/test_memory_timeline.py``,
``benchmarks/gpu_step_check.py`` on a CPU); not used by simulations.

`measure_step` runs one step (forward, backward, optimizer step) under
``torch.profiler`` with ``profile_memory=True``: every CPU allocation and free is an
event, so the live bytes above the step's start, and their peak, are what the step
really allocated. Adding the tensors alive when it starts (weights, optimizer state,
the batch) gives the real peak, for the memory model's timeline to be checked against.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch.profiler import ProfilerActivity, profile, record_function

if TYPE_CHECKING:
    from snakesim.learning.models.stack import LayerStack
    from snakesim.learning.training import TrainConfig

PHASES = ("forward", "backward", "optimizer step")


@dataclass(frozen=True)
class RealTimeline:
    """Measured bytes: the peak, the phase it fell in, and the live bytes after each."""

    peak: int
    peak_phase: str
    after: dict[str, int]


def storage_bytes(tensors: Iterable[torch.Tensor]) -> int:
    """Bytes of the distinct storages of ``tensors``."""
    return sum({t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                for t in tensors}.values())


def measure_step(resident: int, forward: Callable[[], torch.Tensor],
                 step: Callable[[], None]) -> RealTimeline:
    """Profile ``loss = forward(); loss.backward(); step()``.

    ``resident`` is the bytes alive before (weights, optimizer state, batch).
    """
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        with record_function("forward"):
            loss = forward()
        with record_function("backward"):
            loss.backward()  # type: ignore[no-untyped-call]
        del loss
        with record_function("optimizer step"):
            step()
    events = prof.profiler.kineto_results.events()
    spans = {e.name(): (e.start_ns(), e.end_ns()) for e in events if e.name() in PHASES}
    memory = sorted((e.start_ns(), e.nbytes()) for e in events if e.name() == "[memory]")
    live = best = 0
    best_at = 0
    after = dict.fromkeys(PHASES, 0)
    for at, nbytes in memory:
        live += nbytes
        if live > best:
            best, best_at = live, at
        for name, (_, end) in spans.items():
            if at <= end:
                after[name] = live
    phase = next((n for n, (a, b) in spans.items() if a <= best_at <= b), "outside")
    return RealTimeline(resident + best, phase, {n: resident + v for n, v in after.items()})


def measure_training_step(model: LayerStack, trainable: Iterable[int], x: torch.Tensor,
                          y: torch.Tensor, cfg: TrainConfig) -> tuple[RealTimeline, int, int]:
    """A steady-state step of training ``trainable`` groups on one batch, measured.

    As snakesim's training runs it: groups before the first trained one without
    gradients, the loss by ``cfg.objective``, gradients freed before the forward. One
    step first creates the optimizer state. Returns the timeline, the resident bytes
    (weights, buffers, optimizer state, batch) and the trained parameters' bytes.
    """
    from snakesim.learning.training import make_optimizer

    groups = sorted(set(trainable))
    params = model.set_trainable(groups)
    opt = make_optimizer(params, cfg)
    first = groups[0]

    def forward() -> torch.Tensor:
        h = x
        if first:
            with torch.no_grad():
                h = model.forward_range(x, 0, first)
        return cfg.objective.loss(model.forward_range(h, first, len(model)), x, y)

    model.train()
    forward().backward()  # type: ignore[no-untyped-call]
    opt.step()
    opt.zero_grad(set_to_none=True)
    state = [v for s in opt.state.values() for k, v in s.items()
             if isinstance(v, torch.Tensor) and k != "step"]
    resident = storage_bytes([*model.parameters(), *model.buffers(), *state, x, y])
    grads = sum(p.numel() * p.element_size() for p in params)
    return measure_step(resident, forward, opt.step), resident, grads
