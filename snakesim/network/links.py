"""Link directions as processor-sharing channels: how long bits take to cross a link.

This module owns bandwidth sharing. A `Channel` is one direction of a full-duplex link:
every flow in transit gets an equal share of its bandwidth, so ``k`` equal flows that
start together each finish after ``k`` times their time alone. Latency is not a
channel's business; the fabric adds it after the bits are out.

Implementation: the classic virtual-time form of processor sharing. All active flows
receive service at the same rate, so one number, ``service`` (bits each active flow has
received in the current busy period), describes them all; a flow of ``b`` bits arriving
at service ``s`` is done when ``service`` reaches its tag ``s + b``. Flows sit in a heap
by tag, so an arrival or a finish costs O(log n) and never touches the other flows. One
pending SimPy timeout wakes the channel at the next finish; SimPy cannot cancel a
timeout, so each carries a generation number and stale ones are ignored.
"""

from __future__ import annotations

import math
from heapq import heappop, heappush

import simpy

_REL_TOL = 1e-9
"""A flow whose remaining bits are within this fraction of its size is done."""

_ROUNDING = 1e-12
"""Slack, relative to the virtual clock, for float rounding of ``service`` itself."""


class LinkDown(Exception):
    """A flow failed because its link went down (the retry outage policy)."""

    def __init__(self, src: str, dst: str) -> None:
        super().__init__(src, dst)
        self.src, self.dst = src, dst

    def __str__(self) -> str:
        return f"link {self.src}->{self.dst} went down"


class Channel:
    """One direction of a link, sharing its bandwidth equally among active flows.

    Parameters
    ----------
    env
        The simulation environment.
    bandwidth_bps
        Capacity in bits per second; 0 pauses the channel (flows wait, none finishes).

    Attributes
    ----------
    bits_served
        Bits the channel has carried so far (capacity integrated over busy time); equals
        the total size of finished flows up to float rounding.
    """

    __slots__ = ("_bandwidth", "_env", "_generation", "_heap", "_last", "_seq", "_service",
                 "_wake_at", "bits_served")

    def __init__(self, env: simpy.Environment, bandwidth_bps: float) -> None:
        self._env = env
        self._bandwidth = _checked(bandwidth_bps)
        # (tag, seq, bits, event): seq is unique, so bits and events are never compared.
        self._heap: list[tuple[float, int, float, simpy.Event]] = []
        self._service = 0.0
        self._last = float(env.now)
        self._seq = 0
        self._generation = 0
        self._wake_at = math.inf  # when the pending (non-stale) wake-up fires; inf if none
        self.bits_served = 0.0

    @property
    def bandwidth(self) -> float:
        """Current capacity in bits per second."""
        return self._bandwidth

    @property
    def active_flows(self) -> int:
        """Number of flows in transit."""
        return len(self._heap)

    def transmit(self, nbytes: int) -> simpy.Event:
        """Start a flow of ``nbytes`` bytes.

        Parameters
        ----------
        nbytes
            Size of the flow; 0 finishes at once.

        Returns
        -------
        simpy.Event
            Succeeds (with value ``None``) when the flow's last bit has left.
        """
        if nbytes < 0:
            raise ValueError(f"nbytes must be >= 0 (got {nbytes})")
        done = self._env.event()
        if nbytes == 0:
            return done.succeed()
        self._advance()
        bits = 8.0 * nbytes
        heappush(self._heap, (self._service + bits, self._seq, bits, done))
        self._seq += 1
        self._schedule()
        return done

    def set_bandwidth(self, bandwidth_bps: float) -> None:
        """Change the capacity from now on (0 pauses; for outages and traces).

        Bits already served at the old rate stay served; the next finish is rescheduled.
        """
        self._advance()
        self._bandwidth = _checked(bandwidth_bps)
        # A faster link may finish before the pending wake-up: make that one stale.
        self._generation += 1
        self._wake_at = math.inf
        self._schedule()

    def fail_all(self, error: Exception) -> None:
        """Fail every flow in transit with ``error`` (their bits are lost)."""
        self._advance()
        heap, self._heap = self._heap, []
        self._generation += 1  # the pending wake-up has nothing left to finish
        self._wake_at = math.inf
        self._service = 0.0
        for _, _, _, done in heap:
            done.fail(error)

    def _advance(self) -> None:
        """Credit every active flow with its share of the bits sent since the last update."""
        now = float(self._env.now)
        if self._heap and self._bandwidth > 0.0:
            sent = (now - self._last) * self._bandwidth
            self._service += sent / len(self._heap)
            self.bits_served += sent
        self._last = now

    def _schedule(self) -> None:
        """Finish the flows that are due and make sure a wake-up covers the next one."""
        heap = self._heap
        now = float(self._env.now)
        while heap:
            tag, _, bits, done = heap[0]
            remaining = tag - self._service
            if remaining > _REL_TOL * bits + _ROUNDING * tag:
                if self._bandwidth <= 0.0:
                    return  # paused: set_bandwidth reschedules
                delay = remaining * len(heap) / self._bandwidth
                if now + delay > now:  # else too close to move the clock: due now
                    self._wake(now + delay, delay)
                    return
            heappop(heap)
            done.succeed()
        # Idle: restart the virtual clock so tags stay small and precise.
        self._service = 0.0

    def _wake(self, at: float, delay: float) -> None:
        # Arrivals only delay the next finish, so a pending earlier wake-up is kept: it
        # fires early and reschedules, which is cheaper than a new timeout per arrival.
        if at >= self._wake_at:
            return
        self._generation += 1
        self._wake_at = at
        self._env.timeout(delay, self._generation).callbacks.append(self._on_wake)

    def _on_wake(self, event: simpy.Event) -> None:
        if event.value != self._generation:
            return  # superseded by an earlier wake-up or a bandwidth change
        self._wake_at = math.inf
        self._advance()
        self._schedule()


def _checked(bandwidth_bps: float) -> float:
    value = float(bandwidth_bps)
    if not (math.isfinite(value) and value >= 0.0):
        raise ValueError(f"bandwidth must be a finite number >= 0 (got {bandwidth_bps})")
    return value
