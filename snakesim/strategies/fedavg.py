"""Federated averaging through a server node, with client sampling and FedProx.

McMahan, Moore, Ramage, Hampson, Agüera y Arcas, "Communication-Efficient Learning of
Deep Networks from Decentralized Data", AISTATS 2017. Li, Sahu, Zaheer, Sanjabi,
Talwalkar, Smith, "Federated Optimization in Heterogeneous Networks", MLSys 2020
(FedProx).

With ``lora`` (parameter-efficient FL), the base model is frozen on every client and
only LoRA adapters are trained, sent and averaged.

Every round the server samples ``max(1, floor(fraction x K))`` of the K clients
(without replacement, from the run's ``client-sampling`` stream; all of them when
``fraction`` is 1), sends them the global model over the real paths; they train the
whole model on their local data in parallel; uploads travel back; the round ends when
the last upload has arrived. The server keeps a running weighted average (weights =
local sample counts), so it holds one model plus one accumulator however many clients
there are. FedProx adds ``mu / 2 * ||w - w_global||^2`` to every client's local loss
(`snakesim.learning.training.TrainConfig.prox_mu`); with ``mu = 0`` it is FedAvg.
"""

from __future__ import annotations

import math

import numpy as np

from snakesim.config.schema import Topology
from snakesim.config.strategies import FedAvgStrategy, FedProxStrategy
from snakesim.errors import ConfigurationError
from snakesim.learning.aggregation import RunningAverage
from snakesim.learning.training import State
from snakesim.strategies.base import Context, Process, Strategy


def sample_clients(clients: list[str], fraction: float,
                   rng: np.random.Generator | None) -> list[str]:
    """``max(1, floor(fraction x len(clients)))`` clients, in their given order.

    ``rng`` is only drawn from when some clients are left out, so full participation
    consumes no randomness.
    """
    count = max(1, math.floor(fraction * len(clients) + 1e-9))
    if count >= len(clients) or rng is None:
        return list(clients)
    chosen = rng.choice(len(clients), size=count, replace=False)
    return [clients[i] for i in sorted(chosen)]


class FedAvg(Strategy):
    """FedAvg (or FedProx, with ``mu > 0``).

    Parameters
    ----------
    server
        The aggregating node.
    fraction
        Share of the clients that train in each round (at least one).
    mu
        FedProx's proximal weight; 0 is plain FedAvg.
    label
        The scheme's name in messages (its section's display name).
    """

    def __init__(self, server: str, fraction: float, mu: float, label: str) -> None:
        self.server = server
        self.fraction = fraction
        self.mu = mu
        self.label = label

    def process(self, ctx: Context) -> Process:
        """Run ``ctx.rounds`` synchronous rounds."""
        env = ctx.world.env
        clients = ctx.learners
        rng = ctx.world.rng("client-sampling") if self.fraction < 1 else None
        everything = list(range(ctx.costs.n_groups))
        clients = self._able(ctx, clients, everything)
        short = self.store_initial(ctx, clients)
        for client in short:  # cannot keep its data and the model: it cannot take part
            ctx.fabric.exclude(client, "nodes.storage: cannot keep its data and the model")
        clients = [c for c in clients if c not in short]
        if not clients:
            raise ConfigurationError("nodes.storage: no client can keep its data and the "
                                     f"model within its storage budget ({self.label})")
        # The server keeps the global model and the running average beside it.
        ctx.fabric.store(self.server, 2 * ctx.costs.model_bytes())
        state = ctx.initial_state
        for rnd in range(1, ctx.rounds + 1):
            average = RunningAverage()
            chosen = sample_clients(clients, self.fraction, rng)
            yield env.all_of([env.process(self._client(ctx, client, state, everything,
                                                       average, rnd))
                              for client in chosen])
            state = {**state, **average.result(like=state)}
            ctx.evaluate(state, rnd, 0, self.server)
            ctx.world.progress(rnd, ctx.rounds, f"round {rnd}/{ctx.rounds}")

    def initial_holder(self, ctx: Context) -> str:
        """The server: it holds the global model."""
        return self.server

    def _able(self, ctx: Context, clients: list[str], groups: list[int]) -> list[str]:
        """The clients whose full-model training job fits their memory budget.

        Every FedAvg client must hold and train the whole model; a client that cannot
        is excluded from every round (an ``excluded`` effect), as a real deployment
        would have to.
        """
        able = []
        for client in clients:
            if ctx.fabric.fits(client, ctx.job(client, ctx.initial_state, groups,
                                               prox_mu=self.mu)):
                able.append(client)
            else:
                ctx.fabric.exclude(client, "nodes.memory: cannot train the whole model")
        if not able:
            raise ConfigurationError("nodes.memory: no client can train the whole model "
                                     f"within its memory budget ({self.label} needs that)")
        return able

    def _client(self, ctx: Context, client: str, state: State, groups: list[int],
                average: RunningAverage, rnd: int) -> Process:
        fabric = ctx.fabric
        # With LoRA only the adapters change: clients keep the frozen base model they
        # stored at the start, and adapters are all that travels.
        model = ctx.update_bytes(groups)
        yield fabric.send(self.server, client, model, kind="download", round=rnd)
        job = ctx.job(client, state, groups, prox_mu=self.mu)
        yield fabric.compute(client, job, kind="train", round=rnd)
        yield fabric.send(client, self.server, model, kind="upload", round=rnd, payload=job)
        # The update is needed only now, on arrival: the real training runs here.
        average.add(job.result().state, ctx.samples(client))


def build(spec: FedAvgStrategy | FedProxStrategy, topology: Topology) -> FedAvg:
    """The `FedAvg` strategy a scenario's ``strategy`` section describes."""
    server = spec.server or topology.server
    assert server is not None  # guaranteed by snakesim.config.checks
    mu = spec.mu if isinstance(spec, FedProxStrategy) else 0.0
    return FedAvg(server, spec.fraction, mu, spec.display)
