"""What a run spent until it first reached a quality target (time-, bytes-, energy-to-target).

The rounds table holds one row per evaluation of the global model (a FedAvg round, a
Snake hop, and the initial model as round 0 where the run evaluated it). The target is
reached at the **first evaluation** whose accuracy is at least the target (perplexity: at
most the target); the costs reported are those spent by the simulated time of that
evaluation:

- time: the evaluation's ``sim_time_s``;
- bytes: its ``cum_total_bytes`` and ``cum_link_bytes`` (payloads delivered by then);
- FLOPs: the compute jobs finished by then;
- energy: those jobs' FLOPs times their node's energy per FLOP, plus each node's idle
  power over the time until then that it was not computing, plus the link energy of
  the payloads delivered by then (each hop priced at its link's energy per bit).

At the run's end these are the run's totals (``summary.json``), so a target reached at
the last evaluation costs what the run cost.

No interpolation between evaluations: the model between two evaluations was never
measured, and a straight line between them would credit a run with a quality it was not
shown to have. A coarser evaluation schedule therefore reports a later (dearer) arrival;
that is the honest reading of what was measured. A target the initial model already
meets (round 0, before any cost) costs 0. A target never reached gives NaN everywhere.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from snakesim.config.targets import QualityTarget
from snakesim.errors import ResultsError
from snakesim.experiments.store import read_summary, read_table

TARGET_COLUMNS = ("target", "target_round", "target_step", "time_to_target_s",
                  "bytes_to_target", "link_bytes_to_target", "energy_to_target_j",
                  "flops_to_target")
"""The columns `CostToTarget.columns` adds to a comparison or sweep summary table."""

NEEDED = ("rounds", "computes", "nodes", "links", "transfers")
"""The result tables the costs are read from."""


@dataclass(frozen=True)
class CostToTarget:
    """Where a run first reached a target and what it had spent by then (NaN: never).

    Attributes
    ----------
    target : QualityTarget
        The target.
    round, step : float
        The evaluation that reached it (``step``: the hop within a Snake pass).
    sim_time_s : float
        Simulated time of that evaluation.
    total_bytes, link_bytes : float
        Payload bytes delivered by then, and the same counted once per hop.
    energy_j : float
        Energy spent by then (nodes' compute and idle energy, links' energy).
    flops : float
        FLOPs of the compute jobs finished by then.
    """

    target: QualityTarget
    round: float
    step: float
    sim_time_s: float
    total_bytes: float
    link_bytes: float
    energy_j: float
    flops: float

    @property
    def reached(self) -> bool:
        """Whether any evaluation met the target."""
        return not math.isnan(self.sim_time_s)

    def columns(self) -> dict[str, str | float]:
        """The `TARGET_COLUMNS` of this run, NaN where the target was never reached."""
        return {"target": self.target.describe(), "target_round": self.round,
                "target_step": self.step, "time_to_target_s": self.sim_time_s,
                "bytes_to_target": self.total_bytes, "link_bytes_to_target": self.link_bytes,
                "energy_to_target_j": self.energy_j, "flops_to_target": self.flops}


def first_reaching(rounds: pd.DataFrame, target: QualityTarget) -> int | None:
    """The position (in evaluation order) of the first evaluation meeting ``target``.

    Evaluation order is by simulated time, ties in the table's order. NaN values
    (quality not measured) never meet a target. None when no evaluation does.
    """
    order = np.argsort(rounds["sim_time_s"].to_numpy(float), kind="stable")
    values = rounds[target.metric].to_numpy(float)[order]
    met = values >= target.value if target.metric == "accuracy" else values <= target.value
    hits = np.flatnonzero(met)  # NaN compares False either way
    return int(order[hits[0]]) if len(hits) else None


def cost_to_target(tables: Mapping[str, pd.DataFrame], target: QualityTarget) -> CostToTarget:
    """What a run had spent when it first met ``target`` (see the module docstring).

    Parameters
    ----------
    tables
        The run's result tables, at least `NEEDED`.
    target
        The quality target; its metric must be a column of the rounds table.

    Returns
    -------
    CostToTarget
        NaN in every field when no evaluation met the target.
    """
    rounds = tables["rounds"]
    row = first_reaching(rounds, target)
    if row is None:
        nan = math.nan
        return CostToTarget(target, nan, nan, nan, nan, nan, nan, nan)
    hit = rounds.iloc[row]
    time = float(hit["sim_time_s"])
    energy, flops = spent_until(tables, time)
    return CostToTarget(target, float(hit["round"]), float(hit["step"]), time,
                        float(hit["cum_total_bytes"]), float(hit["cum_link_bytes"]),
                        energy, flops)


def spent_until(tables: Mapping[str, pd.DataFrame], time: float) -> tuple[float, float]:
    """Energy (J) and FLOPs a run had spent by simulated ``time``.

    Counts compute jobs and payloads finished by ``time`` (as the rounds table counts
    bytes), and idle power over the time each node was not computing until then.
    """
    computes, nodes = tables["computes"], tables["nodes"]
    # As numpy floats: an empty table read back has columns of no particular type.
    done = computes["end_s"].to_numpy(float) <= time
    job_flops = computes["flops"].to_numpy(float)[done]
    per_flop = dict(zip(nodes["node"], nodes["energy_per_flop_j"], strict=True))
    prices = np.array([float(per_flop.get(n, 0.0)) for n in computes["node"][done]])
    flops = float(job_flops.sum())
    compute_j = float((job_flops * prices).sum()) if len(prices) else 0.0
    idle_j = 0.0
    for node, power in zip(nodes["node"], nodes["idle_power_w"], strict=True):
        if power:
            jobs = computes[computes["node"] == node]
            busy = _busy_until(jobs["start_s"].to_numpy(float),
                               jobs["end_s"].to_numpy(float), time)
            idle_j += max(0.0, time - busy) * float(power)
    return float(compute_j + idle_j + _link_energy_until(tables, time)), flops


def _busy_until(starts: np.ndarray, ends: np.ndarray, time: float) -> float:
    """The length of the union of the intervals, cut at ``time``.

    A union, not a sum: the idle time ``time - busy`` then never shrinks as ``time``
    grows, so energy to target never falls as the target is raised. (A node runs one
    job at a time, so for a whole run this equals the ledger's sum of job durations.)
    """
    busy, reach = 0.0, -math.inf
    for start, end in sorted(zip(starts, np.minimum(ends, time), strict=True)):
        if end <= start:
            continue
        if start > reach:
            busy += end - start
            reach = end
        elif end > reach:
            busy += end - reach
            reach = end
    return busy


def _link_energy_until(tables: Mapping[str, pd.DataFrame], time: float) -> float:
    links, transfers = tables["links"], tables["transfers"]
    # A link's energy per byte, from what it carried and what that cost (both ways of a
    # link have the same price).
    price: dict[frozenset[str], float] = {}
    for src, dst, nbytes, joules in zip(links["src"], links["dst"], links["bytes"],
                                        links["energy_j"], strict=True):
        if nbytes > 0:
            price[frozenset((src, dst))] = float(joules) / float(nbytes)
    if not any(price.values()):
        return 0.0
    delivered = transfers[transfers["end_s"].to_numpy(float) <= time]
    total = 0.0
    for path, nbytes in zip(delivered["path"], delivered["nbytes"].to_numpy(float),
                            strict=True):
        hops = str(path).split(">")
        per_byte = sum(price.get(frozenset(hop), 0.0)
                       for hop in itertools.pairwise(hops))
        total += per_byte * float(nbytes)
    return total


def run_metric(summary: Mapping[str, object]) -> str | None:
    """The quality metric a stored run measured (None: cost-only, none measured)."""
    if summary.get("mode") == "cost_only" or summary.get("final_accuracy") is None:
        return None
    return str(summary.get("metric") or "accuracy")


def check_target(run_dir: Path, summary: Mapping[str, object],
                 target: QualityTarget) -> str | None:
    """Why ``target`` cannot apply to the run in ``run_dir``; None when it can."""
    metric = run_metric(summary)
    if metric is None:
        return (f"{run_dir}: measured no quality (a cost-only run), so no "
                f"{target.metric} target can be reached")
    if metric != target.metric:
        kind = "a language model" if metric == "perplexity" else "a classifier"
        wanted = "an accuracy" if metric == "accuracy" else "a perplexity"
        return (f"{run_dir}: {kind} run, judged by {metric}: give {wanted} target, "
                f"not {target.metric}")
    return None


def run_cost_to_target(run_dir: Path, target: QualityTarget) -> CostToTarget:
    """`cost_to_target` of the finished run stored in ``run_dir``.

    Raises
    ------
    ResultsError
        When ``run_dir`` holds no finished run, or the run does not measure the
        target's metric (a language model and an accuracy target, a cost-only run).
    """
    problem = check_target(run_dir, read_summary(run_dir), target)
    if problem:
        raise ResultsError(problem)
    return cost_to_target({name: read_table(run_dir, name) for name in NEEDED}, target)

