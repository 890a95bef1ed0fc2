"""Split training: a model cut in two, a client part and a server part, trained together.

The client runs groups ``0 .. cut - 1`` on its batch and sends the activations at the
cut (and the batch's labels) to the server; the server runs groups ``cut ..``, computes
the loss, updates its part and returns the gradient of the loss with respect to the
received activations; the client backpropagates that gradient through its part and
updates it (vanilla split learning, Gupta & Raskar 2018; Vepakomma et al. 2018). Each
side has its own optimizer over its own parameters; since SGD, momentum and Adam act per
parameter, one split step equals one step of the whole model.

Training precision and clipping (`snakesim.learning.stepping.Stepper`, the same step as
slice training): under mixed precision the client forward and the server forward run
under autocast (the activations at the cut, and their gradient, are then half); pure
half precision holds both parts in the half format. With fp16 mixed precision the
server scales its loss; the gradient it returns is that of the scaled loss, and the
client unscales its own gradients with the same scale (it travels with the gradient,
and a client's overflow flag with its next activations: a few bytes, not charged), so
both parts share one loss scale and each skips a step whose gradients overflowed.
``grad_clip`` clips each side's gradient norm over that side's own parameters: that is
what two parties can do, since neither sees the other's gradients (so a split step with
clipping is not the whole model's clipped step, whose norm spans both parts).

Costs (FLOPs, bytes at the cut, memory per side) are `snakesim.learning.costs.split_costs`.

Real work runs as a `SplitJob`: a future over a whole chain of batches (one client's
turn), whose cost the simulator knows up front from
`snakesim.learning.costs.split_costs.SplitCosts`.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import torch

from snakesim.learning.aggregation import RunningAverage
from snakesim.learning.lazy import Lazy
from snakesim.learning.models.stack import LayerStack
from snakesim.learning.objective import CLASSIFICATION, Objective
from snakesim.learning.stepping import Stepper, check_finite, hold, minibatches
from snakesim.learning.training import State, TrainConfig, make_optimizer


def check_cut(cut: int, n_groups: int) -> None:
    """Raise ``ValueError`` unless ``1 <= cut < n_groups`` (both sides get a group)."""
    if not 1 <= cut < n_groups:
        raise ValueError(f"cut must be between 1 and {n_groups - 1} for a model of "
                         f"{n_groups} layer groups (got {cut})")


def client_keys(model: LayerStack, cut: int) -> list[str]:
    """State-dict keys of the client part (groups ``0 .. cut - 1``)."""
    return [k for k in model.state_dict() if model.group_of(k) < cut]


# ---------------------------------------------------------------- the real step
def client_forward(model: LayerStack, x: torch.Tensor,
                   cut: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Client forward: ``(h, sent)``, the cut output and the detached copy that travels.

    ``sent`` requires grad, so the server's backward leaves the gradient to return in
    ``sent.grad``.
    """
    h = model.forward_range(x, 0, cut)
    return h, h.detach().requires_grad_(True)


def server_step(model: LayerStack, sent: torch.Tensor, x: torch.Tensor, y: torch.Tensor,
                cut: int, objective: Objective = CLASSIFICATION,
                stepper: Stepper | None = None) -> torch.Tensor:
    """Server forward from the received activations, loss and backward; returns the loss.

    ``x`` is only read by objectives whose targets are the inputs (a causal LM's tokens
    travel to the server with the activations, as labels do for a classifier). With a
    ``stepper``, the forward runs under its autocast and the backward is of the scaled
    loss (so ``sent.grad`` is the gradient of the scaled loss).
    """
    with stepper.autocast() if stepper else nullcontext():
        loss = objective.loss(model.forward_range(sent, cut, len(model)), x, y)
    if stepper:
        stepper.backward(loss)
    else:
        loss.backward()  # type: ignore[no-untyped-call]
    return loss


def client_backward(h: torch.Tensor, grad: torch.Tensor) -> None:
    """Client backward: backpropagate the returned gradient through the client part."""
    h.backward(grad)  # type: ignore[no-untyped-call]


@dataclass(frozen=True)
class SplitResult:
    """What a chain of split steps produced."""

    client_state: State
    server_state: State
    server_optimizer: dict[str, Any] | None
    """The server optimizer's state dict (vanilla split learning keeps it across turns;
    None in cost-only runs, where no step runs)."""
    mean_loss: float
    steps: int


