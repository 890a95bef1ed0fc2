"""A payload on its way through the fabric, and the interface the fabric drives its
network model through.

`Transport` is all the fabric knows of a network model: start a transfer, set a link
direction's rate, count and fail what is on it.

Under store-and-forward (`snakesim.network.hops`) the channel calls `Transfer.succeed`
when a hop's bits are out, one timeout covers the hop's latency, and the next hop starts
from that timeout's callback: per hop that is the channel's wake-up and the latency
timeout, and no generator. The flow model (`snakesim.network.flows`) keeps its own state
per flow and uses the transfer for where it is and its route.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import simpy

if TYPE_CHECKING:
    from snakesim.network.fabric import Fabric
    from snakesim.network.hops import StoreAndForward

Key = tuple[str, str]


class Transport(Protocol):
    """A network model as the fabric drives it (`snakesim.network.hops.StoreAndForward`
    and `snakesim.network.flows.FlowTransport`)."""

    on_start: Callable[[Key], None] | None
    """Called for each link direction a transfer starts on (the trace player's sync)."""

    def send(self, t: Transfer) -> None:
        """Start transfer ``t`` from its source."""

    def set_capacity(self, key: Key, bps: float) -> None:
        """Set the rate link direction ``key`` carries from now on (0: down)."""

    def capacity(self, key: Key) -> float:
        """The rate link direction ``key`` carries now (0 while it is down)."""

    def count(self, key: Key) -> int:
        """How many transfers are sending on link direction ``key``."""

    def fail(self, key: Key) -> int:
        """Fail what is sending on ``key`` (policy ``retry``); returns how many failed."""


class Transfer:
    """One payload on its way: where it is, its route and its current hop.

    It is the channel's flow (`succeed`, `fail`) and the callback of its latency
    timeouts and route waits, so a hop allocates nothing but its timeout.
    """

    hops: StoreAndForward
    """The transport driving the hops (set by it when it starts the transfer; unset
    under the flow model, which never calls the hop callbacks)."""

    __slots__ = ("done", "dst", "fabric", "here", "hops", "id", "kind", "nbytes", "nxt",
                 "payload", "pos", "round", "route", "sending", "sent", "start", "version",
                 "visited")

    def __init__(self, env: simpy.Environment, fabric: Fabric, transfer_id: int, src: str,
                 dst: str, nbytes: int, kind: str, round: int, payload: object) -> None:
        self.fabric, self.id, self.dst = fabric, transfer_id, dst
        self.nbytes, self.kind, self.round, self.payload = nbytes, kind, round, payload
        self.done = env.event()
        self.start = float(env.now)
        self.here, self.nxt = src, src
        self.visited: tuple[str, ...] = (src,)
        self.route: tuple[str, ...] | None = None
        self.version, self.pos = -1, 0
        self.sending: float = self.start
        self.sent: float = self.start

    def succeed(self) -> None:
        """The channel sent the hop's last bit."""
        self.hops.sent(self)

    def fail(self, exception: Exception) -> None:
        """The hop's link went down (retry policy): retry after the backoff."""
        self.hops.failed(self)

    def retry(self, _: simpy.Event) -> None:
        """Start the hop again, routed afresh from here."""
        self.hops.hop(self)

    def arrived(self, _: simpy.Event) -> None:
        """The hop's latency has passed: the bits are at the next node."""
        self.hops.arrived(self)


def describe_transfer(fabric: Fabric, t: Transfer) -> str:
    """Where an undelivered transfer is and why it may not move (for stall errors)."""
    what = (f"transfer {t.id} ({t.kind}, round {t.round}, {t.visited[0]} -> {t.dst}, "
            f"{t.nbytes:,} B) at {t.here}")
    if t.nxt == t.here or t.route is None:
        return f"{what}: waiting for a live route to {t.dst}"
    if not fabric.link_up(t.here, t.nxt):
        return f"{what}: link {t.here}-{t.nxt} is down"
    rate = fabric.link_rate(t.here, t.nxt)
    if rate <= 0.0:
        return f"{what}: link {t.here} -> {t.nxt} carries 0 bit/s (its bandwidth trace)"
    return f"{what}: on link {t.here} -> {t.nxt} at {rate:.3g} bit/s"
