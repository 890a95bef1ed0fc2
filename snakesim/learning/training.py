"""Slice training: train only some layer groups of a model on a node's local data.

Groups before the first trainable one run under ``torch.no_grad`` (no activations kept,
no backward through them); frozen groups after it pass gradients through but get none
themselves. The optimizer is created per job over the trainable parameters only, as a
node that receives a model starts a fresh optimizer. Each step goes through
`snakesim.learning.stepping.Stepper` (autocast, fp16 loss scaling, clipping), as split
training's do; a job whose loss or weights become inf or NaN raises `TrainingDiverged`.

A `TrainJob` is a future: its FLOPs and memory are known before it runs (from the
probed `CostModel`), so the simulator can schedule it, and the real torch work runs
the first time its result is asked for.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import torch
from torch import nn

from snakesim.errors import ConfigurationError
from snakesim.learning.costs.breakdown import MemoryBreakdown
from snakesim.learning.costs.counting import Work
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import FP32, Precision
from snakesim.learning.costs.rules import GENERIC, DeviceRules
from snakesim.learning.costs.timeline import Event
from snakesim.learning.lazy import Lazy
from snakesim.learning.models.stack import LayerStack
from snakesim.learning.objective import CLASSIFICATION, Objective
from snakesim.learning.stepping import Stepper, check_finite, hold, minibatches

if TYPE_CHECKING:
    from snakesim.learning.batching import ClientBatcher

State = dict[str, torch.Tensor]


@dataclass(frozen=True)
class TrainConfig:
    """Local optimisation settings."""

    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 0.0
    batch_size: int = 32
    epochs: int = 1
    distill_weight: float = 0.0
    distill_temperature: float = 2.0
    prox_mu: float = 0.0
    """FedProx (Li et al., MLSys 2020): adds ``prox_mu / 2 * ||w - w_start||^2`` over the
    trained parameters to the loss, ``w_start`` being their values as received."""
    objective: Objective = CLASSIFICATION
    """Classification or causal LM: the loss."""
    precision: Precision = FP32
    """Training number formats (mixed precision runs under ``torch.autocast``)."""
    grad_clip: float = 0.0
    """Clip the trained parameters' gradient norm to this (0: no clipping)."""
    loss_fp32: bool = False
    """Compute the loss on the logits upcast to fp32 (default: in the compute dtype)."""
    hold_logits: bool = False
    """Keep the logits until the optimizer step is done (default: released with the
    loss's graph)."""
    cost_only: bool = False
    """Run no real step: the job returns the trained groups unchanged (cost-only mode)."""
    logit_scale: tuple[float, ...] = ()
    """Per-class factors on the logits in the training loss (FedRS's restricted softmax,
    Li & Zhan, KDD 2021); empty: none. Evaluation sees the raw logits."""
    logit_offset: tuple[float, ...] = ()
    """Per-class offsets added to the logits in the training loss (the logit-adjusted
    loss, Menon et al., ICLR 2021); empty: none."""
    teacher_from_input: bool = False
    """The teacher has a state of its own (not the model as received), so it runs from
    the input rather than from the student's frozen prefix output."""
    distill_group: int = -1
    """Distil the output of this group (mean squared error between student and teacher
    features) instead of the logits (-1: the logits, the Hinton loss)."""


@dataclass(frozen=True)
class SliceResult:
    """What a slice training job produced: the new values of the trained groups."""

    state: State
    mean_loss: float
    steps: int


def make_optimizer(params: Sequence[nn.Parameter], cfg: TrainConfig) -> torch.optim.Optimizer:
    """The configured optimizer over ``params``.

    Raises
    ------
    ConfigurationError
        For Adam or AdamW in pure fp16 (see `check_optimizer_precision`).
    """
    check_optimizer_precision(cfg.optimizer, cfg.precision)
    if cfg.optimizer == "adam":
        return torch.optim.Adam(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    if cfg.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=cfg.lr, weight_decay=cfg.weight_decay)
    return torch.optim.SGD(params, lr=cfg.lr, momentum=cfg.momentum,
                           weight_decay=cfg.weight_decay)


