"""The ``execution`` section of a scenario: where and how the real training runs.

Nothing here changes what is simulated: bytes, FLOPs, simulated times and memory
predictions are the same on every device and batching setting; accuracy and loss
agree to float rounding (see the README's "Execution" section).
"""

from __future__ import annotations

import re

from pydantic import field_validator

from snakesim.config.strategies import Frozen

DEVICE = re.compile(r"auto|cpu|cuda|cuda:[0-9]{1,3}|mps")
"""``auto`` (the first CUDA GPU if any, else the CPU), ``cpu``, ``cuda``, ``cuda:N`` or
``mps``."""


class ExecutionSpec(Frozen):
    """Where real training, evaluation and distillation run, and whether independent
    client jobs run batched."""

    device: str = "auto"
    """The PyTorch device: ``auto`` (the first CUDA GPU if PyTorch sees one, else the CPU),
    ``cpu``, ``cuda``, ``cuda:N`` or ``mps``; a device this machine lacks is an error
    naming this key when the run starts."""
    batch_clients: str | int = "auto"
    """Independent slice-training jobs of one kind (a round's FedAvg/FedProx clients,
    local-only learners) run as one vectorised job: ``off`` runs them one after another; a
    number (>= 1) caps how many run together; ``auto`` batches as many as fit, by the jobs'
    predicted peak memory, in half a GPU's free memory, and 16 on a CPU (where larger
    batches barely helped; see the README)."""

    @field_validator("device")
    @classmethod
    def _known_device(cls, value: str) -> str:
        if not DEVICE.fullmatch(value):
            raise ValueError("must be auto, cpu, cuda, cuda:N or mps")
        return value

    @field_validator("batch_clients")
    @classmethod
    def _batching(cls, value: str | int) -> str | int:
        if value in ("auto", "off") or (isinstance(value, int) and value >= 1):
            return value
        raise ValueError("must be auto, off or a number of jobs >= 1")
