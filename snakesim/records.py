"""Frozen row types collected during a run and turned into result tables once.

Every table row also carries the run id and strategy (added when the ledger builds its
frames) and a simulated time, so rows from many runs can be concatenated and compared.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TransferRecord:
    """One payload sent end to end (possibly over several hops)."""

    transfer_id: int
    kind: str
    round: int
    src: str
    dst: str
    nbytes: int
    hops: int
    path: str
    start_s: float
    end_s: float
    bottleneck: str = ""
    """The link direction (``u>v``) that limited the transfer's rate: the slowest hop
    (store-and-forward), or the one its fair share was set by when it ended (flows)."""

    @property
    def mean_rate_bps(self) -> float:
        """End-to-end goodput: payload bits over the time from send to arrival."""
        span = self.end_s - self.start_s
        return self.nbytes * 8 / span if span > 0 else float("nan")


@dataclass(frozen=True, slots=True)
class ComputeRecord:
    """One compute job a node ran (its duration is its FLOPs / the node's FLOP/s)."""

    node: str
    kind: str
    round: int
    start_s: float
    end_s: float
    flops: float
    peak_memory_bytes: int
    samples: int
    groups: str = ""
    """The layer groups the job trained, comma-separated (``0,1,5``); empty for a job
    that trains no groups, or one that does not say."""


@dataclass(frozen=True, slots=True)
class EvalRecord:
    """The global test metrics of the model after one round or hop.

    ``step`` numbers the hops within a Snake Learning pass (or is 0 for per-round
    strategies); evaluation costs no simulated time. Round 0 is the initial model,
    evaluated before any training.
    """

    round: int
    step: int
    node: str
    sim_time_s: float
    accuracy: float
    loss: float


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """A node's budgets and role, as drawn for this run."""

    node: str
    role: str
    compute_flops_per_s: float
    memory_bytes: float
    storage_bytes: float
    energy_per_flop_j: float = 0.0
    idle_power_w: float = 0.0
    accelerator: str = ""
    """The accelerator preset the node names (empty: a plain FLOP/s node)."""


@dataclass(frozen=True, slots=True)
class OutageRecord:
    """One interval during which a link or node was down (``end_s`` NaN: still down)."""

    element: str
    kind: str
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class EffectRecord:
    """What an outage did to work in progress.

    ``effect`` is one of ``paused`` (flows on a link that went down, pause policy),
    ``failed`` (a hop that failed, retry policy), ``rerouted`` (a payload that took a
    longer live route than the outage-free one), ``waited`` (a payload with no live
    route, waiting for one), ``job_lost`` / ``job_paused`` (a compute job on a node that
    went down), ``oom`` (a job that did not run: its peak memory exceeds the node's
    budget), ``out_of_storage`` (data or a model a node could not keep), ``excluded`` (a
    node a strategy left out, and why). ``transfer_id`` is -1 when the effect is not
    about one transfer.
    """

    time_s: float
    element: str
    effect: str
    transfer_id: int
    node: str
    count: int
