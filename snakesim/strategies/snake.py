"""Snake Learning: one model lineage crawls along a route of nodes, layer by layer.

Yu, Yi, Li, Wang, Peng, Zhao, Zhang, "Snake Learning: A Communication- and
Computation-Efficient Distributed Learning Framework for 6G", arXiv 2405.03372 (IEEE
Communications Magazine, 2025); see ../shared/PAPER.md for the project's reading.

Each node of the route trains only its window of layer groups (plus the output head
by default) on its local data, all other groups frozen, then hands the model on. A
round is one pass of the route. Modes:

- ``p2p``: the first node of the route acts as controller; nodes hand off directly.
- ``cs``: a server is the controller; each node uploads its trained groups to it and
  the server forwards to the next node.

What travels: the initial full model once from the controller to every node; then at
each hand-off, every group the receiver holds an older version of. Every node keeps a
full copy (needed for its forward pass), so this is the minimum that keeps the lineage
consistent: the receiver must see the groups earlier nodes changed. In CS mode the
upload is exactly the node's trained groups.
"""

from __future__ import annotations

from collections.abc import Sequence

from snakesim.config.schema import Topology
from snakesim.config.strategies import SnakeStrategy
from snakesim.strategies.assignment import contiguous_windows, proportional_counts
from snakesim.strategies.base import Context, Process, Strategy


class Snake(Strategy):
    """Snake Learning in P2P or CS mode (see module docstring).

    Parameters
    ----------
    mode
        ``"p2p"`` or ``"cs"``.
    server
        The controller in CS mode.
    route
        Node order; defaults to the learners in topology order.
    head_trainable
        Train the output head at every node (the paper's default for classification).
    distill
        ``(weight, temperature)`` to add knowledge distillation at every node, with the
        model as the node received it as teacher (the paper's remedy for non-IID data:
        a node's update should not erase what earlier nodes learned); ``None`` for off.
    """

    name = "snake"

    def __init__(self, mode: str = "p2p", server: str | None = None,
                 route: Sequence[str] | None = None, head_trainable: bool = True,
                 distill: tuple[float, float] | None = None) -> None:
        self.mode = mode
        self.server = server
        self.route = list(route) if route is not None else None
        self.head_trainable = head_trainable
        self.distill = distill

    def windows(self, ctx: Context, route: Sequence[str]) -> dict[str, list[int]]:
        """Trainable groups per node: a compute-proportional window, plus the head."""
        n = ctx.costs.n_groups
        head = n - 1
        body = list(range(n - 1)) if self.head_trainable and n > 1 else list(range(n))
        compute = [ctx.fabric.node(node).compute_flops_per_s for node in route]
        windows = contiguous_windows(proportional_counts(compute, len(body)), body)
        extra = [head] if self.head_trainable and n > 1 else []
        return {node: sorted({*w, *extra}) for node, w in zip(route, windows, strict=False)}

    def process(self, ctx: Context) -> Process:
        """Distribute the model once, then run ``ctx.rounds`` passes of the route."""
        route = self.route or ctx.learners
        windows = self.windows(ctx, route)
        controller = self.server if self.mode == "cs" and self.server else route[0]
        self.store_initial(ctx, [*route, controller])
        env, fabric = ctx.world.env, ctx.fabric
        n_groups = ctx.costs.n_groups
        latest = [0] * n_groups  # version of each group in the lineage
        held = {node: [0] * n_groups for node in {*route, controller}}
        model = ctx.costs.model_bytes()
        yield env.all_of([fabric.send(controller, node, model, kind="init", round=0)
                          for node in route if node != controller])
        state = ctx.initial_state
        holder = controller
        total = ctx.rounds * len(route)
        for rnd in range(1, ctx.rounds + 1):
            for step, node in enumerate(route):
                if holder != node:
                    stale = [g for g in range(n_groups) if held[node][g] != latest[g]]
                    yield fabric.send(holder, node, ctx.groups_bytes(stale), kind="handoff",
                                      round=rnd)
                    held[node] = list(latest)
                job = ctx.job(node, state, windows[node], self.distill)
                yield fabric.compute(node, job, kind="train", round=rnd)
                state = {**state, **job.result().state}
                for g in windows[node]:
                    latest[g] += 1
                held[node] = list(latest)
                ctx.evaluate(state, rnd, step, node)
                holder = node
                if self.mode == "cs":
                    yield fabric.send(node, controller, ctx.groups_bytes(windows[node]),
                                      kind="upload", round=rnd)
                    held[controller] = list(latest)
                    holder = controller
                ctx.world.progress((rnd - 1) * len(route) + step + 1, total,
                                   f"pass {rnd}/{ctx.rounds}")


def build(spec: SnakeStrategy, topology: Topology) -> Snake:
    """The `Snake` strategy a scenario's ``strategy`` section describes."""
    distill = (spec.distill_weight, spec.distill_temperature) if spec.distill == "on" else None
    return Snake(spec.mode, spec.server or topology.server, spec.route, spec.head_trainable,
                 distill)
