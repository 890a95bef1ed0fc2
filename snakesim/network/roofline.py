"""How long a compute job holds its node: ``FLOPs / FLOP/s``, or a roofline per phase.

A node with a plain ``compute`` rate runs a job of ``F`` FLOPs in ``F / rate`` seconds,
as it always has. A node that names an accelerator (`snakesim.config.accelerators`)
runs each phase of the job (forward, backward, optimizer update; a split-learning
step is one phase) for

    t = max(F / (P[dtype] x e_mm), (B - S) / (BW x e_bw)) + S / (BW x e_bw) + K x o

with, for the phase, ``F`` its FLOPs, ``B`` the bytes its kernels read and write, ``S``
the part of them moved by kernels with no counted FLOPs (elementwise, normalisation,
reductions, the optimizer update: bandwidth-bound, they run after the matmuls rather
than under them), ``K`` its kernels; and, for the chip, ``P[dtype]`` its dense peak at
the job's compute dtype, ``BW`` its memory bandwidth, ``e_mm``/``e_bw`` the documented
efficiencies and ``o`` the per-kernel overhead. The job's time is the sum over its
phases. FLOPs, bytes and kernels come from the job's probes
(`snakesim.learning.costs.counting`); a job without phases is one phase of FLOPs only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from snakesim.config.accelerators import Accelerator
from snakesim.network.nodes import NodeAttrs


class PhaseWork(Protocol):
    """What the time model reads of one phase of a job."""

    @property
    def flops(self) -> float: ...

    @property
    def bytes(self) -> float: ...

    @property
    def kernels(self) -> int: ...

    @property
    def stream_bytes(self) -> float: ...


def phase_seconds(work: PhaseWork, chip: Accelerator, dtype: str) -> float:
    """Seconds one phase takes on ``chip`` (the module docstring's formula)."""
    bandwidth = chip.bytes_per_s
    compute = work.flops / chip.flops_per_s(dtype)
    matmul = max(compute, (work.bytes - work.stream_bytes) / bandwidth)
    return matmul + work.stream_bytes / bandwidth + work.kernels * chip.kernel_overhead_s


class _Flops:
    """A phase of FLOPs only (a job that brings no phases)."""

    __slots__ = ("flops",)
    bytes = 0.0
    kernels = 0
    stream_bytes = 0.0

    def __init__(self, flops: float) -> None:
        self.flops = flops


def job_seconds(attrs: NodeAttrs, job: object, flops: float) -> float:
    """Seconds ``job`` (``flops`` FLOPs) holds node ``attrs``.

    A job may bring ``phases`` (a sequence of `PhaseWork`, or a callable returning
    one) and ``dtype`` (its compute dtype, default ``fp32``).
    """
    chip = attrs.accelerator
    if chip is None:
        return flops / attrs.compute_flops_per_s
    phases: Sequence[PhaseWork] | Callable[[], Sequence[PhaseWork]] | None = getattr(
        job, "phases", None)
    if callable(phases):
        phases = phases()
    if not phases:
        phases = (_Flops(flops),)
    dtype = str(getattr(job, "dtype", "fp32"))
    return sum(phase_seconds(p, chip, dtype) for p in phases)
