"""The ledger: every cost a run incurs, recorded as flat rows and turned into frames once.

Strategies never write here directly; the fabric records transfers, hops, compute jobs
and storage, and observers record evaluations. `Ledger.to_frames` builds the tidy
result tables (one row per transfer, compute job, evaluation, node and link direction).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import asdict, fields
from typing import Any

import pandas as pd

from snakesim.records import (
    ComputeRecord,
    EffectRecord,
    EvalRecord,
    NodeInfo,
    OutageRecord,
    TransferRecord,
)


class Ledger:
    """Append-only record of a run's costs and evaluations."""

    def __init__(self) -> None:
        self.transfers: list[TransferRecord] = []
        self.computes: list[ComputeRecord] = []
        self.evaluations: list[EvalRecord] = []
        self.link_bytes: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.link_transfers: defaultdict[tuple[str, str], int] = defaultdict(int)
        self.relayed_bytes: defaultdict[str, int] = defaultdict(int)
        self.storage_bytes: defaultdict[str, int] = defaultdict(int)
        self.link_busy: defaultdict[tuple[str, str], list[tuple[float, float]]] = \
            defaultdict(list)
        self.outages: list[OutageRecord] = []
        self.effects: list[EffectRecord] = []

    def transfer(self, record: TransferRecord) -> None:
        """Record a completed end-to-end transfer."""
        self.transfers.append(record)

    def hop(self, src: str, dst: str, nbytes: int, start_s: float = math.nan,
            end_s: float = math.nan) -> None:
        """Record ``nbytes`` crossing the link direction ``src -> dst``.

        ``start_s`` and ``end_s`` bound its transmission (latency excluded): the link
        direction's busy time in the timeline.
        """
        self.link_bytes[(src, dst)] += nbytes
        self.link_transfers[(src, dst)] += 1
        if start_s < end_s:
            self.link_busy[(src, dst)].append((start_s, end_s))

    def relay(self, node: str, nbytes: int) -> None:
        """Record ``nbytes`` forwarded by an intermediate node."""
        self.relayed_bytes[node] += nbytes

    def compute(self, record: ComputeRecord) -> None:
        """Record a finished compute job."""
        self.computes.append(record)

    def evaluation(self, record: EvalRecord) -> None:
        """Record a global-test-set evaluation (an observer: costs no simulated time)."""
        self.evaluations.append(record)

    def outage(self, record: OutageRecord) -> None:
        """Record one down interval of a link or node."""
        self.outages.append(record)

    def effect(self, record: EffectRecord) -> None:
        """Record what an outage did to work in progress."""
        self.effects.append(record)

    def store(self, node: str, nbytes: int) -> None:
        """Record that ``node`` keeps ``nbytes`` at rest; the table keeps the maximum."""
        self.storage_bytes[node] = max(self.storage_bytes[node], int(nbytes))

    def to_frames(self, run_id: str, strategy: str, nodes: Sequence[NodeInfo],
                  energy_per_bit: Mapping[frozenset[str], float] | None = None,
                  ) -> dict[str, pd.DataFrame]:
        """Build the result tables: rounds, transfers, computes, nodes, links, outages,
        effects, timeline.

        ``energy_per_bit`` (J per bit, by link) prices each link's bytes; nodes' energy
        is their FLOPs times their energy per FLOP, plus idle power over the time they
        were not computing until the run ended.
        """
        end = max([t.end_s for t in self.transfers] + [c.end_s for c in self.computes]
                  + [0.0])
        frames = {
            "rounds": _rounds(self.evaluations, self.transfers),
            "transfers": _transfers(self.transfers),
            "computes": _frame(self.computes, ComputeRecord),
            "nodes": self._nodes(nodes, end),
            "links": self._links(energy_per_bit or {}),
            "outages": _frame(sorted(self.outages, key=lambda o: (o.start_s, o.element)),
                              OutageRecord),
            "effects": _frame(self.effects, EffectRecord),
            "timeline": self._timeline(end),
        }
        for frame in frames.values():
            frame.insert(0, "strategy", strategy)
            frame.insert(0, "run_id", run_id)
        return frames

    def _nodes(self, nodes: Sequence[NodeInfo], end: float) -> pd.DataFrame:
        sent: defaultdict[str, int] = defaultdict(int)
        received: defaultdict[str, int] = defaultdict(int)
        for t in self.transfers:
            sent[t.src] += t.nbytes
            received[t.dst] += t.nbytes
        busy: defaultdict[str, float] = defaultdict(float)
        flops: defaultdict[str, float] = defaultdict(float)
        peak: defaultdict[str, int] = defaultdict(int)
        jobs: defaultdict[str, int] = defaultdict(int)
        for c in self.computes:
            busy[c.node] += c.end_s - c.start_s
            flops[c.node] += c.flops
            peak[c.node] = max(peak[c.node], c.peak_memory_bytes)
            jobs[c.node] += 1
        rows = [{**asdict(n), "peak_memory_bytes": peak[n.node],
                 "storage_used_bytes": self.storage_bytes[n.node],
                 "bytes_sent": sent[n.node], "bytes_received": received[n.node],
                 "bytes_relayed": self.relayed_bytes[n.node], "busy_time_s": busy[n.node],
                 "flops": flops[n.node], "jobs": jobs[n.node],
                 "compute_energy_j": flops[n.node] * n.energy_per_flop_j,
                 "idle_energy_j": max(0.0, end - busy[n.node]) * n.idle_power_w}
                for n in nodes]
        frame: pd.DataFrame = pd.DataFrame(rows)
        if len(frame):
            frame["energy_j"] = frame["compute_energy_j"] + frame["idle_energy_j"]
        return frame

    def _timeline(self, end: float) -> pd.DataFrame:
        """Busy and down intervals per node and link direction (for Gantt charts)."""
        rows: list[tuple[str, str, str, float, float]] = []
        by_node: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        for c in self.computes:
            by_node[c.node].append((c.start_s, c.end_s))
        for node, spans in sorted(by_node.items()):
            rows += [(node, "node", "busy", a, b) for a, b in _merge(spans)]
        # an outage still open at the end lasts until then
        closed = [(o, end if math.isnan(o.end_s) else o.end_s) for o in self.outages]
        down: defaultdict[str, list[tuple[float, float]]] = defaultdict(list)
        for o, stop in closed:
            down[o.element].append((o.start_s, stop))
        for (src, dst), spans in sorted(self.link_busy.items()):
            # A link direction transmits nothing while the link or either end is down (its
            # flows pause or fail then): those intervals are down, not busy.
            cut = _merge([*down[f"link {min(src, dst)}-{max(src, dst)}"],
                          *down[f"node {src}"], *down[f"node {dst}"]])
            rows += [(f"{src}>{dst}", "link", "busy", a, b)
                     for a, b in _subtract(_merge(spans), cut)]
        for o, stop in closed:
            rows.append((o.element.split(" ", 1)[1], o.kind, "down", o.start_s, stop))
        frame: pd.DataFrame = pd.DataFrame(
            rows, columns=["resource", "kind", "state", "start_s", "end_s"])
        return frame

    def _links(self, energy_per_bit: Mapping[frozenset[str], float]) -> pd.DataFrame:
        rows = [{"src": s, "dst": d, "bytes": b, "transfers": self.link_transfers[(s, d)],
                 "energy_j": 8 * b * energy_per_bit.get(frozenset((s, d)), 0.0)}
                for (s, d), b in sorted(self.link_bytes.items())]
        frame: pd.DataFrame = pd.DataFrame(
            rows, columns=["src", "dst", "bytes", "transfers", "energy_j"])
        return frame


