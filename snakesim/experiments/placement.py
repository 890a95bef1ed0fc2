"""Placing a sweep's runs on GPUs: one run per GPU, or several sharing one.

With the local pool and ``--jobs N`` on a machine with G visible CUDA GPUs, a point
whose ``execution.device`` is ``auto`` or ``cuda`` runs on the least-loaded GPU when it
starts (its device becomes ``cuda:i``; ``execution`` is not part of a run's identity,
so resuming elsewhere keeps it). When N > G, ``ceil(N / G)`` runs share a GPU and each
caps its PyTorch allocator at that share of the GPU's memory
(``torch.cuda.set_per_process_memory_fraction``), so one run cannot starve the others.
Points that name a device (``cpu``, ``cuda:1``, ``mps``) keep it. On Ray, a point that
wants a GPU asks for ``num_gpus`` (Ray then makes one GPU visible to it, as ``cuda``).
"""

from __future__ import annotations

import math
from typing import Any

import torch

from snakesim.config.loading import with_execution


def visible_gpus() -> int:
    """How many CUDA GPUs PyTorch sees in this process."""
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


def wants_gpu(scenario: dict[str, Any]) -> bool:
    """Whether a point (as plain data) leaves its GPU to the sweep: device auto or cuda."""
    execution = scenario.get("execution") or {}
    return execution.get("device", "auto") in ("auto", "cuda")


def share(workers: int, gpus: int) -> float:
    """The fraction of a GPU's memory each of ``workers`` runs on ``gpus`` GPUs may use."""
    return 1.0 / math.ceil(workers / gpus)


class GpuSlots:
    """Which GPU each running point holds: a new point takes the least-loaded one.

    Parameters
    ----------
    gpus
        GPUs to place on (at least 1).
    """

    def __init__(self, gpus: int) -> None:
        if gpus < 1:
            raise ValueError("GpuSlots needs at least one GPU")
        self._load = [0] * gpus

    def acquire(self) -> int:
        """The index of the GPU a starting run takes (the least loaded, lowest first)."""
        index = min(range(len(self._load)), key=lambda i: (self._load[i], i))
        self._load[index] += 1
        return index

    def release(self, index: int) -> None:
        """A run on GPU ``index`` ended."""
        if self._load[index] <= 0:
            raise ValueError(f"GPU {index} holds no run")
        self._load[index] -= 1

    @property
    def load(self) -> list[int]:
        """Runs on each GPU now."""
        return list(self._load)


def on_gpu(scenario: dict[str, Any], index: int) -> dict[str, Any]:
    """The point's data with ``execution.device`` set to ``cuda:index``."""
    return with_execution(scenario, {"device": f"cuda:{index}"})
