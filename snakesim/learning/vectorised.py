"""Vectorised slice training: many independent clients' jobs as one batched job.

`train_slices` does what `snakesim.learning.training.train_slice` does for each of
several jobs that share a model architecture, trainable groups and settings (the
FedAvg/FedProx clients of a round, local-only learners), but with their parameters
stacked along a leading client axis: each optimisation step is one
``torch.func.vmap``-ed ``torch.func.functional_call`` with ``torch.func.grad`` over
every client at once, followed by one optimizer update over the stacked tensors. A
client keeps its own data order (drawn from its own generator, exactly as the
sequential job would draw it), optimizer state and number of steps: at each step
index the clients that still have a batch are grouped by that batch's size (a
client's last batch may be smaller), so a ragged mix of data sizes needs no padding
and BatchNorm sees exactly the samples it would see alone.

The optimizers are the formulas of PyTorch's own single-tensor implementations
(``torch.optim.SGD`` with momentum and weight decay, ``Adam`` with L2 weight decay,
``AdamW`` with decoupled weight decay), applied elementwise to the stacked tensors, so
per client they compute what ``torch.optim`` computes; gradient clipping takes each
client's own norm, as ``clip_grad_norm_`` does. What differs from the sequential path
is only float rounding in the batched kernels (a vmapped convolution is a grouped
one): after a round the parameters agree to about 1e-6.

`batch_obstacle` and `model_obstacle` say what this cannot reproduce (distillation's
teacher, mixed and half precision with loss scaling, cost-only mode, dropout, whose
random masks come from the global generator); those jobs run sequentially.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad_and_value, vmap

from snakesim.learning.models.stack import LayerStack
from snakesim.learning.stepping import check_finite, minibatches
from snakesim.learning.training import SliceResult, State, TrainConfig

Tensors = dict[str, torch.Tensor]
StepFn = Callable[..., tuple[Tensors, torch.Tensor]]
"""The vmapped gradient-and-loss function of one step."""


@dataclass(frozen=True)
class SliceTask:
    """One slice-training job's inputs, as `train_slice` takes them."""

    state: State
    trainable: tuple[int, ...]
    x: torch.Tensor
    y: torch.Tensor
    cfg: TrainConfig
    generator: torch.Generator


def batch_obstacle(cfg: TrainConfig, distill: bool) -> str | None:
    """Why jobs with these settings cannot be batched, in words; None if they can."""
    if cfg.cost_only:
        return "cost-only mode runs no training step"
    if distill:
        return "knowledge distillation (a teacher per job)"
    if cfg.precision.dtype != "fp32":
        return f"training.dtype {cfg.precision.dtype} (autocast and loss scaling)"
    if cfg.logit_scale or cfg.logit_offset:
        return "per-node logit scale or offset (restricted softmax, logit adjustment)"
    return None


def model_obstacle(model: LayerStack) -> str | None:
    """Why no job of ``model`` can be batched, in words; None if they can."""
    if any(isinstance(m, nn.modules.dropout._DropoutNd) and m.p > 0 for m in model.modules()):
        return "dropout (its masks come from the global random generator)"
    return None


class RandomOpsInModel(RuntimeError):
    """The model draws random numbers in training (found while batching)."""


def train_slices(model: LayerStack, tasks: Sequence[SliceTask]) -> list[SliceResult]:
    """Train every task as `train_slice` would, all at once (see the module docstring).

    Parameters
    ----------
    model
        The workspace model (its module structure is used; its values are not read and
        not changed).
    tasks
        Jobs with equal ``trainable`` and ``cfg``, inputs of one shape and dtype, and
        states with the same keys.

    Returns
    -------
    list[SliceResult]
        One per task, in order.

    Raises
    ------
    TrainingDiverged
        For the first task whose loss or trained weights became inf or NaN.
    RandomOpsInModel
        When the model draws random numbers under ``vmap``; the tasks' generators are
        then as they were, so the caller can run them sequentially instead.
    """
    saved = [t.generator.get_state() for t in tasks]  # before the orders are drawn
    batch = _Batch(model, tasks)
    try:
        with warnings.catch_warnings():
            # An op without a batching rule (CPU flash attention) runs client by client
            # inside vmap: still correct; PyTorch warns once per op, which tells a user
            # nothing they can act on.
            warnings.filterwarnings("ignore", message="There is a performance drop")
            batch.train()
    except RuntimeError as exc:
        if "random" not in str(exc):
            raise
        for task, state in zip(tasks, saved, strict=True):
            task.generator.set_state(state)
        raise RandomOpsInModel(str(exc).splitlines()[0]) from None
    return batch.results()


