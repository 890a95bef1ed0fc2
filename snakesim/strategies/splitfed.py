"""SplitFed (v1): split learning by all clients in parallel, with FedAvg of both parts.

Thapa, Arachchige, Camtepe, Sun, "SplitFed: When Federated Learning Meets Split
Learning", AAAI 2022 (SFLV1).

Every round the fed server sends the global client part to every client. All clients
then do split training against the main server at once, batch by batch exactly as in
`snakesim.strategies.split` (per batch: client forward, activations and labels up,
server forward and backward, gradient down, client backward; the server runs one job at
a time, so clients queue for it). In v1 the main server keeps one server-side copy per
client, each starting from the round's global server part. When a client has finished
its ``local_epochs`` it uploads its client part to the fed server; the round ends when
the last upload has arrived; the fed server averages the client parts and the main
server the server-side copies, both weighted by sample count (FedAvg). The fed server
is the main server unless ``fed_server`` names another node; averaging the server-side
copies needs no transfer.

How server-side state is held: a client's whole chain of batches (its client part and
its own server-side copy, both from the round's global states) does not depend on any
other client, so its real torch work runs as one lazy `SplitJob` when its upload
arrives, and its two parts go straight into two running averages. The simulator thus
holds the global parts, the two averages and one client's working copy, however many
clients there are. A real v1 server holds all N server-side copies (weights and
optimizer state) during a round: that is the scheme's cost, and the server's per-batch
jobs report it in their peak memory (`SplitCosts.server_memory` with ``copies = N``).
Storage: each client keeps its data and the client part; the server keeps the global
server part and its average, and (as fed server) the global client part and its average.
"""

from __future__ import annotations

from functools import partial

import torch

from snakesim.config.schema import Topology
from snakesim.config.strategies import SplitFedStrategy
from snakesim.learning.split import PartsAverage, SplitJob, split_state, train_split
from snakesim.learning.training import State
from snakesim.strategies.base import Context, Process, Strategy
from snakesim.strategies.split import SplitPlan, data_orders, split_turn


class SplitFed(Strategy):
    """SplitFed v1 with full participation; see the module docstring.

    Parameters
    ----------
    server
        The main server (holds the server-side copies).
    cut
        Number of layer groups on the client side.
    fed_server
        The node that averages client parts; defaults to ``server``.
    """

    def __init__(self, server: str, cut: int = 1, fed_server: str | None = None) -> None:
        self.server = server
        self.cut = cut
        self.fed_server = fed_server or server

    def initial_holder(self, ctx: Context) -> str:
        """The main server."""
        return self.server

    def process(self, ctx: Context) -> Process:
        """Run ``ctx.rounds`` synchronous rounds."""
        env, clients = ctx.world.env, ctx.learners
        plan = SplitPlan(ctx, self.cut, server_copies=len(clients))
        part, rest = plan.costs.client_bytes, plan.costs.server_bytes
        if self.fed_server == self.server:
            plan.store(ctx, clients, self.server, 2 * (part + rest))
        else:
            plan.store(ctx, clients, self.server, 2 * rest)
            ctx.fabric.store(self.fed_server, 2 * part)
        orders = data_orders(ctx, clients)
        client_state, server_state = split_state(ctx.initial_state, plan.keys)
        for rnd in range(1, ctx.rounds + 1):
            average = PartsAverage()
            yield env.all_of([env.process(self._client(ctx, plan, node, client_state,
                                                       server_state, orders[node], average,
                                                       rnd))
                              for node in clients])
            client_state, server_state = average.result(like=ctx.initial_state)
            ctx.evaluate({**client_state, **server_state}, rnd, 0, self.server)
            ctx.world.progress(rnd, ctx.rounds, f"round {rnd}/{ctx.rounds}")

    def _client(self, ctx: Context, plan: SplitPlan, node: str, client_state: State,
                server_state: State, order: torch.Generator, average: PartsAverage,
                rnd: int) -> Process:
        fabric, part = ctx.fabric, plan.costs.client_bytes
        yield fabric.send(self.fed_server, node, part, kind="download", round=rnd)
        x, y = ctx.local_data[node]
        job = SplitJob(partial(train_split, ctx.model, client_state, server_state, self.cut,
                               x, y, ctx.train, order))
        yield from split_turn(ctx, plan, node, self.server, rnd)
        yield fabric.send(node, self.fed_server, part, kind="upload", round=rnd, payload=job)
        # Needed only now, on arrival: the client's whole chain of real steps runs here.
        average.add(job.result(), ctx.samples(node))


def build(spec: SplitFedStrategy, topology: Topology) -> SplitFed:
    """The `SplitFed` strategy a scenario's ``strategy`` section describes."""
    server = spec.server or topology.server
    assert server is not None  # guaranteed by snakesim.config.checks
    return SplitFed(server, spec.cut, spec.fed_server)
