"""snakesim: distributed learning over simulated 6G networks, with real training.

A discrete-event (SimPy) simulation of a network (NetworkX graph) in which real PyTorch
training of layer slices runs inside simulated nodes, so that each run reports model
quality next to what it cost in bytes, simulated time, memory, storage and FLOPs.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
