"""Store-and-forward transfers: every hop receives the whole payload, then sends it on.

The fabric's ``store_and_forward`` network model (`snakesim.config.network.NetworkSpec`).
On each hop the payload's bits share the link direction's `Channel` with the other
payloads on it (processor sharing), then take the hop's latency; the next hop starts
when they have arrived and is routed then, over what is up at that moment, so a payload
re-routes at the node where it is. The flow model is `snakesim.network.flows`.

A transfer is driven by callbacks, not a process: the channel calls `Transfer.succeed`
when the hop's bits are out, one timeout covers the hop's latency, and the next hop
starts from that timeout's callback. Per hop that is the channel's wake-up and the
latency timeout, and no generator.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy

from snakesim.network.links import Channel, LinkDown
from snakesim.records import TransferRecord

if TYPE_CHECKING:
    from snakesim.network.routing import Router
    from snakesim.network.transfers import Transfer
    from snakesim.sim.ledger import Ledger

Key = tuple[str, str]


class StoreAndForward:
    """Runs the fabric's transfers hop by hop (see the module docstring).

    Parameters
    ----------
    env, router, ledger
        The run's environment, the fabric's router and the ledger.
    latency, nominal
        One-way latency and current nominal rate of every link direction (the fabric's
        live tables); each direction gets a `Channel` at its nominal rate.
    effect
        The fabric's effect recorder ``(element, effect, transfer id, node)``.
    retry_backoff
        Seconds a hop whose link failed waits before it starts again (policy ``retry``).
    """

    def __init__(self, env: simpy.Environment, router: Router, ledger: Ledger,
                 latency: dict[Key, float], nominal: dict[Key, float],
                 effect: Callable[[str, str, int, str], None], retry_backoff: float) -> None:
        self._env, self._router, self._ledger = env, router, ledger
        self._latency, self._nominal = latency, nominal
        # Made up front: made during the run they would be young objects the garbage
        # collector promotes, and each full collection scans the heap.
        self._channels = {key: Channel(env, nominal[key]) for key in latency}
        self._effect, self._backoff = effect, retry_backoff
        self.on_start: Callable[[Key], None] | None = None
        """Called for each link direction a hop starts on (the trace player's sync)."""

    def send(self, t: Transfer) -> None:
        """Start transfer ``t`` from its source."""
        t.hops = self
        self.hop(t)

    def set_capacity(self, key: Key, bps: float) -> None:
        """Set the rate link direction ``key`` carries from now on (0: down)."""
        self._channels[key].set_bandwidth(bps)

    def capacity(self, key: Key) -> float:
        """The rate link direction ``key`` carries now (0 while it is down)."""
        return self._channels[key].bandwidth

    def count(self, key: Key) -> int:
        """How many hops are sending on link direction ``key``."""
        return self._channels[key].active_flows

    def fail(self, key: Key) -> int:
        """Fail every hop sending on ``key`` (policy ``retry``); returns how many."""
        channel = self._channels[key]
        failed = channel.active_flows
        if failed:
            channel.fail_all(LinkDown(*key))
        return failed

    def hop(self, t: Transfer) -> None:
        """Start ``t``'s next hop from where it is, routed afresh if the network changed."""
        router = self._router
        here = t.here
        if t.route is None or t.version != router.version:
            # Route afresh only when the live state changed since the last routing.
            t.route, t.version, t.pos = router.route(here, t.dst), router.version, 0
            if t.route is None:  # nothing live leads there now: wait for a change
                self._effect(f"node {here}", "waited", t.id, here)
                router.change().callbacks.append(t.retry)
                return
        t.nxt = nxt = t.route[t.pos + 1]
        t.sending = self._env.now
        if t.nbytes == 0:
            t.succeed()
            return
        key = (here, nxt)
        self._channels[key].carry(t.nbytes, t)
        if self.on_start is not None:
            self.on_start(key)

    def sent(self, t: Transfer) -> None:
        """The hop's last bit has left: it arrives after the link's latency."""
        env = self._env
        t.sent = env.now
        env.timeout(self._latency[(t.here, t.nxt)]).callbacks.append(t.arrived)

    def failed(self, t: Transfer) -> None:
        """The hop's link went down (retry policy): start it again after the backoff."""
        self._env.timeout(self._backoff).callbacks.append(t.retry)

    def arrived(self, t: Transfer) -> None:
        """The hop's latency has passed: relay, or deliver at the destination."""
        here, nxt, nbytes, ledger = t.here, t.nxt, t.nbytes, self._ledger
        ledger.hop(here, nxt, nbytes, float(t.sending), float(t.sent))
        t.visited = (*t.visited, nxt)
        t.here = nxt
        t.pos += 1
        if nxt != t.dst:
            ledger.relay(nxt, nbytes)
            self.hop(t)
            return
        visited, src = t.visited, t.visited[0]
        if self._router.version and list(visited) != self._router.static_path(src, nxt):
            self._effect(f"node {src}", "rerouted", t.id, src)
        slowest = min(itertools.pairwise(visited), key=lambda key: self._nominal[key])
        ledger.transfer(TransferRecord(
            transfer_id=t.id, kind=t.kind, round=t.round, src=src, dst=nxt,
            nbytes=nbytes, hops=len(visited) - 1, path=">".join(visited), start_s=t.start,
            end_s=float(self._env.now), bottleneck=">".join(slowest)))
        t.fabric.delivered(t)
        t.done.succeed(t.payload)
