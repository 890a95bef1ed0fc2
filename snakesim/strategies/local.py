"""Local-only training: the lower bound of collaboration.

Every client trains the whole model alone on its own data, from the common initial
model (drawn from the run seed on each node, so nothing is sent), one round being
``local_epochs`` epochs; nodes run independently at their own speed. After each round
every node's model is evaluated on the global test set as it finishes that round, and
the rounds table gets one row per round (node ``mean``) with the MEAN accuracy and loss
over the nodes, at the time the slowest node finished the round. Nodes hold their
current state dict only, not live models.
"""

from __future__ import annotations

from snakesim.config.schema import Topology
from snakesim.config.strategies import LocalStrategy
from snakesim.learning.training import State
from snakesim.strategies.base import Context, Process, Strategy


class Local(Strategy):
    """Every learner trains alone; no traffic."""

    def __init__(self) -> None:
        self._sums: dict[int, list[float]] = {}

    def process(self, ctx: Context) -> Process:
        """Run every learner's ``ctx.rounds`` rounds side by side."""
        env = ctx.world.env
        self.store_initial(ctx, ctx.learners)
        self._sums = {}
        yield env.all_of([env.process(self._learner(ctx, node)) for node in ctx.learners])

    def initial_holder(self, ctx: Context) -> str:
        """``mean``, as every row: every node starts from the initial model."""
        return "mean"

    def _learner(self, ctx: Context, node: str) -> Process:
        everything = list(range(ctx.costs.n_groups))
        state: State = ctx.initial_state
        for rnd in range(1, ctx.rounds + 1):
            job = ctx.job(node, state, everything)
            yield ctx.fabric.compute(node, job, kind="train", round=rnd)
            state = {**state, **job.result().state}
            self._report(ctx, state, rnd)

    def _report(self, ctx: Context, state: State, rnd: int) -> None:
        # Evaluate now (an observer) and keep only running sums, not the states.
        accuracy, loss = ctx.measure(state)
        sums = self._sums.setdefault(rnd, [0.0, 0.0, 0.0])
        sums[0] += accuracy
        sums[1] += loss
        sums[2] += 1
        n = len(ctx.learners)
        if sums[2] == n:
            del self._sums[rnd]
            ctx.record(rnd, 0, "mean", sums[0] / n, sums[1] / n)
            ctx.world.progress(rnd, ctx.rounds, f"round {rnd}/{ctx.rounds}")


def build(spec: LocalStrategy, topology: Topology) -> Local:
    """The `Local` strategy a scenario's ``strategy`` section describes."""
    return Local()
