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

A flow's completion is whatever object has ``succeed()`` and ``fail(error)``: a SimPy
event for `Channel.transmit`, or the fabric's own transfer state for `Channel.carry`, so
the fabric's hops cost no event besides the channel's wake-up.

`Trace` reads a link direction's bandwidth over time from a CSV file (``time,bandwidth``);
the fabric applies it.
"""

from __future__ import annotations

import bisect
import csv
import io
import math
from dataclasses import dataclass
from heapq import heappop, heappush
from pathlib import Path
from typing import Protocol

import simpy

from snakesim.config.textfile import FileTooLarge, NotUtf8, decode_utf8, read_bounded
from snakesim.errors import ConfigurationError
from snakesim.units import Dimension, parse_quantity

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


class Flow(Protocol):
    """What a channel tells when a flow is done (``succeed``) or lost (``fail``)."""

    def succeed(self) -> object:
        """The flow's last bit has left."""
        ...

    def fail(self, exception: Exception) -> object:
        """The flow's bits are lost (its link went down under the retry policy)."""
        ...


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
        # (tag, seq, bits, flow): seq is unique, so bits and flows are never compared.
        self._heap: list[tuple[float, int, float, Flow]] = []
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
        self.carry(nbytes, done)
        return done

    def carry(self, nbytes: float, flow: Flow) -> None:
        """Start a flow of ``nbytes`` > 0 bytes; call ``flow.succeed()`` when it is done.

        The call comes from inside the simulation step that finishes the flow (possibly
        this very call, if the flow is due at once); ``flow.fail(error)`` instead if
        `fail_all` loses it.
        """
        self._advance()
        bits = 8.0 * nbytes
        heappush(self._heap, (self._service + bits, self._seq, bits, flow))
        self._seq += 1
        self._schedule()

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


@dataclass(frozen=True)
class Trace:
    """A link direction's bandwidth over time: from ``times[i]`` on it is ``rates[i]``.

    Before the first row the link keeps its configured bandwidth. Without ``repeat`` the
    last row's bandwidth holds to the end; with it the trace starts over every
    ``period`` seconds (the last row's time; that row only marks the period's end).
    """

    times: tuple[float, ...]
    rates: tuple[float, ...]
    repeat: bool = False

    @property
    def period(self) -> float:
        """Length of one repetition (the last row's time)."""
        return self.times[-1]

    def _locate(self, now: float) -> tuple[int, float]:
        """Index of the row in force at ``now`` (-1: before the first) and cycle start."""
        base = 0.0
        if self.repeat:
            base = math.floor(now / self.period) * self.period
            if base > now:  # float rounding of the division
                base -= self.period
            now -= base
        return bisect.bisect_right(self.times, now) - 1, base

    def rate_at(self, now: float) -> float | None:
        """The trace's bandwidth at ``now`` (bit/s), or None before its first row."""
        i, _ = self._locate(now)
        if self.repeat and i == len(self.times) - 1:
            i = 0  # the period's end is the next cycle's start
        return None if i < 0 else self.rates[i]

    def next_change(self, now: float) -> float:
        """The first row time after ``now`` (inf when the trace has no more rows)."""
        i, base = self._locate(now)
        if i + 1 < len(self.times):
            return base + self.times[i + 1]
        return base + self.period + self.times[1] if self.repeat else math.inf


def read_trace(path: str | Path, where: str, *, repeat: bool = False) -> Trace:
    """Read a bandwidth trace CSV: a ``time,bandwidth`` header, then one row per change.

    Cells are numbers in seconds and bit/s, or quantities with units (``1.5 s``,
    ``100 Mbps``). Times start at >= 0 and increase strictly; bandwidths are >= 0 (0
    stalls the link). With ``repeat`` the first row must be at time 0 and there must be
    a later row (its time is the period). The file is at most ``SNAKESIM_MAX_FILE_MB``
    of UTF-8 text.

    Raises
    ------
    ConfigurationError
        ``<where>: <file>:<row>: <rule> (got <value>)`` for the first bad row, or
        ``<where>: <file>: ...`` when the file cannot be read or has no rows.
    """
    name = str(path)
    rows = _trace_rows(Path(path), where)

    def bad(row: int, rule: str, value: object) -> ConfigurationError:
        return ConfigurationError(f"{where}: {name}:{row}: {rule} (got {_shown(value)})")

    header = [cell.strip().lower() for cell in rows[0]] if rows else []
    if header != ["time", "bandwidth"]:
        raise bad(1, "the header must be 'time,bandwidth'", ",".join(rows[0]) if rows else "")
    times: list[float] = []
    rates: list[float] = []
    for line, cells in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in cells):
            continue  # blank line
        if len(cells) != 2:
            raise bad(line, "a row needs 2 cells, time and bandwidth", ",".join(cells))
        values = []
        for cell, dimension in ((cells[0], Dimension.TIME), (cells[1], Dimension.BANDWIDTH)):
            try:
                values.append(_trace_cell(cell, dimension))
            except ValueError as err:
                raise bad(line, str(err), cell) from None
        time, rate = values
        if times and time <= times[-1]:
            raise bad(line, f"times must increase (previous row: {times[-1]:g} s)", cells[0])
        times.append(time)
        rates.append(rate)
    if not times:
        raise ConfigurationError(f"{where}: {name}: the trace has no rows after its header")
    if repeat and (times[0] != 0.0 or len(times) < 2):
        raise ConfigurationError(
            f"{where}: {name}: trace_repeat needs a first row at time 0 and a later row "
            f"(its time is the period; got {len(times)} row(s), first at {times[0]:g} s)")
    return Trace(tuple(times), tuple(rates), repeat)


# A trace cell is a number and maybe a unit; a longer one is refused before it reaches
# the quantity pattern, whose matching time grows with the square of the cell's length.
_MAX_CELL = 100


def _trace_cell(cell: str, dimension: Dimension) -> float:
    """A time (s) or bandwidth (bit/s) cell of a trace; `ValueError` names the rule."""
    column = "time" if dimension is Dimension.TIME else "bandwidth"
    text = cell.strip()
    if len(text) > _MAX_CELL:
        raise ValueError(f"{column}: a cell of {len(text)} characters is not a quantity")
    try:
        value = parse_quantity(text, dimension)
    except ValueError as err:
        raise ValueError(f"{column}: {err}") from None
    if not (math.isfinite(value) and value >= 0.0):
        unit = "s" if dimension is Dimension.TIME else "bit/s"
        raise ValueError(f"{column} must be a finite number >= 0 {unit}")
    return value


def _trace_rows(path: Path, where: str) -> list[list[str]]:
    """The CSV rows of a trace file, read within the file-size limit as UTF-8."""
    try:
        text = decode_utf8(read_bounded(path))
    except NotUtf8 as err:
        raise ConfigurationError(f"{where}: {path}:{err.line}: {err} at column "
                                 f"{err.column}") from None
    except FileTooLarge as err:
        raise ConfigurationError(f"{where}: {path}: cannot read the trace: {err}") from None
    except OSError as err:
        reason = err.strerror or str(err)
        raise ConfigurationError(f"{where}: {path}: cannot read the trace: {reason}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        return list(reader)
    except csv.Error as err:  # a NUL byte, a cell over csv's field size limit
        raise ConfigurationError(f"{where}: {path}:{reader.line_num}: not a CSV row: "
                                 f"{err}") from None


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
