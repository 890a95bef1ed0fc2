"""Split Learning (vanilla, sequential): clients take turns training against one server.

Gupta & Raskar, "Distributed learning of deep neural network over multiple agents",
J. Netw. Comput. Appl. 2018; Vepakomma, Gupta, Swedish, Raskar, "Split learning for
health: Distributed deep learning without sharing raw patient data", arXiv 1812.00564.

The model is cut after ``cut`` layer groups: the client part stays on the clients, the
server part on the server. Clients take turns in route order (the learners in
topology order). For every batch of its turn a client runs its forward pass, sends the
activations at the cut and the labels to the server, the server runs forward, loss and
backward and sends the gradient at the cut back, and the client runs its backward pass;
each of the three compute steps is a job on its node and each transfer a real fabric
transfer, so link latency is paid twice per batch. A turn is ``local_epochs`` passes
over the client's data; a round is one turn of every client. The client part is handed
to the next client through the server (``handoff: server``: upload, then download) or
peer to peer (``handoff: p2p``); the server sends the initial client part to the first
client. The server keeps its part and its optimizer state across turns; each client
starts a fresh optimizer over the client part it receives.

The simulator schedules each batch's jobs and transfers with FLOPs and sizes probed up
front (`snakesim.learning.costs.split_costs.SplitCosts`); the real torch work of a
whole turn runs as one lazy `SplitJob` when the turn's result is first needed (for the
evaluation after the turn), so per-batch Python overhead is a handful of SimPy events.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

import torch

from snakesim.config.schema import Topology
from snakesim.config.strategies import SplitStrategy
from snakesim.errors import ConfigurationError
from snakesim.learning.costs.split_costs import SplitCosts, StepJob
from snakesim.learning.split import (
    SplitJob,
    batch_sizes,
    client_keys,
    split_state,
    train_split,
)
from snakesim.strategies.base import Context, Process, Strategy


class SplitPlan:
    """Per-batch jobs and sizes of one scheme run, built once per batch size.

    Parameters
    ----------
    ctx
        The run's context (model, data, training settings).
    cut
        Number of client-side layer groups.
    server_copies
        Server-side model copies the server holds (1; SplitFed v1: one per client).
    """

    def __init__(self, ctx: Context, cut: int, server_copies: int = 1) -> None:
        if not 1 <= cut < ctx.costs.n_groups:
            raise ConfigurationError(f"strategy.cut: must be between 1 and "
                                     f"{ctx.costs.n_groups - 1} for a model of "
                                     f"{ctx.costs.n_groups} layer groups (got {cut})")
        shape = next(iter(ctx.local_data.values()))[0].shape[1:]
        t = ctx.train
        self.costs = SplitCosts(ctx.model, shape, cut, t.optimizer, t.momentum, t.objective,
                                t.precision)
        self.cut = cut
        self._groups = ctx.costs.n_groups
        self.keys = client_keys(ctx.model, cut)
        self._copies = server_copies
        self._jobs: dict[int, tuple[StepJob, StepJob, StepJob, int, int]] = {}

    def jobs(self, batch: int) -> tuple[StepJob, StepJob, StepJob, int, int]:
        """``(client forward, server step, client backward, up bytes, down bytes)``."""
        jobs = self._jobs.get(batch)
        if jobs is None:
            s = self.costs.step(batch)
            client = self.costs.client_memory(batch).total
            server = self.costs.server_memory(batch, self._copies).total
            ours, theirs = tuple(range(self.cut)), tuple(range(self.cut, self._groups))
            jobs = self._jobs[batch] = (
                StepJob(s.client_forward_flops, client, batch, ours),
                StepJob(s.server_flops, server, 0, theirs),
                StepJob(s.client_backward_flops, client, 0, ours),
                s.upload_bytes, s.gradient_bytes)
        return jobs

    def store(self, ctx: Context, clients: Sequence[str], server: str,
              server_bytes: int) -> None:
        """Charge storage: each client keeps its data and the client part."""
        for node in clients:
            ctx.fabric.store(node, ctx.data_bytes.get(node, 0) + self.costs.client_bytes)
        ctx.fabric.store(server, server_bytes)


def data_orders(ctx: Context, nodes: Sequence[str]) -> dict[str, torch.Generator]:
    """Each node's generator for the order of its samples (stream ``data-order/<node>``)."""
    return {n: ctx.world.torch_generator(f"data-order/{n}") for n in nodes}


def split_turn(ctx: Context, plan: SplitPlan, client: str, server: str, rnd: int) -> Process:
    """The simulated batches of one client's turn: per batch 3 jobs and 2 transfers."""
    fabric = ctx.fabric
    compute, send = fabric.compute, fabric.send
    for batch in batch_sizes(ctx.samples(client), ctx.train.batch_size, ctx.train.epochs):
        forward, step, backward, up, down = plan.jobs(batch)
        yield compute(client, forward, kind="client-forward", round=rnd)
        yield send(client, server, up, kind="activations", round=rnd)
        yield compute(server, step, kind="server-step", round=rnd)
        yield send(server, client, down, kind="gradients", round=rnd)
        yield compute(client, backward, kind="client-backward", round=rnd)


class SplitLearning(Strategy):
    """Vanilla (sequential) split learning; see the module docstring.

    Parameters
    ----------
    server
        The node that holds the server part.
    cut
        Number of layer groups on the client side.
    handoff
        ``"server"`` (via the server) or ``"p2p"`` (client to client).
    """

    def __init__(self, server: str, cut: int = 1, handoff: str = "server") -> None:
        self.server = server
        self.cut = cut
        self.handoff = handoff

    def initial_holder(self, ctx: Context) -> str:
        """The server, which sends the initial client part."""
        return self.server

    def process(self, ctx: Context) -> Process:
        """Run ``ctx.rounds`` rounds of turns."""
        plan = SplitPlan(ctx, self.cut)
        route, server, fabric = ctx.learners, self.server, ctx.fabric
        plan.store(ctx, route, server, plan.costs.server_bytes)
        client_state, server_state = split_state(ctx.initial_state, plan.keys)
        optimizer: dict[str, Any] | None = None
        orders = data_orders(ctx, route)
        part = plan.costs.client_bytes
        yield fabric.send(server, route[0], part, kind="init", round=0)
        holder = route[0]
        for rnd in range(1, ctx.rounds + 1):
            for step, node in enumerate(route):
                if holder != node:
                    if self.handoff == "p2p":
                        yield fabric.send(holder, node, part, kind="handoff", round=rnd)
                    else:
                        yield fabric.send(holder, server, part, kind="handoff", round=rnd)
                        yield fabric.send(server, node, part, kind="handoff", round=rnd)
                x, y = ctx.local_data[node]
                job = SplitJob(partial(train_split, ctx.model, client_state, server_state,
                                       self.cut, x, y, ctx.train, orders[node], optimizer))
                yield from split_turn(ctx, plan, node, server, rnd)
                result = job.result()
                client_state, server_state = result.client_state, result.server_state
                optimizer = result.server_optimizer
                ctx.evaluate({**client_state, **server_state}, rnd, step, node)
                holder = node
                ctx.world.progress((rnd - 1) * len(route) + step + 1, ctx.rounds * len(route),
                                   f"round {rnd}/{ctx.rounds}")


def build(spec: SplitStrategy, topology: Topology) -> SplitLearning:
    """The `SplitLearning` strategy a scenario's ``strategy`` section describes."""
    server = spec.server or topology.server
    assert server is not None  # guaranteed by snakesim.config.checks
    return SplitLearning(server, spec.cut, spec.handoff)