def check_optimizer_precision(optimizer: str, precision: Precision) -> None:
    """Refuse Adam and AdamW in pure fp16: they cannot train there.

    Their state is then fp16 too, whose smallest value is about 6e-8: the epsilon (1e-8)
    rounds to 0, and so does the second moment after the first step (``0.001 g^2``) for
    any gradient below about 5e-3, so that step divides 0 or a small first moment by 0:
    NaN or inf weights. bf16 has fp32's range, and master weights keep the state in fp32.
    """
    if optimizer in ("adam", "adamw") and precision.dtype == "fp16" \
            and not precision.master_weights:
        raise ConfigurationError(
            f"training.optimizer: {optimizer} cannot train purely in fp16 (training.dtype "
            "fp16, training.master_weights false): its epsilon and small second moments "
            "underflow to 0 in fp16 and the first step makes the weights NaN; use dtype "
            "bf16, master_weights true or optimizer sgd")


def distillation_loss(student: torch.Tensor, teacher: torch.Tensor,
                      temperature: float) -> torch.Tensor:
    """``T^2 * KL(softmax(teacher / T) || softmax(student / T))`` (Hinton 2015).

    Averaged over predictions: samples for a classifier, token positions for a language
    model (the last axis holds the logits).
    """
    t = temperature
    vocab = student.shape[-1]
    return nn.functional.kl_div(
        nn.functional.log_softmax(student.reshape(-1, vocab).float() / t, dim=-1),
        nn.functional.log_softmax(teacher.reshape(-1, vocab).float() / t, dim=-1),
        reduction="batchmean", log_target=True) * t * t


def train_slice(model: LayerStack, state: State, trainable: Sequence[int], x: torch.Tensor,
                y: torch.Tensor, cfg: TrainConfig, generator: torch.Generator,
                teacher: LayerStack | None = None,
                teacher_state: State | None = None) -> SliceResult:
    """Load ``state`` into ``model``, train groups ``trainable`` and return them.

    Parameters
    ----------
    model
        A workspace model; its previous contents are overwritten by ``state``.
    state
        The full state dict to start from (not modified).
    trainable
        Indices of the groups to train; all others are frozen.
    x, y
        The node's local training data.
    cfg
        Optimiser settings, batch size and epochs.
    generator
        The node's generator for the order of samples.
    teacher
        A second workspace model, needed when ``cfg.distill_weight > 0``: it is loaded
        with ``state`` (the model as received) and the loss becomes
        ``CE + distill_weight * distillation_loss(student, teacher)``.
    teacher_state
        The teacher's own state (with ``cfg.teacher_from_input``; default ``state``).

    Returns
    -------
    SliceResult
        Copies of the trained groups' parameters and buffers, and the mean loss.

    Raises
    ------
    TrainingDiverged
        If the loss or the trained weights became inf or NaN
        (`snakesim.learning.stepping.check_finite`).
    """
    if not trainable:
        raise ValueError("a slice job needs at least one trainable group")
    if cfg.cost_only:
        keys = [k for i in sorted(set(trainable)) for k in model.trained_keys(i)]
        return SliceResult({k: state[k] for k in keys}, float("nan"), 0)
    hold(model, cfg.precision)
    model.load_state_dict(state)
    # The workspace is reused across jobs: drop gradients an earlier job left on groups
    # that are frozen now, so they neither linger in memory nor leak into this job.
    model.zero_grad(set_to_none=True)
    distill = cfg.distill_weight > 0
    if distill:
        if teacher is None:
            raise ValueError("distillation needs a teacher model")
        hold(teacher, cfg.precision)
        teacher.load_state_dict(state if teacher_state is None else teacher_state)
        teacher.eval()
    groups = sorted(set(trainable))
    params = model.set_trainable(groups)
    losses = _train_steps(model, teacher if distill else None, groups[0], params, x, y, cfg,
                          generator)
    mean = check_finite(losses, params, cfg, "slice training")
    keys = [k for i in groups for k in model.trained_keys(i)]
    current = model.state_dict()
    return SliceResult({k: current[k].detach().clone() for k in keys}, mean, len(losses))