def train_split(model: LayerStack, client_state: State, server_state: State, cut: int,
                x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig, generator: torch.Generator,
                server_optimizer: dict[str, Any] | None = None) -> SplitResult:
    """Train both parts on ``(x, y)`` for ``cfg.epochs`` epochs, one split step per batch.

    Parameters
    ----------
    model
        The workspace model; overwritten with ``client_state`` and ``server_state``.
    client_state, server_state
        The two parts' parameters and buffers (not modified).
    cut
        Number of client-side groups.
    x, y
        The client's training data.
    cfg
        Optimizer settings, batch size, epochs, precision and gradient clipping (see
        the module docstring for how each side applies them).
    generator
        The client's generator for the order of samples.
    server_optimizer
        A server optimizer state to resume from; the client's optimizer is always fresh
        (a client that receives the client part starts a new one).

    Raises
    ------
    TrainingDiverged
        If the loss or the weights became inf or NaN.
    """
    if cfg.cost_only:
        return SplitResult(dict(client_state), dict(server_state), None, float("nan"), 0)
    hold(model, cfg.precision)
    model.load_state_dict({**client_state, **server_state})
    model.zero_grad(set_to_none=True)
    model.set_trainable(range(len(model)))
    model.train()
    n = len(model)
    cparams = [p for i in range(cut) for p in model.owned_parameters(i)]
    sparams = [p for i in range(cut, n) for p in model.owned_parameters(i)]
    copt, sopt = make_optimizer(cparams, cfg), make_optimizer(sparams, cfg)
    if server_optimizer is not None:
        sopt.load_state_dict(server_optimizer)
    losses = _split_steps(model, cut, (cparams, copt), (sparams, sopt), x, y, cfg, generator)
    mean = check_finite(losses, [*cparams, *sparams], cfg, f"split training (cut {cut})")
    current = model.state_dict()
    keys = set(client_state)
    return SplitResult(
        {k: v.detach().clone() for k, v in current.items() if k in keys},
        {k: v.detach().clone() for k, v in current.items() if k not in keys},
        _copy_optimizer_state(sopt), mean, len(losses))


Side = tuple[list[torch.nn.Parameter], torch.optim.Optimizer]


def _split_steps(model: LayerStack, cut: int, client: Side, server: Side, x: torch.Tensor,
                 y: torch.Tensor, cfg: TrainConfig, generator: torch.Generator,
                 ) -> list[torch.Tensor]:
    """Run a turn's split steps; return each step's detached loss (no device sync)."""
    (cparams, copt), (sparams, sopt) = client, server
    stepper = Stepper(cfg.precision, sparams[0].device.type, cfg.grad_clip)
    losses: list[torch.Tensor] = []
    for batch in minibatches(len(x), cfg.batch_size, cfg.epochs, generator):
        with stepper.autocast():
            h, sent = client_forward(model, x[batch], cut)
        loss = server_step(model, sent, x[batch], y[batch], cut, cfg.objective, stepper)
        stepper.step(sopt, sparams)
        sopt.zero_grad(set_to_none=True)
        assert sent.grad is not None
        # The gradient is of the scaled loss (fp16): the client's step unscales with
        # the same scale, which travels with the gradient.
        client_backward(h, sent.grad)
        stepper.step(copt, cparams)
        copt.zero_grad(set_to_none=True)
        stepper.update()
        losses.append(loss.detach())
    return losses


def _copy_optimizer_state(optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    # state_dict() shares the state tensors, which a later load would update in place.
    packed = optimizer.state_dict()
    return {"state": {i: {k: v.clone() if isinstance(v, torch.Tensor) else v
                          for k, v in s.items()} for i, s in packed["state"].items()},
            "param_groups": packed["param_groups"]}


class SplitJob(Lazy[SplitResult]):
    """A future over a chain of split steps: the work runs when the result is first asked."""


class PartsAverage:
    """SplitFed's aggregation: running weighted means of client parts and server parts."""

    def __init__(self) -> None:
        self.client = RunningAverage()
        self.server = RunningAverage()

    def add(self, result: SplitResult, weight: float) -> None:
        """Add one client's trained parts with ``weight`` (its sample count)."""
        self.client.add(result.client_state, weight)
        self.server.add(result.server_state, weight)

    def result(self, like: State) -> tuple[State, State]:
        """The averaged ``(client part, server part)``, in the dtypes of ``like``."""
        return self.client.result(like=like), self.server.result(like=like)


def split_state(state: State, keys: Sequence[str]) -> tuple[State, State]:
    """``state`` as ``(client part, server part)``, the client part having ``keys``."""
    wanted = set(keys)
    return ({k: v for k, v in state.items() if k in wanted},
            {k: v for k, v in state.items() if k not in wanted})


def batch_sizes(n_samples: int, batch_size: int, epochs: int) -> list[int]:
    """The batch sizes of ``epochs`` passes over ``n_samples`` (the last batch partial)."""
    full, rest = divmod(n_samples, batch_size)
    return ([batch_size] * full + ([rest] if rest else [])) * epochs
