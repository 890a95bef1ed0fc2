"""What every strategy gets (`Context`) and must provide (`Strategy`).

A strategy decides; the fabric executes. Strategies yield fabric events (transfers,
compute jobs) from a SimPy process and ask `Context` for training jobs and for
evaluations; they never touch links, queues or counters themselves.
"""

from __future__ import annotations

import copy
import math
from abc import ABC, abstractmethod
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import torch

from snakesim.learning.batching import ClientBatcher
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.rules import DeviceRules, rules_for
from snakesim.learning.evaluation import evaluate
from snakesim.learning.models.stack import LayerStack
from snakesim.learning.training import State, TrainConfig, TrainJob, slice_job
from snakesim.network.fabric import Fabric
from snakesim.records import EvalRecord
from snakesim.sim.world import World

Process = Generator[Any, Any, None]


@dataclass(frozen=True)
class Context:
    """Everything a strategy works with during one run (frozen: a strategy changes
    nothing here; per-job options go with each `job` call).

    Attributes
    ----------
    world, fabric
        The simulation state and the only network API.
    model
        The workspace model: real training and evaluation load states into it, so
        nodes keep state dicts rather than live model copies.
    initial_state
        The initial model parameters (from the run seed).
    costs
        FLOPs, memory and byte sizes of the model's slices.
    train
        Local optimisation settings.
    local_data
        Training tensors per learning node.
    test
        The global test set.
    rounds
        How many rounds (FedAvg) or route passes (Snake Learning) to run.
    data_bytes
        Bytes of each learner's training data as it holds them.
    batcher
        Runs the real work of the slice jobs (batched where it can;
        `snakesim.learning.batching`); None runs each job alone.
    """

    world: World
    fabric: Fabric
    model: LayerStack
    initial_state: State
    costs: CostModel
    train: TrainConfig
    local_data: dict[str, tuple[torch.Tensor, torch.Tensor]]
    test: tuple[torch.Tensor, torch.Tensor]
    rounds: int
    data_bytes: dict[str, int] = field(default_factory=dict)
    batcher: ClientBatcher | None = None
    # Made on first use and kept for the run: per-node data-order generators, and the
    # teacher's workspace model (key "teacher") for distillation.
    _generators: dict[str, torch.Generator] = field(default_factory=dict)
    _workspaces: dict[str, LayerStack] = field(default_factory=dict)

    @property
    def learners(self) -> list[str]:
        """The nodes that hold training data, in order."""
        return list(self.local_data)

    def samples(self, node: str) -> int:
        """Number of training samples at ``node``."""
        return len(self.local_data[node][1])

    def job(self, node: str, state: State, trainable: Sequence[int],
            distill: tuple[float, float] | None = None, *,
            frozen_dtype: str = "fp32", prox_mu: float = 0.0,
            teacher_state: State | None = None,
            changes: Mapping[str, Any] | None = None) -> TrainJob:
        """A future that trains ``trainable`` groups of ``state`` on ``node``'s data.

        ``distill`` is ``(weight, temperature)`` to add knowledge distillation from the
        model as received (``state``) as teacher, or from ``teacher_state`` when given
        (a teacher of its own, run from the input). ``frozen_dtype`` is the format the
        node holds its frozen groups in, for the memory account (``state`` already
        carries their rounded values). ``prox_mu`` adds FedProx's proximal term
        ``mu / 2 * ||w - w_received||^2`` (and its memory). ``changes`` replaces fields
        of the run's `TrainConfig` for this job only (a per-pass learning rate, local
        epochs, a logit adjustment).
        """
        if node not in self._generators:
            self._generators[node] = self.world.torch_generator(f"data-order/{node}")
        x, y = self.local_data[node]
        cfg = self.train if prox_mu == 0.0 else replace(self.train, prox_mu=prox_mu)
        if changes:
            cfg = replace(cfg, **changes)
        if teacher_state is not None and distill is not None:
            cfg = replace(cfg, teacher_from_input=True)
        teacher = None
        if distill is not None:
            cfg = replace(cfg, distill_weight=distill[0], distill_temperature=distill[1])
            if "teacher" not in self._workspaces:  # a second workspace, made once
                self._workspaces["teacher"] = copy.deepcopy(self.model)
            teacher = self._workspaces["teacher"]
        return slice_job(self.costs, self.model, state, trainable, x, y, cfg,
                         self._generators[node], teacher, frozen_dtype=frozen_dtype,
                         batcher=self.batcher, rules=self.rules(node),
                         teacher_state=teacher_state if distill is not None else None)

    def rules(self, node: str) -> DeviceRules:
        """The device rules of ``node``'s memory account (`snakesim.learning.costs.rules`)."""
        return rules_for(self.fabric.node(node).accelerator)

    def measure(self, state: State) -> tuple[float, float]:
        """``(accuracy, mean loss)`` of ``state`` on the test set (NaN in cost-only runs).

        For a causal LM both are per token: next-token accuracy and cross-entropy.
        """
        if self.train.cost_only:
            return math.nan, math.nan
        self.model.load_state_dict(state)
        objective = self.train.objective
        # An LM's logits are sequence x vocabulary per sample: evaluate in small batches.
        batch = 1024 if objective.kind == "classification" else self.train.batch_size
        return evaluate(self.model, *self.test, batch_size=batch, objective=objective)

    def evaluate(self, state: State, round: int, step: int, node: str) -> float:
        """Evaluate ``state`` on the test set now; record it; return the accuracy."""
        accuracy, loss = self.measure(state)
        self.record(round, step, node, accuracy, loss)
        return accuracy

    def record(self, round: int, step: int, node: str, accuracy: float,
               loss: float) -> None:
        """Record an evaluation made now (``node`` may name an aggregate, e.g. ``mean``)."""
        self.world.ledger.evaluation(EvalRecord(round, step, node, self.world.now, accuracy,
                                                loss))

    def groups_bytes(self, groups: Sequence[int]) -> int:
        """Bytes of the given groups' parameters and buffers."""
        return sum(self.costs.group_bytes(g) for g in set(groups))

    def update_bytes(self, groups: Sequence[int]) -> int:
        """Bytes of what training ``groups`` changes: the groups, or their LoRA adapters."""
        return self.costs.trained_bytes(groups)