def _train_steps(model: LayerStack, teacher: LayerStack | None, first: int,
                 params: Sequence[nn.Parameter], x: torch.Tensor, y: torch.Tensor,
                 cfg: TrainConfig, generator: torch.Generator) -> list[torch.Tensor]:
    """Run the job's steps; return each step's detached loss (no device sync)."""
    optimizer = make_optimizer(params, cfg)
    stepper = Stepper(cfg.precision, params[0].device.type if params else "cpu",
                      cfg.grad_clip)
    anchor = [p.detach().clone() for p in params] if cfg.prox_mu > 0 else []
    model.train()
    losses: list[torch.Tensor] = []
    held: list[torch.Tensor] = []
    for batch in minibatches(len(x), cfg.batch_size, cfg.epochs, generator):
        # Gradients are freed before the forward, not after it: the step's peak then
        # holds either the activations or the gradients of early groups, not both (the
        # memory account's timeline, `snakesim.learning.costs.timeline`).
        optimizer.zero_grad(set_to_none=True)
        held.clear()
        with stepper.autocast():
            loss = batch_loss(model, teacher, first, x[batch], y[batch], cfg,
                              held if cfg.hold_logits else None)
        if anchor:
            loss = loss + cfg.prox_mu / 2 * sum(
                (p - a).pow(2).sum() for p, a in zip(params, anchor, strict=True))
        stepper.backward(loss)
        stepper.step(optimizer, params)
        stepper.update()
        losses.append(loss.detach())
    return losses


def batch_loss(model: LayerStack, teacher: LayerStack | None, first: int, x: torch.Tensor,
               y: torch.Tensor, cfg: TrainConfig,
               held: list[torch.Tensor] | None = None) -> torch.Tensor:
    """The loss of one batch when training from group ``first`` on.

    Groups before ``first`` run without gradients. With a ``teacher``, the distillation
    term is added; the frozen groups before ``first`` are identical in student and
    teacher, so the teacher starts from the student's prefix output. The loss is in the
    compute dtype, or on fp32 logits with ``cfg.loss_fp32``; ``held`` receives the
    logits (a training loop that keeps them to the end of the step).
    """
    h = x
    if first > 0:
        with torch.no_grad():
            h = model.forward_range(h, 0, first)
    feature = cfg.distill_group
    features = model.forward_range(h, first, feature + 1) if feature >= first else None
    logits = model.forward_range(h, first, len(model)) if features is None \
        else model.forward_range(features, feature + 1, len(model))
    if held is not None:
        held.append(logits)
    loss = cfg.objective.loss(adjusted(logits.float() if cfg.loss_fp32 else logits, cfg),
                              x, y)
    if teacher is not None:
        start, t_in = (0, x) if cfg.teacher_from_input else (first, h)
        with torch.no_grad():
            target = teacher.forward_range(t_in, start, feature + 1 if features is not None
                                           else len(teacher))
        if features is not None:
            term = nn.functional.mse_loss(features.float(), target.float())
        else:
            term = distillation_loss(logits, target, cfg.distill_temperature)
        loss = loss + cfg.distill_weight * term
    return loss


def adjusted(logits: torch.Tensor, cfg: TrainConfig) -> torch.Tensor:
    """The logits the training loss sees: ``logits * logit_scale + logit_offset``.

    With FedRS's scale (0 <= alpha <= 1 on the classes a node lacks) the gradient on an
    absent class's logit is ``alpha * p_c >= 0``, so descent never raises it; with
    alpha 0 no gradient reaches it at all. The offset shifts every class's logit by a
    constant, as the logit-adjusted loss prescribes.
    """
    if cfg.logit_scale:
        logits = logits * torch.tensor(cfg.logit_scale, dtype=logits.dtype,
                                       device=logits.device)
    if cfg.logit_offset:
        logits = logits + torch.tensor(cfg.logit_offset, dtype=logits.dtype,
                                       device=logits.device)
    return logits


