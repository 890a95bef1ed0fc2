"""Where a run's real training runs (`resolve_device`) and how its client jobs are
batched (`make_batcher`), from the scenario's ``execution`` section."""

from __future__ import annotations

from typing import Any

import torch

from snakesim.config.execution import ExecutionSpec
from snakesim.errors import ConfigurationError
from snakesim.learning.batching import ClientBatcher, counts
from snakesim.learning.models.stack import LayerStack

CPU_BATCH = 16
"""Jobs per batch under ``auto`` off CUDA. Larger batches barely help there: one-step
digits CNN jobs took 0.78 / 0.50 / 0.49 / 0.45 ms each in batches of 4 / 16 / 64 / 256,
against 1.61 ms one by one (best of 5, one thread; `benchmarks/gpu_throughput.py
--device cpu --curve`), while a batch's results wait, one model each, for their
uploads: the cap keeps memory flat in the number of clients."""

CPU_BATCHNORM = ("execution.batch_clients auto runs BatchNorm models one job at a time on "
                 "a CPU")
"""Why ``auto`` does not batch a BatchNorm model off CUDA: vectorised BatchNorm measured
0.55x the speed of one job at a time there (VGG-11 at 1/8 width, 16 clients; the digits
CNN 1.34x and a tiny OPT 2.31x faster batched; `benchmarks/gpu_throughput.py --small`)."""


def resolve_device(spec: str) -> torch.device:
    """The torch device an ``execution.device`` value names on this machine.

    Raises
    ------
    ConfigurationError
        Naming ``execution.device``, when the device is not there.
    """
    if spec == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if spec.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ConfigurationError(
                f"execution.device: {spec} asked for, but PyTorch sees no CUDA device on "
                f"this machine (torch {torch.__version__}, a CPU-only build?); use cpu or "
                "auto")
        count = torch.cuda.device_count()
        index = int(spec.partition(":")[2] or 0)
        if index >= count:
            raise ConfigurationError(f"execution.device: {spec} asked for, but this machine "
                                     f"has {count} CUDA device(s): cuda:0 .. cuda:{count - 1}")
    if spec == "mps" and not torch.backends.mps.is_available():
        raise ConfigurationError("execution.device: mps asked for, but PyTorch's Metal "
                                 "backend is not available on this machine; use cpu or auto")
    return torch.device(spec)


def make_batcher(spec: ExecutionSpec, device: torch.device, model: LayerStack) -> ClientBatcher:
    """The run's `ClientBatcher`: ``off``, a cap of N jobs, or ``auto``.

    ``auto`` batches as many jobs as fit, by their predicted peak memory, in half the
    free memory of a CUDA device, and `CPU_BATCH` jobs elsewhere, except BatchNorm
    models there (`CPU_BATCHNORM`).
    """
    choice = spec.batch_clients
    if choice == "off":
        return ClientBatcher(model, enabled=False)
    if isinstance(choice, int):
        return ClientBatcher(model, limit=choice)
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return ClientBatcher(model, budget_bytes=free // 2)
    if any(isinstance(m, torch.nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        return ClientBatcher(model, enabled=False, disabled_reason=CPU_BATCHNORM)
    return ClientBatcher(model, limit=CPU_BATCH)


def execution_summary(spec: ExecutionSpec, device: torch.device,
                      batcher: ClientBatcher | None) -> dict[str, Any]:
    """The summary's execution figures (flat, so sweep tables can hold them)."""
    done = batcher.summary() if batcher is not None else counts()
    because = "; ".join(f"{reason}: {n}" for reason, n in done["run_alone_because"].items())
    return {"device": str(device), "batch_clients": str(spec.batch_clients),
            "batched_jobs": done["batched_jobs"], "batches": done["batches"],
            "jobs_run_alone": done["jobs_run_alone"], "run_alone_because": because}
