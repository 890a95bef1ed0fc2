"""TCP as a fluid flow sees it: handshake, header overhead, slow start and the window bound.

A flow-level model gives a transfer a rate (its fair share of the links on its route);
TCP adds what a packet-level simulator or a real host shows on top of that share:

- **Handshake.** A new connection spends one round-trip time (SYN, SYN-ACK) before its
  first data segment leaves; the data then follows the client's ACK at once.
- **Header overhead.** Each segment carries `TcpSettings.mss` payload bytes in
  ``mss + header_bytes`` bytes on the wire (IPv4 20 B, TCP with timestamps 32 B and a
  2-byte point-to-point header by default: a 1,500-byte IP packet), so a link of ``C``
  bit/s moves at most ``C * mss / (mss + header_bytes)`` bit/s of payload.
- **Slow start.** The congestion window starts at ``initial_window`` segments (10, RFC
  6928, Linux's default) and doubles every round trip (with appropriate byte counting
  the doubling holds under delayed ACKs too), until the window no longer limits the
  flow. As a rate cap: ``window * mss * 8 / rtt`` bit/s of payload in each round.
- **Window bound.** The window never exceeds the socket buffer, so the rate never
  exceeds ``buffer_bytes * 8 / rtt``: a long fat pipe with small buffers is capped at
  window / RTT whatever its bandwidth.
- **Slow-start restart.** A connection idle for longer than its retransmission timeout
  starts again from the initial window (RFC 5681 section 4.1, Linux's default
  ``tcp_slow_start_after_idle = 1``); the RTO is at least `TcpSettings.rto_min`.

Losses are not modelled: the fluid model assumes queues that absorb what slow start
overshoots (as the ns-3 comparison's queues do), so no flow leaves slow start by a loss.
`single_flow_time` is the closed form for one flow alone on its path, which the ns-3
goldens check; the fabric applies the same caps round by round to shared flows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TcpSettings:
    """The TCP parameters of a flow (defaults: Linux's, as sources below).

    Attributes
    ----------
    mss
        Payload bytes per segment (1448: a 1,500-byte MTU less IPv4, TCP and timestamps).
    header_bytes
        Bytes on the wire per segment besides the payload (52 IP and TCP + 2 link).
    initial_window
        Initial congestion window in segments (RFC 6928; Linux since 2.6.39).
    buffer_bytes
        The largest window, i.e. the smaller of the send and receive socket buffers.
        The default 4 MiB is Linux's autotuning maximum for sending
        (``net.ipv4.tcp_wmem = 4096 16384 4194304``); ``131072`` mimics fixed
        128 KiB buffers.
    handshake
        Whether a new connection spends one round trip before sending.
    slow_start_restart
        Whether a connection idle for longer than its RTO restarts slow start.
    rto_min
        The smallest retransmission timeout in seconds (Linux: 200 ms).
    """

    mss: int = 1448
    header_bytes: int = 54
    initial_window: int = 10
    buffer_bytes: float = 4 * 2**20
    handshake: bool = True
    slow_start_restart: bool = True
    rto_min: float = 0.2

    @property
    def payload_fraction(self) -> float:
        """Payload bytes per byte on the wire."""
        return self.mss / (self.mss + self.header_bytes)

    def wire_bytes(self, payload: int) -> int:
        """Bytes on the wire for ``payload`` bytes of data (whole segments' headers)."""
        segments = max(1, math.ceil(payload / self.mss)) if payload > 0 else 0
        return payload + segments * self.header_bytes

    def window_cap(self, window_segments: float, rtt: float) -> float:
        """Payload bit/s a window of ``window_segments`` allows over ``rtt`` seconds."""
        if rtt <= 0:
            return math.inf
        window = min(window_segments * self.mss, self.buffer_bytes)
        return window * 8 / rtt

    def idle_restarts(self, idle_s: float, rtt: float) -> bool:
        """Whether an idle period of ``idle_s`` seconds resets the window (RFC 5681)."""
        rto = max(self.rto_min, 3 * rtt)  # RFC 6298's initial RTO of 1 s falls to ~RTT
        return self.slow_start_restart and idle_s > rto


def single_flow_time(nbytes: int, path: Sequence[tuple[float, float]],
                     settings: TcpSettings, *, connected: bool = False,
                     window_segments: float | None = None) -> float:
    """Seconds from the send call until the last byte reaches the receiving application.

    One flow alone on its path of hops ``(bandwidth bit/s, one-way latency s)``. Each
    round trip the sender sends its window as a burst at the bottleneck's payload rate
    and waits for the first segment's ACK (one round trip plus the segment's transmission
    on every hop) before the next, doubled, window; a window as large as the path's
    bandwidth-delay product keeps the bottleneck busy from then on. The last byte arrives
    one propagation delay (plus one segment's transmission on the hops after the
    bottleneck, as routers forward whole packets) after it leaves.

    Parameters
    ----------
    nbytes
        Payload bytes.
    path
        The hops, in order: bandwidth on the wire and one-way latency of each.
    settings
        TCP parameters.
    connected
        True on a connection already open (no handshake).
    window_segments
        The window to start from (default: ``settings.initial_window``).
    """
    one_way = sum(latency for _, latency in path)
    bottleneck = min(rate for rate, _ in path)
    segment = (settings.mss + settings.header_bytes) * 8
    store_and_forward = sum(segment / rate for rate, _ in path) - segment / bottleneck
    rtt = 2 * one_way
    clock = rtt + store_and_forward + segment / bottleneck  # first segment's ACK is back
    window = float(window_segments or settings.initial_window)
    largest = max(1.0, settings.buffer_bytes / settings.mss)
    t = rtt if settings.handshake and not connected else 0.0
    left = settings.wire_bytes(nbytes) * 8.0  # bits on the wire, headers included
    while True:
        burst = min(window * segment, left)
        # Done within this window, or the window fills the pipe: no more waiting.
        if burst >= left or burst / bottleneck >= clock:
            return t + left / bottleneck + one_way + store_and_forward
        if window >= largest:  # capped by the buffer: the same burst every round trip
            rounds = math.ceil(left / burst) - 1
            return t + rounds * clock + (left - rounds * burst) / bottleneck + one_way \
                + store_and_forward
        t += clock
        left -= burst
        window = min(2 * window, largest)
