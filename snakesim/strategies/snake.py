"""Snake Learning: one model lineage crawls along a route of nodes, layer by layer.

Yu, Yi, Li, Wang, Peng, Zhao, Zhang, "Snake Learning: A Communication- and
Computation-Efficient Distributed Learning Framework for 6G", arXiv 2405.03372 (IEEE
Communications Magazine, 2025); see ../shared/PAPER.md for the project's reading and
README.md for every option (`snakesim.config.strategies.SnakeStrategy`).

Each node of the route trains only its window of layer groups (plus the output head
by default) on its local data, all other groups frozen, then hands the model on. A
round is one pass of the route. Modes:

- ``p2p``: the first node of the route acts as controller; nodes hand off directly.
- ``cs``: a server is the controller; each node uploads its trained groups to it and
  the server forwards to the next node.

What travels (``send: changed``, the default): the initial full model once from the
controller to every node; then at each hand-off, every group the receiver holds an older
version of. Every node keeps a full copy (needed for its forward pass), so this is the
minimum that keeps the lineage consistent: the receiver must see the groups earlier
nodes changed. In CS mode the upload is exactly the node's trained groups. ``trainable``
sends only the groups the previous node trained (receivers may then compute with stale
groups, and accuracy shows it); ``whole`` sends the whole model at every transfer. Which
version each node holds, and at which precision, is `snakesim.strategies.lineage`'s job.
The options for label skew (head policy, schedules, distillation variants) set each
hop's local training (`snakesim.strategies.snake_options`); with ``distill_teacher:
pass`` the model as it was at the start of the pass travels, in full, with the
hand-off to every node of the pass but the first (which holds it already).
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import Any

import numpy as np
import simpy

from snakesim.config.schema import Topology
from snakesim.config.strategies import SnakeStrategy
from snakesim.errors import ConfigurationError
from snakesim.learning.data.heterogeneity import label_heterogeneity
from snakesim.learning.training import State
from snakesim.strategies import routes, snake_options
from snakesim.strategies.assignment import (
    contiguous_windows,
    even_counts,
    memory_windows,
    proportional_counts,
    sliding_window,
)
from snakesim.strategies.base import Context, Process, Strategy
from snakesim.strategies.lineage import Lineage


@dataclass(frozen=True)
class Hop:
    """One visit of the route: pass ``round`` (1-based), position ``step``, node, window."""

    round: int
    step: int
    node: str
    window: list[int]


@dataclass(frozen=True)
class Plan:
    """What the controller decides before training: route, windows, KD, controller."""

    route: list[str]
    controller: str
    body: list[int]
    extras: list[int]
    fixed: dict[str, list[int]]
    distill: tuple[float, float] | None
    skipped: list[str]
    counts: dict[str, np.ndarray]
    """Each route node's label counts, where the head policy needs them."""
    width: int = 0
    """Groups of the sliding window (0: fixed windows)."""