class _Batch:
    """The clients' stacked tensors and optimizer state while they train together."""

    def __init__(self, model: LayerStack, tasks: Sequence[SliceTask]) -> None:
        self.model, self.tasks = model, tasks
        self.cfg = cfg = tasks[0].cfg
        self.groups = sorted(set(tasks[0].trainable))
        model.set_trainable(self.groups)
        trained = [n for n, p in model.named_parameters() if p.requires_grad]
        frozen = [n for n, p in model.named_parameters() if not p.requires_grad]
        # Each client's data order, drawn from its own generator as `train_slice` does.
        self.orders = [list(minibatches(len(t.x), cfg.batch_size, cfg.epochs, t.generator))
                       for t in tasks]
        self.params = _stack(tasks, trained)
        self.stats = _stack(tasks, [n for n, _ in model.named_buffers()])
        # Frozen weights every client holds the same (one tensor) are passed once.
        self.shared = {n: tasks[0].state[n] for n in frozen
                       if all(t.state[n] is tasks[0].state[n] for t in tasks)}
        self.own = _stack(tasks, [n for n in frozen if n not in self.shared])
        self.anchor = {n: p.clone() for n, p in self.params.items()} if cfg.prox_mu else {}
        self.device = _device(self.params)
        self.optimizer = _Optimizer(cfg, self.params)
        # One vmapped step per kind of batch: all of one size, or padded with weights.
        loss = grad_and_value(_loss(model, cfg))
        self.step_fns: dict[bool, StepFn] = {
            weighted: vmap(loss, in_dims=(0, 0, 0, None, 0, 0, 0, 0 if weighted else None))
            for weighted in (False, True)}
        # Without BatchNorm a batch's samples do not meet in the forward pass, so clients
        # whose batches differ in size share a step: the short ones are padded and the
        # padding weighted 0 in the loss. BatchNorm's statistics would see the padding:
        # its clients are grouped by batch size instead.
        self.padded = not any(isinstance(m, nn.modules.batchnorm._BatchNorm)
                              for m in model.modules())
        self.losses: list[list[torch.Tensor]] = [[] for _ in tasks]

    def train(self) -> None:
        """Every client's steps, step index by step index."""
        self.model.train()
        for step in range(max((len(o) for o in self.orders), default=0)):
            for members in self._groups(step):
                loss = self._step(step, members)
                for c, value in zip(members, loss.unbind(0), strict=True):
                    self.losses[c].append(value)

    def _groups(self, step: int) -> list[list[int]]:
        """The clients that take step ``step`` together: all that have one (padded), or
        those with equal batch sizes."""
        if self.padded:
            return [[c for c, order in enumerate(self.orders) if step < len(order)]]
        sizes: dict[int, list[int]] = {}
        for c, order in enumerate(self.orders):
            if step < len(order):
                sizes.setdefault(len(order[step]), []).append(c)
        return list(sizes.values())

    def _step(self, step: int, members: list[int]) -> torch.Tensor:
        """One optimisation step of the clients ``members``; their losses."""
        index = None if len(members) == len(self.tasks) else \
            torch.tensor(members, device=self.device)

        def part(tensors: Tensors) -> Tensors:
            return tensors if index is None else {n: v[index] for n, v in tensors.items()}

        batches = [self.orders[c][step] for c in members]
        size = max(len(b) for b in batches)
        weight = None
        if any(len(b) < size for b in batches):
            # Pad with the client's own first sample (real data: no inf or NaN), weight 0.
            weight = torch.stack([(torch.arange(size) < len(b)).float() for b in batches])
            weight = weight.to(self.device)
            batches = [torch.cat([b, b[:1].expand(size - len(b))]) for b in batches]
        tasks = [self.tasks[c] for c in members]
        x = torch.stack([t.x[b] for t, b in zip(tasks, batches, strict=True)])
        y = torch.stack([t.y[b] for t, b in zip(tasks, batches, strict=True)])
        p, s = part(self.params), part(self.stats)
        grads, loss = self.step_fns[weight is not None](
            p, s, part(self.own), self.shared, part(self.anchor), x, y, weight)
        with torch.no_grad():
            if self.cfg.grad_clip > 0:
                _clip(grads, self.cfg.grad_clip)
            self.optimizer.step(p, grads, step + 1, index)
            if index is not None:  # the members' rows were copies: write them back
                for name, value in (*p.items(), *s.items()):
                    target = self.params if name in self.params else self.stats
                    target[name][index] = value
        return loss.detach()

    def results(self) -> list[SliceResult]:
        """Each client's trained groups and mean loss; `TrainingDiverged` as
        `train_slice` raises it."""
        params, losses = self.params, self.losses
        # Whether each client's weights are all finite: one reduction per stacked tensor
        # instead of one per client and tensor; a client that is not, or whose loss is
        # not, goes through `check_finite` for its message.
        finite = torch.ones(len(self.tasks), dtype=torch.bool, device=self.device)
        for p in params.values():
            finite &= torch.isfinite(p.flatten(1)).all(dim=1)
        good = finite.tolist()
        keys = [k for i in self.groups for k in self.model.trained_keys(i)]
        values = {**params, **self.stats}
        results = []
        for c, task in enumerate(self.tasks):
            mine = losses[c]
            mean = float(torch.stack([v.float() for v in mine]).sum()) / len(mine) \
                if mine else math.nan
            if mine and not (good[c] and math.isfinite(mean)):
                check_finite(mine, [p[c] for p in params.values()], self.cfg,
                             "slice training")
            results.append(SliceResult({k: values[k][c].clone() if k in values
                                        else task.state[k] for k in keys}, mean, len(mine)))
        return results


