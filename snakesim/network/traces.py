"""Bandwidth traces played onto link directions while a run goes on.

A `TracePlayer` sets each traced direction's rate from its trace (through the fabric's
`set_bandwidth`, which composes it with loss and outages) and schedules a wake-up at
the trace's next change only while flows are on that direction and the link is up, so
an idle (or repeating) trace never keeps a finished run going.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import simpy

from snakesim.network.links import Trace

Key = tuple[str, str]


class TracePlayer:
    """Applies traces to link directions on demand.

    Parameters
    ----------
    env
        The simulation environment.
    traces
        The trace of each traced direction.
    set_rate
        Sets a direction's raw bandwidth (``Fabric.set_bandwidth``).
    live, busy
        Whether a direction's link is up, and whether flows are on it now.
    stuck
        Called with a direction whose flows can never move on: its trace is at 0 for
        good (no later row, no repeat) while flows are on it.
    """

    def __init__(self, env: simpy.Environment, traces: dict[Key, Trace],
                 set_rate: Callable[[str, str, float], None], live: Callable[[Key], bool],
                 busy: Callable[[Key], bool],
                 stuck: Callable[[Key], None] | None = None) -> None:
        self._env, self._traces = env, traces
        self._set_rate, self._live, self._busy = set_rate, live, busy
        self._stuck = stuck
        self._applied: dict[Key, float] = {}
        self._pending: set[Key] = set()

    def __contains__(self, key: Key) -> bool:
        return key in self._traces

    def __bool__(self) -> bool:
        return bool(self._traces)

    def sync(self, key: Key) -> None:
        """Set direction ``key`` to its trace's rate now; wake at its next change while
        flows are on it and the link is up."""
        trace = self._traces[key]
        now = float(self._env.now)
        rate = trace.rate_at(now)
        if rate is not None and self._applied.get(key) != rate:
            self._applied[key] = rate
            self._set_rate(*key, rate)
        if key in self._pending or not self._live(key) or not self._busy(key):
            return
        at = trace.next_change(now)
        while at <= now:  # float rounding of a repeating trace's cycle
            at = trace.next_change(at)
        if at == math.inf and self._applied.get(key) == 0.0 and self._stuck is not None:
            self._stuck(key)
        if at < math.inf:
            self._pending.add(key)
            self._env.timeout(at - now).callbacks.append(lambda _: self._wake(key))

    def _wake(self, key: Key) -> None:
        self._pending.discard(key)
        self.sync(key)