class Strategy(ABC):
    """A distributed-learning scheme, run as one SimPy process over a `Context`.

    Its name in messages and result tables is its scenario section's (``strategy.name``),
    not an attribute here: the section's class is the one place that names a scheme.
    """

    @abstractmethod
    def process(self, ctx: Context) -> Process:
        """The SimPy process that runs the scheme's ``ctx.rounds`` rounds to completion."""

    def run(self, ctx: Context) -> Process:
        """The process a run starts: round 0, then `process` (if any rounds are asked).

        Round 0 is the initial model, evaluated at time 0 before anything is sent,
        stored or trained, so that every rounds table says what training added. With
        ``ctx.rounds == 0`` nothing else happens.
        """
        ctx.evaluate(ctx.initial_state, 0, 0, self.initial_holder(ctx))
        if ctx.rounds > 0:
            yield from self.process(ctx)

    def initial_holder(self, ctx: Context) -> str:
        """The ``node`` of round 0's row: where the scheme's evaluated model starts.

        ``initial`` unless a scheme names the node that holds (and evaluates) its model.
        """
        return "initial"

    def store_initial(self, ctx: Context, holders: Sequence[str]) -> list[str]:
        """Charge storage: each learner keeps its data, each holder a full model.

        Returns the nodes whose storage budget cannot hold that (an ``out_of_storage``
        effect each); strategies that check it leave them out.
        """
        model = ctx.costs.model_bytes()
        short = []
        for node in sorted({*ctx.learners, *holders}):
            if not ctx.fabric.store(node, ctx.data_bytes.get(node, 0)
                                    + (model if node in holders else 0)):
                short.append(node)
        return short
