"""The optimizer update: its memory traffic, kernels and scratch buffers.

The update reads and writes every trained parameter, its gradient and its optimizer
state, in kernels without matmul FLOPs: on a large model it is bandwidth-bound and not
free (AdamW over 8 B parameters moves hundreds of GB). `optimizer_work` measures it by
running the real ``torch.optim`` step (a second one: the first creates the state) on
copies of the trained parameters under `OpCounter`, in PyTorch's multi-tensor
(``foreach``) form or its per-tensor loop, as the device runs it
(`snakesim.learning.costs.rules`).

`scratch_bytes` gives the temporaries the step holds at its peak, read from the same
implementations (``torch/optim/adam.py``, ``sgd.py``):

- ``foreach``: Adam and AdamW hold ``sqrt(v)`` for every tensor at once (one trained-
  parameter-sized set); SGD with weight decay holds ``grad + wd * param`` for all;
- per-tensor loop: Adam and AdamW hold two temporaries of the tensor being updated
  (``v.sqrt()`` and its quotient), a third for Adam's L2 weight decay
  (``grad.add(param)``); SGD holds one with weight decay, none without.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from snakesim.learning.costs.counting import OpCounter, Work


def _optimizer(name: str, params: list[torch.Tensor], momentum: float,
               weight_decay: float, foreach: bool) -> torch.optim.Optimizer:
    if name == "adam":
        return torch.optim.Adam(params, lr=1e-3, weight_decay=weight_decay, foreach=foreach)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=1e-3, weight_decay=weight_decay,
                                 foreach=foreach)
    return torch.optim.SGD(params, lr=0.1, momentum=momentum, weight_decay=weight_decay,
                           foreach=foreach)


def optimizer_work(shapes: Sequence[tuple[torch.Size, torch.dtype]], optimizer: str,
                   momentum: float, weight_decay: float, foreach: bool,
                   device: torch.device) -> Work:
    """Work of one optimizer step over parameters of ``shapes`` (steady state).

    ``device`` is ``meta`` (shapes only) or ``cpu`` (small models: real zeros).
    """
    if not shapes:
        return Work()
    params = [torch.zeros(shape, dtype=dtype, device=device, requires_grad=True)
              for shape, dtype in shapes]
    for p in params:
        p.grad = torch.zeros_like(p)
    opt = _optimizer(optimizer, params, momentum, weight_decay, foreach)
    opt.step()  # creates the state (momentum buffers, moments)
    with OpCounter() as counter:
        opt.step()
    work: Work = counter.work
    return work


def scratch_bytes(tensor_bytes: Sequence[int], optimizer: str, weight_decay: float,
                  foreach: bool) -> int:
    """Bytes of the temporaries an optimizer step holds at its peak (module docstring)."""
    if not tensor_bytes:
        return 0
    adam = optimizer in ("adam", "adamw")
    if foreach:
        slots = 1 if adam or weight_decay > 0 else 0
        return slots * sum(tensor_bytes)
    slots = (2 + (optimizer == "adam" and weight_decay > 0)) if adam \
        else int(weight_decay > 0)
    return slots * max(tensor_bytes)


def optimizer_slots(optimizer: str, momentum: float) -> int:
    """Number of parameter-sized state tensors the optimizer keeps per parameter."""
    if optimizer in ("adam", "adamw"):
        return 2
    return 1 if momentum > 0 else 0
