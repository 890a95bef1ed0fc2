"""Centralised training: the reference curve every distributed scheme is measured against.

Every client uploads its training data once, as the real bytes of its tensors, to one
node (the server by default, or any named node, whose own data stays put); that node
then trains the whole model on the pooled data, one round being ``local_epochs`` epochs
over it, and the model is evaluated after every round. The upload is the scheme's only
traffic; the node stores all the data and one model.
"""

from __future__ import annotations

import torch

from snakesim.config.schema import Topology
from snakesim.config.strategies import CentralStrategy
from snakesim.learning.training import slice_job
from snakesim.strategies.base import Context, Process, Strategy


class Central(Strategy):
    """Pool all training data on ``node`` and train there.

    Parameters
    ----------
    node
        The node that receives the data and trains.
    """

    def __init__(self, node: str) -> None:
        self.node = node

    def initial_holder(self, ctx: Context) -> str:
        """The training node."""
        return self.node

    def process(self, ctx: Context) -> Process:
        """Upload every client's data to the node, then train ``ctx.rounds`` rounds."""
        env, fabric = ctx.world.env, ctx.fabric
        self.store_initial(ctx, [])
        senders = [n for n in ctx.learners if n != self.node]
        yield env.all_of([fabric.send(n, self.node, ctx.data_bytes.get(n, 0), kind="data",
                                      round=0) for n in senders])
        fabric.store(self.node, sum(ctx.data_bytes.values()) + ctx.costs.model_bytes())
        x = torch.cat([ctx.local_data[n][0] for n in ctx.learners])
        y = torch.cat([ctx.local_data[n][1] for n in ctx.learners])
        generator = ctx.world.torch_generator(f"data-order/{self.node}")
        everything = list(range(ctx.costs.n_groups))
        state = ctx.initial_state
        for rnd in range(1, ctx.rounds + 1):
            job = slice_job(ctx.costs, ctx.model, state, everything, x, y, ctx.train,
                            generator, rules=ctx.rules(self.node))
            yield fabric.compute(self.node, job, kind="train", round=rnd)
            state = {**state, **job.result().state}
            ctx.evaluate(state, rnd, 0, self.node)
            ctx.world.progress(rnd, ctx.rounds, f"round {rnd}/{ctx.rounds}")


def build(spec: CentralStrategy, topology: Topology) -> Central:
    """The `Central` strategy a scenario's ``strategy`` section describes."""
    node = spec.node or topology.server
    assert node is not None  # guaranteed by snakesim.config.checks
    return Central(node)
