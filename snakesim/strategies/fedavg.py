"""Federated averaging through a server node.

McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-Efficient Learning of
Deep Networks from Decentralized Data", AISTATS 2017.

Every round the server sends the global model to every client over the real paths;
clients train the whole model on their local data in parallel; uploads travel back;
the round ends when the last upload has arrived. The server keeps a running weighted
average (weights = local sample counts), so it holds one model plus one accumulator
however many clients there are.
"""

from __future__ import annotations

from snakesim.config.schema import Topology
from snakesim.config.strategies import FedAvgStrategy
from snakesim.learning.aggregation import RunningAverage
from snakesim.learning.training import State
from snakesim.strategies.base import Context, Process, Strategy


class FedAvg(Strategy):
    """FedAvg with full participation.

    Parameters
    ----------
    server
        The aggregating node.
    """

    name = "fedavg"

    def __init__(self, server: str) -> None:
        self.server = server

    def process(self, ctx: Context) -> Process:
        """Run ``ctx.rounds`` synchronous rounds."""
        env = ctx.world.env
        clients = ctx.learners
        self.store_initial(ctx, clients)
        # The server keeps the global model and the running average beside it.
        ctx.fabric.store(self.server, 2 * ctx.costs.model_bytes())
        everything = list(range(ctx.costs.n_groups))
        state = ctx.initial_state
        for rnd in range(1, ctx.rounds + 1):
            average = RunningAverage()
            yield env.all_of([env.process(self._client(ctx, client, state, everything,
                                                       average, rnd))
                              for client in clients])
            state = average.result(like=state)
            ctx.evaluate(state, rnd, 0, self.server)
            ctx.world.progress(rnd, ctx.rounds, f"round {rnd}/{ctx.rounds}")

    def _client(self, ctx: Context, client: str, state: State, groups: list[int],
                average: RunningAverage, rnd: int) -> Process:
        fabric = ctx.fabric
        model = ctx.costs.model_bytes()
        yield fabric.send(self.server, client, model, kind="download", round=rnd)
        job = ctx.job(client, state, groups)
        yield fabric.compute(client, job, kind="train", round=rnd)
        yield fabric.send(client, self.server, model, kind="upload", round=rnd, payload=job)
        # The update is needed only now, on arrival: the real training runs here.
        average.add(job.result().state, ctx.samples(client))


def build(spec: FedAvgStrategy, topology: Topology) -> FedAvg:
    """The `FedAvg` strategy a scenario's ``strategy`` section describes."""
    server = spec.server or topology.server
    assert server is not None  # guaranteed by snakesim.config.checks
    return FedAvg(server)
