"""snakesim: distributed learning over simulated 6G networks, with real training.

A discrete-event (SimPy) simulation of a network (NetworkX graph) in which real PyTorch
training of layer slices runs inside simulated nodes, so that each run reports model
quality next to what it cost in bytes, simulated time, memory, storage and FLOPs.

The Python API (`run`, `sweep`, `load_run`, `load_sweep_summary`) is imported lazily,
so ``import snakesim`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = ["__version__", "load_run", "load_sweep_summary", "run", "sweep"]

if TYPE_CHECKING:
    from snakesim.api import load_run, load_sweep_summary, run, sweep


def __getattr__(name: str) -> Any:
    if name in {"run", "sweep", "load_run", "load_sweep_summary"}:
        from snakesim import api

        return getattr(api, name)
    raise AttributeError(f"module 'snakesim' has no attribute {name!r}")
