"""Compute on nodes: each node runs one job at a time, FIFO.

A job holds its node for ``FLOPs / FLOP/s``, or, on a node that names an accelerator,
for the roofline time of its phases (`snakesim.network.roofline`).

This module owns the per-node job queues. A job is driven by callbacks, not a SimPy
process: it waits in its node's queue, holds the node for one timeout (made stale when
an outage interrupts it) and then starts the next job. When a node goes down its
running job is lost and runs again from the start when the node is back (``rerun``), or
continues where it stopped (``resume``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Literal, Protocol

import simpy

from snakesim.network.nodes import NodeAttrs
from snakesim.network.roofline import job_seconds
from snakesim.network.routing import Router
from snakesim.records import ComputeRecord
from snakesim.sim.ledger import Ledger

Effect = Callable[[str, str, int, str], None]
"""Records an effect: ``(element, effect, transfer_id, node)``."""


class ComputeJob(Protocol):
    """What the fabric needs to know about a compute job (a lazy future).

    Its cost is known before it runs; the strategy asks the job for its result after
    the fabric's event fires. The fabric never runs torch.
    """

    @property
    def flops(self) -> float:
        """Floating-point operations the job performs."""
        ...

    @property
    def peak_memory_bytes(self) -> int:
        """Peak memory the job needs on its node."""
        ...

    @property
    def samples(self) -> int:
        """Training samples the job processes."""
        ...

    def accepted(self) -> None:
        """Told once the fabric has queued the job: it will run in simulated time, so
        its real work may be done from now on (batched with others' or not)."""
        ...

    # A job may also have ``groups`` (the layer groups it trains, a sequence of ints)
    # for the computes table; it is optional so that a job that trains no model need
    # not say so.


class Processors:
    """The compute queues of every node of a run.

    Parameters
    ----------
    env, ledger
        The run's environment and ledger (finished jobs become `ComputeRecord` rows).
    router
        Tells whether a node is up and when that changes.
    policy
        ``"rerun"`` or ``"resume"``: what happens to a job whose node goes down.
    effect
        Records ``job_lost`` / ``job_paused`` effects.
    """

    def __init__(self, env: simpy.Environment, ledger: Ledger, router: Router,
                 policy: Literal["rerun", "resume"], effect: Effect) -> None:
        self._env, self._ledger, self._router = env, ledger, router
        self._policy, self._effect = policy, effect
        self._queues: dict[str, deque[_Job]] = {}  # busy nodes: the running job, then waiting
        self._running: dict[str, _Job] = {}  # per node: the job holding it now

    def submit(self, attrs: NodeAttrs, job: ComputeJob, flops: float, kind: str,
               round: int) -> simpy.Event:
        """Queue ``job`` on its node; the event succeeds with ``job`` when it is done."""
        j = _Job(self, attrs, job, flops, kind, round)
        queue = self._queues.get(attrs.name)
        if queue is None:
            queue = self._queues[attrs.name] = deque()
        queue.append(j)
        if len(queue) == 1:
            self._start(j)
        return j.done

    def interrupt(self, name: str) -> None:
        """Node ``name`` went down: its running job is lost or paused, by policy."""
        j = self._running.pop(name, None)
        if j is None:
            return
        j.timer = None  # its timeout is stale now
        if self._policy == "resume":
            j.remaining -= float(self._env.now) - j.start
            self._effect(f"node {name}", "job_paused", -1, name)
        else:
            self._effect(f"node {name}", "job_lost", -1, name)
        self._start(j)

    def unfinished(self) -> list[str]:
        """Every job not finished yet, in words (running, or waiting for its node)."""
        lines = []
        for name, queue in self._queues.items():
            for j in queue:
                state = ("running" if self._running.get(name) is j else
                         "waiting: the node is down" if not self._router.node_up(name)
                         else "queued behind another job")
                lines.append(f"a {j.kind} job of round {j.round} on node {name} ({state})")
        return lines

    def _start(self, j: _Job) -> None:
        """Run ``j`` (the head of its node's queue) now, or once its node is up."""
        name = j.attrs.name
        if not self._router.node_up(name):
            self._router.change().callbacks.append(j.retry)
            return
        j.start = float(self._env.now)
        if j.first is None:
            j.first = j.start
        self._running[name] = j
        j.timer = timer = self._env.timeout(j.remaining)
        timer.callbacks.append(j.finish)

    def _finish(self, j: _Job, timer: simpy.Event) -> None:
        if j.timer is not timer:
            return  # interrupted: it runs again (or goes on) from interrupt()
        name, job = j.attrs.name, j.job
        del self._running[name]
        self._ledger.compute(ComputeRecord(
            node=name, kind=j.kind, round=j.round,
            start_s=j.first if self._policy == "resume" and j.first is not None else j.start,
            end_s=float(self._env.now), flops=j.flops,
            peak_memory_bytes=int(job.peak_memory_bytes), samples=int(job.samples),
            groups=",".join(map(str, getattr(job, "groups", ())))))
        queue = self._queues[name]
        queue.popleft()
        j.done.succeed(job)
        if queue:
            self._start(queue[0])
        else:
            del self._queues[name]  # only busy nodes keep a queue


class _Job:
    """A compute job on its node's queue: the seconds left of it, its current timeout."""

    __slots__ = ("attrs", "done", "first", "flops", "job", "kind", "owner", "remaining",
                 "round", "start", "timer")

    def __init__(self, owner: Processors, attrs: NodeAttrs, job: ComputeJob, flops: float,
                 kind: str, round: int) -> None:
        self.owner, self.attrs, self.job, self.flops = owner, attrs, job, flops
        self.kind, self.round = kind, round
        self.remaining = job_seconds(attrs, job, flops)
        self.done = owner._env.event()
        self.first: float | None = None
        self.start = 0.0
        self.timer: simpy.Event | None = None

    def retry(self, _: simpy.Event) -> None:
        """The network changed: start if the node is up."""
        self.owner._start(self)

    def finish(self, timer: simpy.Event) -> None:
        """The job's timeout fired (ignored if an outage interrupted it)."""
        self.owner._finish(self, timer)
