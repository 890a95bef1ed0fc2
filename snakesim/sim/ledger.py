"""The ledger: every cost a run incurs, recorded as flat rows and turned into frames once.

Strategies never write here directly; the fabric records transfers, hops, compute jobs
and storage, and observers record evaluations. `Ledger.to_frames` builds the tidy
result tables (one row per transfer, compute job, evaluation, node and link direction).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, fields
from typing import Any

import pandas as pd

from snakesim.records import ComputeRecord, EvalRecord, NodeInfo, TransferRecord


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

    def transfer(self, record: TransferRecord) -> None:
        """Record a completed end-to-end transfer."""
        self.transfers.append(record)

    def hop(self, src: str, dst: str, nbytes: int) -> None:
        """Record ``nbytes`` crossing the link direction ``src -> dst``."""
        self.link_bytes[(src, dst)] += nbytes
        self.link_transfers[(src, dst)] += 1

    def relay(self, node: str, nbytes: int) -> None:
        """Record ``nbytes`` forwarded by an intermediate node."""
        self.relayed_bytes[node] += nbytes

    def compute(self, record: ComputeRecord) -> None:
        """Record a finished compute job."""
        self.computes.append(record)

    def evaluation(self, record: EvalRecord) -> None:
        """Record a global-test-set evaluation (an observer: costs no simulated time)."""
        self.evaluations.append(record)

    def store(self, node: str, nbytes: int) -> None:
        """Record that ``node`` keeps ``nbytes`` at rest; the table keeps the maximum."""
        self.storage_bytes[node] = max(self.storage_bytes[node], int(nbytes))

    def to_frames(self, run_id: str, strategy: str,
                  nodes: Sequence[NodeInfo]) -> dict[str, pd.DataFrame]:
        """Build the result tables: rounds, transfers, computes, nodes, links."""
        frames = {
            "rounds": _rounds(self.evaluations, self.transfers),
            "transfers": _frame(self.transfers, TransferRecord),
            "computes": _frame(self.computes, ComputeRecord),
            "nodes": self._nodes(nodes),
            "links": self._links(),
        }
        for frame in frames.values():
            frame.insert(0, "strategy", strategy)
            frame.insert(0, "run_id", run_id)
        return frames

    def _nodes(self, nodes: Sequence[NodeInfo]) -> pd.DataFrame:
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
                 "flops": flops[n.node], "jobs": jobs[n.node]} for n in nodes]
        frame: pd.DataFrame = pd.DataFrame(rows)
        return frame

    def _links(self) -> pd.DataFrame:
        rows = [{"src": s, "dst": d, "bytes": b, "transfers": self.link_transfers[(s, d)]}
                for (s, d), b in sorted(self.link_bytes.items())]
        frame: pd.DataFrame = pd.DataFrame(rows, columns=["src", "dst", "bytes", "transfers"])
        return frame


def _frame(records: Sequence[Any], kind: type) -> pd.DataFrame:
    # Columns come from the record type so an empty table still has its schema.
    columns = [f.name for f in fields(kind)]
    frame: pd.DataFrame = pd.DataFrame([asdict(r) for r in records], columns=columns)
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