def _subtract(spans: list[tuple[float, float]], cut: list[tuple[float, float]]
              ) -> list[tuple[float, float]]:
    """``spans`` less ``cut`` (both disjoint and sorted); pieces of no length dropped."""
    out: list[tuple[float, float]] = []
    for start, end in spans:
        for a, b in cut:
            if b <= start or a >= end:
                continue
            if a > start:
                out.append((start, a))
            start = max(start, b)
            if start >= end:
                break
        if start < end:
            out.append((start, end))
    return out


def _merge(intervals: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """Union of intervals, as disjoint sorted intervals."""
    merged: list[tuple[float, float]] = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _frame(records: Sequence[Any], kind: type) -> pd.DataFrame:
    # Columns come from the record type so an empty table still has its schema.
    columns = [f.name for f in fields(kind)]
    frame: pd.DataFrame = pd.DataFrame([asdict(r) for r in records], columns=columns)
    return frame


def _transfers(transfers: Sequence[TransferRecord]) -> pd.DataFrame:
    """The transfers table, with each transfer's end-to-end goodput."""
    frame = _frame(transfers, TransferRecord)
    frame["mean_rate_bps"] = pd.Series([t.mean_rate_bps for t in transfers], dtype=float)
    return frame


def _rounds(evaluations: Sequence[EvalRecord],
            transfers: Sequence[TransferRecord]) -> pd.DataFrame:
    """Evaluations with the payload and link bytes delivered up to each one's time."""
    frame = _frame(evaluations, EvalRecord)
    ends = sorted((t.end_s, t.nbytes, t.nbytes * t.hops) for t in transfers)
    total = link = 0
    i = 0
    cum_total, cum_link = [], []
    for time in frame["sim_time_s"]:
        while i < len(ends) and ends[i][0] <= time:
            total += ends[i][1]
            link += ends[i][2]
            i += 1
        cum_total.append(total)
        cum_link.append(link)
    frame["cum_total_bytes"] = pd.Series(cum_total, dtype="int64")
    frame["cum_link_bytes"] = pd.Series(cum_link, dtype="int64")
    return frame
