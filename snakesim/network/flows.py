"""Flow-level transfers: one flow per transfer along its whole route, TCP on top.

The fabric's ``flow`` network model (``network: {model: flow}``). A transfer is one flow
from source to destination: its rate is its share of every link direction on its route
(`snakesim.network.sharing`, recomputed for just the flows a change reaches), its bits
leave at that rate, and the last bit arrives one propagation delay (the sum of the hops'
latencies) later. Routers pipeline packets instead of storing whole messages; only an
application that relays (a strategy sending to a server that then sends on) stores and
forwards, because it makes two transfers.

With ``transport: tcp`` (`snakesim.network.tcp`) a new connection between two nodes first
spends one round trip on its handshake (it is full duplex: a reply uses it too); each round trip the
flow may send one congestion window (starting at the initial window, doubling each
round trip it sends a whole window) at its fair share and then waits for the window's
first ACK; once a window outlasts the round trip the flow is no longer window-limited,
except by the socket buffer (a window of ``buffer`` bytes per round trip for good). The
bits on the wire include the segments' headers. Connections keep their window between
messages and restart slow start after an idle period longer than their RTO. With
``transport: fluid`` none of this applies: a transfer takes latency + bits / share.

Outages reach flows as capacities: a link that goes down gives its flows rate 0 (policy
``pause``: they resume when it returns) or fails them (``retry``: the transfer starts
again from its source after the backoff, over the best live route then).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import simpy

from snakesim.config.network import NetworkSpec
from snakesim.network.alarms import Alarms
from snakesim.network.sharing import FlowNetwork
from snakesim.network.tcp import TcpSettings
from snakesim.records import TransferRecord

if TYPE_CHECKING:
    from snakesim.network.routing import Router
    from snakesim.network.transfers import Transfer
    from snakesim.sim.ledger import Ledger

Key = tuple[str, str]
_EPS = 1e-6  # bits: what is left of a flow after float rounding


def _spent(bits: float, rate: float, now: float) -> bool:
    """Whether ``bits`` is only rounding: below `_EPS`, or too few to take any
    representable time at ``rate`` (late in a run, a clock tick carries many bits)."""
    return bits <= max(_EPS, rate * 4 * math.ulp(now))


class _Flow:
    """The data phase of one transfer: bits left, rate, and its TCP round."""

    __slots__ = ("budget", "clock", "gen", "keys", "left", "neck", "one_way", "rate",
                 "round_end", "since", "start", "t", "tail", "wake_at", "window")

    def __init__(self, t: Transfer, keys: list[Key], one_way: float, tail: float,
                 clock: float, left: float, window: float | None, now: float) -> None:
        self.t, self.keys, self.one_way, self.tail, self.clock = t, keys, one_way, tail, clock
        self.left, self.window = left, window
        self.rate, self.since, self.start, self.gen = 0.0, now, now, 0
        self.budget: float | None = None  # bits this round may still send (TCP rounds)
        self.neck: Key | None = None  # the link its share was set by when it ended
        self.round_end = math.inf
        self.wake_at = math.nan  # when its pending wake-up is due (nan: none pending)


class FlowTransport:
    """Runs the fabric's transfers as flows (see the module docstring).

    Parameters
    ----------
    env, router, ledger
        The run's environment, the fabric's router and the ledger.
    latency
        One-way latency of every link direction.
    capacity
        The rate every link direction carries now (0 while it is down).
    tcp
        TCP settings, or None for the fluid transport.
    rtt_weighted
        Share in proportion to 1 / RTT (as SimGrid's flow models do) instead of equally.
    effect
        The fabric's effect recorder ``(element, effect, transfer id, node)``.
    retry_backoff
        Seconds a failed transfer waits before it starts again (policy ``retry``).
    """

    def __init__(self, env: simpy.Environment, router: Router, ledger: Ledger,
                 latency: dict[Key, float], capacity: Callable[[Key], float],
                 tcp: TcpSettings | None, rtt_weighted: bool,
                 effect: Callable[[str, str, int, str], None], retry_backoff: float) -> None:
        self._env, self._router, self._ledger = env, router, ledger
        self._latency, self._tcp, self._rtt_weighted = latency, tcp, rtt_weighted
        self._effect, self._backoff = effect, retry_backoff
        self._net: FlowNetwork[int, Key] = FlowNetwork({k: capacity(k) for k in latency})
        self._flows: dict[int, _Flow] = {}
        self._windows: dict[Key, tuple[float, float]] = {}  # pair -> (window, last end)
        self._open: dict[frozenset[str], float] = {}  # node pair -> connection open at
        self.on_start: Callable[[Key], None] | None = None
        """Called for each link direction a flow starts on (the trace player's sync)."""
        # Changes made at one instant are applied together, with one re-solve (see
        # `_flush`): thousands of flows starting, ending or finishing a slow-start round
        # at the same time would otherwise each re-solve the component they share.
        self._adds: dict[int, tuple[list[Key], float, float]] = {}
        self._removes: list[int] = []
        self._caps: dict[int, float] = {}
        self._touched: dict[int, None] = {}  # flows whose wake-up must be re-planned
        self._flush_due = False
        self._alarms: Alarms[tuple[_Flow, int]] = Alarms(env, self._wake)

    # ---------------------------------------------------------------- queries
    def count(self, key: Key) -> int:
        """How many transfers' flows cross link direction ``key``."""
        self._flush()
        return len(self._net.flows_on(key))

    def capacity(self, key: Key) -> float:
        """The rate link direction ``key`` carries now (0 while it is down)."""
        return self._net.capacity(key)

    def rate_of(self, transfer_id: int) -> float:
        """The current rate of a transfer's flow (0 before its data phase)."""
        self._flush()
        flow = self._flows.get(transfer_id)
        return 0.0 if flow is None else flow.rate

    # ---------------------------------------------------------------- changes
    def send(self, t: Transfer) -> None:
        """Start transfer ``t``: route it, open or reuse its connection, send its bits."""
        route = self._router.route(t.here, t.dst)
        if route is None:  # nothing live leads there now: wait for a change
            self._effect(f"node {t.here}", "waited", t.id, t.here)
            self._router.change().callbacks.append(lambda _: self.send(t))
            return
        t.route, t.pos, t.nxt = route, 0, route[1]
        keys = list(itertools.pairwise(route))
        one_way = sum(self._latency[k] for k in keys)
        tcp, now = self._tcp, float(self._env.now)
        if tcp is None or t.nbytes == 0:
            self._begin(t, keys, one_way, None, 0.0)
            return
        pair = (route[0], route[-1])
        window, last = self._windows.get(pair, (math.nan, -math.inf))
        rtt = 2 * one_way
        if math.isnan(window):
            window = float(tcp.initial_window)
            # A connection is full duplex: the first message either way opens it (SYN,
            # SYN-ACK, then data with the ACK), a message the other way sent meanwhile
            # waits for the same handshake; each direction keeps its own window.
            opened = self._open.setdefault(frozenset(pair), now + rtt)
            if opened > now:
                self._env.timeout(opened - now).callbacks.append(
                    lambda _: self._begin(t, keys, one_way, window, rtt))
                return
        elif tcp.idle_restarts(now - last, rtt):
            window = float(tcp.initial_window)
        self._begin(t, keys, one_way, window, rtt)

    def set_capacity(self, key: Key, bps: float) -> None:
        """Set the rate link direction ``key`` carries from now on (0: down)."""
        self._flush()
        self._replan(self._net.set_capacity(key, bps))

    def fail(self, key: Key) -> int:
        """Fail every flow on ``key`` (policy ``retry``); returns how many failed."""
        self._flush()
        failed = [self._flows[i] for i in self._net.flows_on(key)]
        for flow in failed:
            flow.gen, flow.wake_at = flow.gen + 1, math.nan  # its pending wake-up is void
            self._drop(flow)
            flow.t.here = flow.t.visited[0]
            self._env.timeout(self._backoff).callbacks.append(self._retry(flow.t))
        return len(failed)

    def _retry(self, t: Transfer) -> Callable[[simpy.Event], None]:
        return lambda _: self.send(t)

    # ---------------------------------------------------------------- internals
    def _begin(self, t: Transfer, keys: list[Key], one_way: float, window: float | None,
               rtt: float) -> None:
        tcp, now = self._tcp, float(self._env.now)
        rates = [self._net.capacity(k) for k in keys]
        bits = float(t.nbytes * 8)
        tail, clock = 0.0, rtt
        if tcp is not None:
            bits = float(tcp.wire_bytes(t.nbytes) * 8)
            # Routers forward whole packets: one segment's time on every hop but the
            # slowest adds to the last bit's arrival (nominal rates: outages aside).
            segment = (tcp.mss + tcp.header_bytes) * 8
            nominal = [r for r in rates if r > 0] or [math.inf]
            tail = sum(segment / r for r in nominal) - segment / min(nominal)
            clock = rtt + tail + segment / min(nominal)
        flow = _Flow(t, keys, one_way, tail, clock, bits, window, now)
        t.sending = now
        if t.nbytes == 0:  # nothing to send: it arrives one propagation delay later
            self._finish(flow, now, held=False)
            return
        self._flows[t.id] = flow
        if window is not None:
            self._new_round(flow, now)
        weight = 1.0 / max(2 * one_way, 1e-9) if self._rtt_weighted else 1.0
        self._adds[t.id] = (keys, weight, math.inf)
        self._due()

    def _new_round(self, flow: _Flow, now: float) -> None:
        assert self._tcp is not None and flow.window is not None
        tcp = self._tcp
        largest = max(1.0, tcp.buffer_bytes / tcp.mss)
        flow.window = min(flow.window, largest)
        flow.budget = flow.window * (tcp.mss + tcp.header_bytes) * 8
        flow.round_end = now + flow.clock

    def _advance(self, flow: _Flow, now: float) -> None:
        sent = flow.rate * (now - flow.since)
        flow.left -= sent
        if flow.budget is not None:
            flow.budget -= sent
        flow.since = now

    def _replan(self, changed: list[int]) -> None:
        now = float(self._env.now)
        for transfer_id in changed:
            flow = self._flows[transfer_id]
            self._advance(flow, now)
            flow.rate = self._net.rate(transfer_id)
            if flow.rate > 0 and flow.round_end == math.inf and flow.budget is not None:
                flow.round_end = now + flow.clock  # resumed after a pause
            self._schedule(flow, now)

    def _schedule(self, flow: _Flow, now: float) -> None:
        at = flow.round_end if flow.budget is not None else math.inf
        if flow.rate <= 0 and flow.budget is not None and self._net.cap(flow.t.id) > 0:
            # Paused by the network (a link down, a trace at 0) with window to send: no
            # data in flight, so no ACK clock either; the round starts over on resuming.
            flow.round_end = math.inf
            flow.gen, flow.wake_at = flow.gen + 1, math.nan
            return
        if flow.rate > 0:
            at = min(at, now + max(flow.left, 0.0) / flow.rate)
            if flow.budget is not None:
                # A window already out (a re-plan got here before the flow's own wake-up
                # capped it) must stop now, not run on at its share until the round ends.
                at = min(at, now + max(flow.budget, 0.0) / flow.rate)
        if at == flow.wake_at:
            return  # the wake-up already pending is the one needed: it reads the state then
        flow.gen += 1
        flow.wake_at = at if at < math.inf else math.nan
        if at < math.inf:
            self._alarms.set(max(at - now, 0.0), (flow, flow.gen))

    def _wake(self, due: tuple[_Flow, int]) -> None:
        flow, gen = due
        if gen != flow.gen:
            return  # replanned since: a later wake-up stands
        flow.wake_at = math.nan
        now = float(self._env.now)
        self._advance(flow, now)
        if _spent(flow.left, flow.rate, now):
            self._finish(flow, now)
        elif flow.budget is not None and now >= flow.round_end - 1e-12:
            self._end_round(flow, now)
        elif flow.budget is not None and _spent(flow.budget, flow.rate, now):
            # The window is out: wait for its first ACK (the round's end) at rate 0.
            # What is left is rounding; zero it, or the round's end (at rate 0, where
            # `_spent` has no rate to scale its tolerance by) takes the window as unsent
            # and never doubles it (late in a run the residue outgrows any fixed epsilon).
            flow.budget = 0.0
            self._recap(flow, 0.0)
        else:
            self._schedule(flow, now)

    def _end_round(self, flow: _Flow, now: float) -> None:
        assert self._tcp is not None and flow.window is not None and flow.budget is not None
        largest = max(1.0, self._tcp.buffer_bytes / self._tcp.mss)
        spent = _spent(flow.budget, flow.rate, now)
        if not spent and flow.rate > 0:
            if flow.window < largest:  # the share, not the window, limits it: done growing
                flow.budget, flow.round_end = None, math.inf
                self._recap(flow, math.inf)
                return
        elif spent:  # sent the whole window: ACKs grow it (slow start)
            flow.window = min(2 * flow.window, largest)
        self._new_round(flow, now)
        self._recap(flow, math.inf)

    def _recap(self, flow: _Flow, cap: float) -> None:
        key = flow.t.id
        if key in self._adds:
            keys, weight, _ = self._adds[key]
            self._adds[key] = (keys, weight, cap)
        else:
            self._caps[key] = cap
        self._touched[key] = None  # its next wake-up must be planned either way
        self._due()

    def _drop(self, flow: _Flow) -> None:
        key = flow.t.id
        del self._flows[key]
        self._caps.pop(key, None)
        self._touched.pop(key, None)
        if self._adds.pop(key, None) is None:
            self._removes.append(key)
            self._due()

    def _due(self) -> None:
        # A zero-delay event runs after every event already due now, so all the changes
        # of this instant are in when it flushes them; until then rates stay as they
        # were, for no simulated time.
        if not self._flush_due:
            self._flush_due = True
            self._env.timeout(0).callbacks.append(lambda _: self._flush())

    def _flush(self) -> None:
        """Apply the pending starts, ends and caps with one re-solve; re-plan flows."""
        self._flush_due = False
        if not (self._adds or self._removes or self._caps):
            return
        adds, removes, caps = self._adds, self._removes, self._caps
        touched = self._touched
        self._adds, self._removes, self._caps, self._touched = {}, [], {}, {}
        changed = self._net.change(
            add=[(key, keys, weight, cap) for key, (keys, weight, cap) in adds.items()],
            remove=removes, caps=list(caps.items()))
        touched.update(dict.fromkeys(changed))
        self._replan([key for key in touched if key in self._flows])
        if self.on_start is not None:
            for keys, _, _ in adds.values():
                for key in keys:
                    self.on_start(key)

    def _finish(self, flow: _Flow, now: float, held: bool = True) -> None:
        flow.gen, flow.wake_at = flow.gen + 1, math.nan
        if held:
            # The link that set its share at the last solve (it has sent at that rate).
            flow.neck = self._net.bottleneck(flow.t.id)
            self._drop(flow)
        t = flow.t
        if flow.window is not None and t.route is not None:
            self._windows[(t.route[0], t.route[-1])] = (flow.window, now)
        t.sent = now
        self._env.timeout(flow.one_way + flow.tail).callbacks.append(
            lambda _: self._arrive(flow))

    def _arrive(self, flow: _Flow) -> None:
        t, ledger = flow.t, self._ledger
        assert t.route is not None
        for u, v in flow.keys:
            ledger.hop(u, v, t.nbytes, flow.start, float(t.sent))
        for node in t.route[1:-1]:
            ledger.relay(node, t.nbytes)
        if self._router.version and list(t.route) != self._router.static_path(t.route[0],
                                                                               t.dst):
            self._effect(f"node {t.route[0]}", "rerouted", t.id, t.route[0])
        t.visited, t.here = t.route, t.dst
        t.fabric.delivered(t)
        ledger.transfer(TransferRecord(
            transfer_id=t.id, kind=t.kind, round=t.round, src=t.route[0], dst=t.dst,
            nbytes=t.nbytes, hops=len(t.route) - 1, path=">".join(t.route),
            start_s=t.start, end_s=float(self._env.now), bottleneck=">".join(
                flow.neck or min(flow.keys, key=self._net.capacity, default=("", "")))))
        t.done.succeed(t.payload)


def flow_transport(env: simpy.Environment, ledger: Ledger, router: Router,
                   latency: dict[Key, float], nominal: dict[Key, float],
                   network: NetworkSpec | None, backoff: float,
                   effect: Callable[[str, str, int, str], None]) -> FlowTransport | None:
    """The transport of the scenario's ``network`` section; None for store-and-forward.

    ``nominal`` is the fabric's live table of each direction's rate while up.
    """
    if network is None or network.model != "flow":
        return None
    t = network.tcp
    tcp = TcpSettings(mss=t.mss, header_bytes=t.header_bytes, initial_window=t.initial_window,
                      buffer_bytes=float(t.buffer), slow_start_restart=t.slow_start_restart,
                      rto_min=float(t.rto_min)) if network.transport == "tcp" else None
    return FlowTransport(env, router, ledger, latency,
                         lambda key: nominal[key] if router.link_up(*key) else 0.0, tcp,
                         network.sharing == "rtt_weighted", effect, backoff)