class Snake(Strategy):
    """Snake Learning in P2P or CS mode (see module docstring).

    Parameters
    ----------
    spec
        The scenario's ``strategy`` section (every option, with its default).
    server
        The controller in CS mode (``spec.server`` or the topology's server).
    """

    def __init__(self, spec: SnakeStrategy, server: str | None = None) -> None:
        self.spec = spec
        self.server = server
        self.skipped: list[str] = []
        """Route nodes that train nothing (memory-aware or explicit assignment)."""
        self.distill: tuple[float, float] | None = None
        """The distillation ``(weight, temperature)`` the last run used, or ``None``."""
        self._planned: tuple[Context, Plan] | None = None

    # ------------------------------------------------------------------ planning
    def order(self, ctx: Context) -> list[str]:
        """The route before skipping: the given nodes in the configured order."""
        nodes = list(self.spec.route or ctx.learners)
        if self.spec.order == "by_compute":
            compute = [ctx.fabric.node(n).compute_flops_per_s for n in nodes]
            return routes.by_compute(nodes, compute)
        if self.spec.order == "shortest_tour":
            return routes.shortest_tour(nodes, lambda a, b: path_latency(ctx, a, b))
        if self.spec.order == "label_diversity":
            return routes.label_diversity(nodes, snake_options.label_distributions(ctx, nodes))
        return nodes

    def decide_distill(self, ctx: Context, route: Sequence[str]) -> tuple[float, float] | None:
        """KD ``(weight, temperature)`` or ``None``; ``auto`` measures label heterogeneity."""
        on = (self.spec.distill_weight, self.spec.distill_temperature)
        if self.spec.distill != "auto":
            return on if self.spec.distill == "on" else None
        return on if self.heterogeneity(ctx, route) > self.spec.distill_threshold else None

    @staticmethod
    def heterogeneity(ctx: Context, route: Sequence[str]) -> float:
        """`label_heterogeneity` of the route nodes' local training labels."""
        labels = [ctx.local_data[n][1].cpu().numpy() for n in route]
        offsets = np.cumsum([0, *map(len, labels)])
        parts = [np.arange(offsets[i], offsets[i + 1]) for i in range(len(labels))]
        return label_heterogeneity(np.concatenate(labels), parts)

    def split(self, n_groups: int) -> tuple[list[int], list[int]]:
        """``(body, extras)``: groups shared out in windows, groups every node trains."""
        extras = sorted({*([0] if self.spec.input_trainable else []),
                         *([n_groups - 1] if self.spec.head_trainable and n_groups > 1
                           else [])})
        return [g for g in range(n_groups) if g not in extras], extras

    def assign(self, ctx: Context, route: Sequence[str], body: list[int], extras: list[int],
               distill: bool) -> list[list[int]]:
        """Each route node's fixed body window, by the configured assignment."""
        kind = self.spec.assignment.kind
        if not body:
            return [[] for _ in route]
        if kind == "even":
            return contiguous_windows(even_counts(len(route), len(body)), body)
        if kind == "explicit":
            return [self._explicit(ctx, node) for node in route]
        if kind == "memory_aware":
            return memory_windows(len(route), body, self._fits(ctx, route, extras, distill))
        compute = [ctx.fabric.node(node).compute_flops_per_s for node in route]
        return contiguous_windows(proportional_counts(compute, len(body)), body)

    def _explicit(self, ctx: Context, node: str) -> list[int]:
        groups = (self.spec.assignment.map or {}).get(node, [])
        for i, g in enumerate(groups):
            if g >= ctx.costs.n_groups:
                raise ConfigurationError(
                    f"strategy.assignment.map.{node}.{i}: the model has {ctx.costs.n_groups} "
                    f"groups, 0..{ctx.costs.n_groups - 1} (got {g})")
        return sorted(set(groups))

    def _fits(self, ctx: Context, route: Sequence[str], extras: list[int],
              distill: bool) -> Callable[[int, list[int]], bool]:
        def fits(i: int, window: list[int]) -> bool:
            node = route[i]
            batch = min(ctx.train.batch_size, ctx.samples(node))
            groups = sorted({*window, *extras})
            peak = ctx.costs.memory(groups, batch, teacher=distill,
                                    frozen_dtype=self.spec.frozen_dtype,
                                    rules=ctx.rules(node)).total
            if distill and self.spec.distill_teacher == "pass":
                # a teacher of its own holds every group (as `slice_job` charges it)
                peak += sum(ctx.costs.group_bytes(g) for g in range(ctx.costs.n_groups)
                            if g not in groups)
            return peak <= ctx.fabric.node(node).memory_bytes
        return fits

    def plan(self, ctx: Context) -> Plan:
        """Decide route, windows and KD (the controller's initialisation step)."""
        order = self.order(ctx)
        distill = self.decide_distill(ctx, order)
        body, extras = self.split(ctx.costs.n_groups)
        windows = self.assign(ctx, order, body, extras, distill is not None)
        width = self.sliding_width(len(body))
        skip = self.spec.assignment.kind in ("memory_aware", "explicit")
        route = [n for n, w in zip(order, windows, strict=True) if w or not skip or not body]
        skipped = [n for n in order if n not in route]
        if not route:
            raise ConfigurationError(f"strategy.assignment: no route node can train "
                                     f"({self.spec.assignment.kind}; skipped {', '.join(order)})")
        controller = self.server if self.spec.mode == "cs" and self.server else route[0]
        fixed = {n: sorted({*w, *self.extras(n, extras, route)})
                 for n, w in zip(order, windows, strict=True)}
        counts: dict[str, np.ndarray] = {}
        if self.spec.head.policy in ("restricted_softmax", "logit_adjusted") \
                and not ctx.train.cost_only:
            if ctx.train.objective.kind != "classification":
                raise ConfigurationError(f"strategy.head.policy: {self.spec.head.policy} "
                                         "is for classifiers (the model is a language model)")
            classes = snake_options.num_classes(ctx)
            counts = {n: snake_options.label_counts(ctx, n, classes) for n in route}
        return Plan(route, controller, body, extras, fixed, distill, skipped, counts, width)

    def run_plan(self, ctx: Context) -> Plan:
        """`plan` for this run, decided once: round 0 names its controller, `process`
        then runs it (planning probes memory and measures label mixes)."""
        if self._planned is None or self._planned[0] is not ctx:
            self._planned = (ctx, self.plan(ctx))
        return self._planned[1]

    def sliding_width(self, body: int) -> int:
        """Groups of the sliding window over a body of ``body`` groups (0: fixed windows).

        The ``noniid`` preset's width (2) is capped to a smaller body: it is a default,
        measured on a 4-group body; a width the file gives is an error there instead."""
        window = self.spec.window
        if window.kind != "sliding":
            return 0
        if self.spec.preset_window():
            return max(1, min(window.groups, body))
        if not 1 <= window.groups <= max(body, 1):
            raise ConfigurationError(f"strategy.window.width: must be at most the number of "
                                     f"body groups ({body}) (got {window.width})")
        return window.groups

    def extras(self, node: str, extras: list[int], route: Sequence[str]) -> list[int]:
        """The groups ``node`` trains besides its window: all extras, but the head only at
        the designated nodes with ``head: {policy: designated}``."""
        nodes = self.spec.head.nodes
        if nodes is None:
            return extras
        for i, name in enumerate(nodes):
            if name not in route:
                raise ConfigurationError(f"strategy.head.nodes.{i}: not a node of the route "
                                         f"({', '.join(route)}) (got {name})")
        head = max(extras, default=-1) if self.spec.head_trainable else -1
        return [g for g in extras if g != head or node in nodes]

    def window(self, plan: Plan, node: str, hop: int) -> list[int]:
        """The groups ``node`` trains at global hop ``hop`` (0-based)."""
        if plan.width and plan.body:
            return sorted({*sliding_window(hop, plan.body, plan.width),
                           *self.extras(node, plan.extras, plan.route)})
        return plan.fixed[node]

    def hops(self, ctx: Context, plan: Plan) -> Iterator[Hop]:
        """Every visit of every pass, in order (reversed on even passes if alternating)."""
        hop = 0
        for rnd in range(1, ctx.rounds + 1):
            order = plan.route
            if self.spec.direction == "alternate" and rnd % 2 == 0:
                order = order[::-1]
            for step, node in enumerate(order):
                yield Hop(rnd, step, node, self.window(plan, node, hop))
                hop += 1

    # ------------------------------------------------------------------ running
    def initial_holder(self, ctx: Context) -> str:
        """The controller (the CS server, or the first node of the route)."""
        if self.spec.mode == "cs" and self.server:
            return self.server
        return self.run_plan(ctx).route[0]

    def process(self, ctx: Context) -> Process:
        """Distribute the model once, then run passes of the route until the stop rule."""
        plan = self.run_plan(ctx)
        self.skipped, self.distill = plan.skipped, plan.distill
        if plan.skipped:
            why = ("no window fits its memory" if self.spec.assignment.kind == "memory_aware"
                   else "no groups in the map")
            for node in plan.skipped:  # recorded in the effects table, not printed
                ctx.fabric.exclude(node, f"strategy.assignment: {why}")
        keys = [ctx.model.group_keys(g) for g in range(ctx.costs.n_groups)]
        lineage = Lineage(ctx.initial_state, keys, ctx.costs, self.spec.frozen_dtype)
        lineage.create(plan.controller)
        hops = list(self.hops(ctx, plan))
        yield self._distribute(ctx, plan, lineage, hops)
        holder = plan.controller
        trained: list[int] = []
        teacher: State | None = None
        for i, hop in enumerate(hops):
            if self.spec.distill_teacher == "pass" and hop.step == 0:
                teacher = lineage.latest_state()  # the model at the start of the pass
            if holder != hop.node:
                yield self._handoff(ctx, lineage, holder, hop, trained, teacher)
            accuracy = yield from self._train(ctx, plan, lineage, hop, teacher)
            holder, trained = hop.node, hop.window
            if self.spec.mode == "cs":
                yield self._upload(ctx, lineage, hop, plan.controller)
                holder = plan.controller
            ctx.world.progress(i + 1, len(hops), f"pass {hop.round}/{ctx.rounds}")
            target = self.spec.target_accuracy
            if target is not None and accuracy >= target:
                return

    def _distribute(self, ctx: Context, plan: Plan, lineage: Lineage,
                    hops: Sequence[Hop]) -> simpy.Event:
        """Send the full model from the controller to every route node; charge storage."""
        first: dict[str, list[int]] = {}
        for hop in hops:
            first.setdefault(hop.node, hop.window)
        for node in ctx.learners:
            model = lineage.held_bytes(node, first[node]) if node in first else 0
            ctx.fabric.store(node, ctx.data_bytes.get(node, 0) + model)
        if plan.controller not in first:
            ctx.fabric.store(plan.controller, ctx.costs.model_bytes())
        sends = [ctx.fabric.send(plan.controller, node,
                                 lineage.send(plan.controller, node, range(lineage.n_groups),
                                              first[node]), kind="init", round=0)
                 for node in plan.route if node != plan.controller]
        return ctx.world.env.all_of(sends)

    def _handoff(self, ctx: Context, lineage: Lineage, holder: str, hop: Hop,
                 trained: list[int], teacher: State | None = None) -> simpy.Event:
        """Hand the model from ``holder`` to ``hop.node`` (what travels: ``spec.send``,
        and a pass teacher to every node of the pass but the first)."""
        if self.spec.send == "whole":
            groups: Sequence[int] = range(lineage.n_groups)
        elif self.spec.send == "trainable":
            groups = trained
        else:
            groups = lineage.newer(holder, hop.node)
        nbytes = lineage.send(holder, hop.node, groups, hop.window)
        if teacher is not None and hop.step > 0 and self.distill is not None:
            nbytes += ctx.costs.model_bytes()
        return ctx.fabric.send(holder, hop.node, nbytes, kind="handoff", round=hop.round)

    def _upload(self, ctx: Context, lineage: Lineage, hop: Hop, server: str) -> simpy.Event:
        """CS mode: the node sends its trained groups (or everything) to the server."""
        groups = range(lineage.n_groups) if self.spec.send == "whole" else hop.window
        nbytes = lineage.send(hop.node, server, groups, None)
        return ctx.fabric.send(hop.node, server, nbytes, kind="upload", round=hop.round)

    def _train(self, ctx: Context, plan: Plan, lineage: Lineage, hop: Hop,
               teacher: State | None = None) -> Generator[Any, Any, float]:
        """Train ``hop.window`` at ``hop.node``; evaluate the node's model; return accuracy."""
        node = hop.node
        changes, distill = snake_options.hop_settings(
            self.spec, ctx, hop.round, hop.window, plan.body, plan.distill,
            plan.counts.get(node))
        job = ctx.job(node, lineage.view(node, hop.window), hop.window, distill,
                      frozen_dtype=self.spec.frozen_dtype, changes=changes,
                      teacher_state=teacher if hop.step > 0 else None)
        yield ctx.fabric.compute(node, job, kind="train", round=hop.round)
        lineage.train(node, hop.window, job.result().state)
        ctx.fabric.store(node, ctx.data_bytes.get(node, 0) + lineage.held_bytes(node, hop.window))
        return ctx.evaluate(lineage.view(node, hop.window), hop.round, hop.step, node)


def path_latency(ctx: Context, src: str, dst: str) -> float:
    """Total link latency (s) of the fabric's path from ``src`` to ``dst``."""
    path = ctx.fabric.path(src, dst)
    return sum(float(ctx.fabric.graph.edges[u, v]["latency"]) for u, v in pairwise(path))


def build(spec: SnakeStrategy, topology: Topology) -> Snake:
    """The `Snake` strategy a scenario's ``strategy`` section describes."""
    return Snake(spec, spec.server or topology.server)
