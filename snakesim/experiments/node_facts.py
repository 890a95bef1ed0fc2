"""What happened to each node of a run, and how often each effect occurred (from its tables).

`node_facts` gives, per node, the layer groups it trained (the union over its finished
compute jobs, from the computes table's ``groups``), what it was excluded from and why
(the effects a strategy or a budget imposed on it: ``excluded``, ``out_of_storage``,
``oom``), and how many times each other effect (outages, re-routing, waiting) hit it.
`event_counts` counts outages and effects for the whole run. Both feed ``summary.json``
(`snakesim.experiments.run.summarize`), so they read result frames only.
"""

from __future__ import annotations

import bisect
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import pandas as pd

EXCLUSIONS: dict[str, tuple[str, str | None]] = {
    "excluded": ("training", None),
    "out_of_storage": ("storage", "nodes.storage: what it had to keep exceeds its budget "
                                  "(nothing kept)"),
    "oom": ("a compute job", "nodes.memory: the job's peak memory exceeds its budget "
                             "(the job did not run)"),
}
"""Effects that leave a node out of something: ``effect -> (what, why)``; the why of an
``excluded`` effect is the strategy's own reason (the effect's ``element``)."""


def node_facts(frames: dict[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """Per node (in the nodes table's order): role, groups trained, exclusions, effects.

    Returns
    -------
    dict
        ``{node: {"role": str, "groups": [int, ...], "excluded": [{"what": str,
        "why": str, "round": int}, ...], "effects": {effect: count}}}``. ``round`` is
        the round in progress when it happened: the first round (>= 1) whose last
        evaluation is at or after it, so a decision taken before training says 1 (it
        holds from the first round on); 0 in a run of no rounds. ``effects`` sums the
        effects' ``count`` (flows, transfers or jobs hit).
    """
    groups: defaultdict[str, set[int]] = defaultdict(set)
    computes = frames["computes"]
    if "groups" in computes:
        for node, text in zip(computes["node"], computes["groups"], strict=True):
            groups[node].update(int(g) for g in str(text).split(",") if g)
    round_at = _round_finder(frames["rounds"])
    excluded: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    effects: defaultdict[str, defaultdict[str, int]] = defaultdict(lambda: defaultdict(int))
    table = frames["effects"]
    for kind, node, element, time, count in zip(table["effect"], table["node"],
                                                table["element"], table["time_s"],
                                                table["count"], strict=True):
        if kind in EXCLUSIONS:
            what, why = EXCLUSIONS[kind]
            excluded[node].append({"what": what, "why": why or str(element),
                                   "round": round_at(float(time))})
        else:
            effects[node][str(kind)] += int(count)
    return {str(node): {"role": str(role), "groups": sorted(groups[node]),
                        "excluded": excluded[node],
                        "effects": dict(sorted(effects[node].items()))}
            for node, role in zip(frames["nodes"]["node"], frames["nodes"]["role"],
                                  strict=True)}


def event_counts(frames: dict[str, pd.DataFrame]) -> dict[str, Any]:
    """``{"outages": down intervals, "effects": {effect: count}}`` of the whole run.

    An effect's count sums its rows' ``count`` (the flows a link outage paused, 1 for
    an exclusion), so it says how many things were hit, in the effects table's kinds.
    """
    by_kind = frames["effects"].groupby("effect")["count"].sum()
    return {"outages": len(frames["outages"]),
            "effects": {str(k): int(v) for k, v in sorted(by_kind.items())}}


def excluded_nodes(facts: dict[str, dict[str, Any]]) -> list[str]:
    """The nodes excluded from anything, in order."""
    return [node for node, fact in facts.items() if fact["excluded"]]


def _round_finder(rounds: pd.DataFrame) -> Callable[[float], int]:
    """``time -> round in progress`` (see `node_facts`), from the evaluations' times."""
    trained = rounds[rounds["round"] >= 1]
    ends = trained.groupby("round")["sim_time_s"].max().sort_index()
    numbers, times = [int(r) for r in ends.index], [float(t) for t in ends]
    # Rounds end in order, so their last evaluations' times ascend: bisect finds the
    # first that ends at or after the time; anything after the last evaluation (a CS
    # upload) belongs to the last round.
    for i in range(1, len(times)):
        times[i] = max(times[i], times[i - 1])

    def round_at(time: float) -> int:
        if not numbers:
            return 0
        i = bisect.bisect_left(times, time)
        return numbers[min(i, len(numbers) - 1)]

    return round_at