def _device(tensors: Tensors) -> torch.device:
    return next(iter(tensors.values())).device if tensors else torch.device("cpu")


def _stack(tasks: Sequence[SliceTask], names: Sequence[str]) -> Tensors:
    return {n: torch.stack([t.state[n] for t in tasks]) for n in names}


def _loss(model: LayerStack, cfg: TrainConfig) -> Callable[..., torch.Tensor]:
    """One client's loss as a function of its tensors (vmapped over clients)."""
    objective, mu = cfg.objective, cfg.prox_mu

    def loss(params: Tensors, stats: Tensors, own: Tensors, shared: Tensors,
             anchor: Tensors, x: torch.Tensor, y: torch.Tensor,
             weight: torch.Tensor | None) -> torch.Tensor:
        logits = functional_call(model, (params, stats, own, shared), (x,), strict=False)
        if weight is None:
            value = objective.loss(logits, x, y)
        else:  # padded: the mean over the real samples only
            value = (objective.sample_losses(logits, x, y) * weight).sum() / weight.sum()
        if anchor:
            value = value + mu / 2 * sum((params[n] - a).pow(2).sum()
                                         for n, a in anchor.items())
        return value

    return loss


def _clip(grads: Tensors, max_norm: float) -> None:
    """Clip each client's gradient norm to ``max_norm``, as ``clip_grad_norm_`` does."""
    norms = torch.stack([torch.linalg.vector_norm(g.flatten(1), 2, dim=1)
                         for g in grads.values()], dim=1)
    total = torch.linalg.vector_norm(norms, 2, dim=1)
    coef = torch.clamp(max_norm / (total + 1e-6), max=1.0)
    for g in grads.values():
        g.mul_(coef.view(-1, *([1] * (g.dim() - 1))))


class _Optimizer:
    """SGD, Adam or AdamW over stacked parameters, by torch's single-tensor formulas.

    Every client of one update is at the same step number (see `train_slices`), so the
    step count is one number per update.
    """

    def __init__(self, cfg: TrainConfig, params: Tensors) -> None:
        self.cfg = cfg
        self.kind = cfg.optimizer
        if self.kind == "sgd":
            self.state = {n: [torch.zeros_like(p)] for n, p in params.items()} \
                if cfg.momentum else {}
        else:
            self.state = {n: [torch.zeros_like(p), torch.zeros_like(p)]
                          for n, p in params.items()}

    def step(self, params: Tensors, grads: Tensors, count: int,
             index: torch.Tensor | None) -> None:
        """Update ``params`` in place (the rows ``index`` of the stacks; all if None)."""
        cfg = self.cfg
        lr, wd = cfg.lr, cfg.weight_decay
        for name, param in params.items():
            grad = grads[name]
            slots = [s if index is None else s[index] for s in self.state.get(name, [])]
            if self.kind == "sgd":
                if wd != 0:
                    grad = grad.add(param, alpha=wd)
                if slots:
                    buf = slots[0]
                    if count == 1:
                        buf.copy_(grad)
                    else:
                        buf.mul_(cfg.momentum).add_(grad)
                    grad = buf
                param.add_(grad, alpha=-lr)
            else:
                beta1, beta2, eps = 0.9, 0.999, 1e-8
                if self.kind == "adamw":
                    param.mul_(1 - lr * wd)
                elif wd != 0:
                    grad = grad.add(param, alpha=wd)
                avg, avg_sq = slots
                avg.lerp_(grad, 1 - beta1)
                avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                step_size = lr / (1 - beta1 ** count)
                denom = (avg_sq.sqrt() / (1 - beta2 ** count) ** 0.5).add_(eps)
                param.addcdiv_(avg, denom, value=-step_size)
            if index is not None:
                for full, part in zip(self.state.get(name, []), slots, strict=True):
                    full[index] = part