class TrainJob(Lazy[SliceResult]):
    """A slice-training job whose cost is known up front and whose work runs lazily.

    Attributes
    ----------
    flops, peak_memory_bytes, samples, dtype
        What the fabric needs to schedule and account the job (``dtype``: the compute
        dtype, for a roofline's peak rate).
    memory
        The peak memory by component.
    groups
        The layer groups the job trains, sorted (for the computes table).
    """

    def __init__(self, work: Callable[[], SliceResult], flops: float,
                 memory: MemoryBreakdown, samples: int,
                 on_accept: Callable[[], None] | None = None,
                 phases: Callable[[], tuple[Work, ...]] | None = None,
                 dtype: str = "fp32", groups: Sequence[int] = ()) -> None:
        super().__init__(work)
        self.groups = tuple(sorted(set(groups)))
        self.flops = flops
        self.memory = memory
        self.peak_memory_bytes = memory.total
        self.samples = samples
        self.dtype = dtype
        self._on_accept = on_accept
        self._phases = phases

    def phases(self) -> tuple[Work, ...]:
        """Forward, backward and optimizer-update work, for a roofline time model
        (`snakesim.network.roofline`); probed when first asked."""
        return self._phases() if self._phases is not None else ()

    def accepted(self) -> None:
        """The fabric accepted the job: it will run in simulated time (a batching engine
        may now do its real work together with others; see `snakesim.learning.batching`)."""
        if self._on_accept is not None:
            self._on_accept()


def slice_job(costs: CostModel, model: LayerStack, state: State, trainable: Sequence[int],
              x: torch.Tensor, y: torch.Tensor, cfg: TrainConfig,
              generator: torch.Generator, teacher: LayerStack | None = None, *,
              frozen_dtype: str = "fp32", batcher: ClientBatcher | None = None,
              rules: DeviceRules = GENERIC, teacher_state: State | None = None) -> TrainJob:
    """Build the `TrainJob` that trains ``trainable`` groups of ``state`` on ``(x, y)``.

    With distillation (``cfg.distill_weight > 0``) the teacher's forward FLOPs and its
    memory are charged to the job as well; ``frozen_dtype`` is the format the node holds
    its frozen groups in (memory only); ``rules`` are the node's device rules
    (`snakesim.learning.costs.rules`). With a ``batcher`` the real work may run
    batched with other accepted jobs (`snakesim.learning.batching`). A teacher with a
    state of its own (``cfg.teacher_from_input``, ``teacher_state``) runs its forward
    from the input and holds a full fp32 copy of the model.
    """
    distill = cfg.distill_weight > 0
    flops = costs.train_flops(trainable, len(x), cfg.batch_size, cfg.epochs)
    if distill:
        flops += costs.teacher_flops([0] if cfg.teacher_from_input else trainable, len(x),
                                     cfg.batch_size, cfg.epochs)
    memory = costs.memory(trainable, min(cfg.batch_size, len(x)), teacher=distill,
                          frozen_dtype=frozen_dtype, rules=rules)
    if distill and cfg.teacher_from_input:
        # The cost model charges the teacher's copy of the trained groups only (its
        # frozen groups are the student's); a teacher of its own holds every group.
        own = sum(costs.group_bytes(g) for g in range(costs.n_groups)
                  if g not in set(trainable))
        memory = replace(memory, teacher=memory.teacher + own,
                         timeline=tuple(Event(e.name, e.bytes + own)
                                        for e in memory.timeline))

    def phases() -> tuple[Work, ...]:
        return costs.train_phases(trainable, len(x), cfg.batch_size, cfg.epochs,
                                  teacher=distill, rules=rules)

    if cfg.prox_mu > 0:
        # FedProx keeps the received values of the trained parameters as its anchor:
        # one more parameter-sized slot, charged with the optimizer state.
        anchor = memory.gradients
        memory = replace(memory, optimizer=memory.optimizer + anchor,
                         timeline=tuple(Event(e.name, e.bytes + anchor)
                                        for e in memory.timeline))
    def alone() -> SliceResult:
        return train_slice(model, state, trainable, x, y, cfg, generator, teacher,
                           teacher_state)

    dtype = cfg.precision.dtype
    if batcher is None:
        return TrainJob(alone, flops, memory, len(x) * cfg.epochs, phases=phases,
                        dtype=dtype, groups=trainable)
    work, on_accept = batcher.work(state, trainable, x, y, cfg, generator, distill, alone,
                                   memory.total)
    return TrainJob(work, flops, memory, len(x) * cfg.epochs, on_accept, phases, dtype,
                    trainable)
