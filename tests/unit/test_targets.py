"""Cost to a quality target: properties on generated result tables, and the target's rules."""

from __future__ import annotations

import itertools
import math
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from snakesim.config.targets import QualityTarget, scenario_metric
from snakesim.experiments.targets import (
    TARGET_COLUMNS,
    CostToTarget,
    cost_to_target,
    first_reaching,
    spent_until,
)

NODES = ("server", "n1", "n2", "n3")
COSTS = ("sim_time_s", "total_bytes", "link_bytes", "energy_j", "flops")


@st.composite
def run_tables(draw: st.DrawFn, round_zero: bool | None = None) -> dict[str, pd.DataFrame]:
    """Result tables of a plausible run: jobs one at a time per node, payloads over
    paths, evaluations in time order with cumulative bytes (optionally a round 0 at 0)."""
    jobs = []
    for node in NODES[1:]:
        clock = 0.0
        for _ in range(draw(st.integers(0, 4))):
            start = clock + draw(st.floats(0, 2))
            end = start + draw(st.floats(0.01, 3))
            jobs.append({"node": node, "start_s": start, "end_s": end,
                         "flops": draw(st.floats(1e3, 1e9))})
            clock = end
    computes = pd.DataFrame(jobs, columns=["node", "start_s", "end_s", "flops"])
    nodes = pd.DataFrame({
        "node": list(NODES),
        "energy_per_flop_j": [draw(st.sampled_from([0.0, 1e-12, 2e-11])) for _ in NODES],
        "idle_power_w": [draw(st.sampled_from([0.0, 0.5, 3.0])) for _ in NODES]})
    sends = []
    for i in range(draw(st.integers(0, 6))):
        client = draw(st.sampled_from(NODES[1:]))
        path = draw(st.sampled_from([f"{client}>server", f"server>{client}",
                                     f"{client}>server>n1"]))
        end = draw(st.floats(0.01, 12))
        sends.append({"transfer_id": i, "path": path, "nbytes": draw(st.integers(1, 10**6)),
                      "end_s": end, "hops": path.count(">")})
    transfers = pd.DataFrame(sends, columns=["transfer_id", "path", "nbytes", "end_s", "hops"])
    per_bit = {frozenset(("n1", "server")): 1e-8, frozenset(("n2", "server")): 1e-7,
               frozenset(("n3", "server")): 0.0}
    carried: dict[tuple[str, str], int] = {}
    for path, nbytes in zip(transfers["path"], transfers["nbytes"], strict=True):
        hops = path.split(">")
        for hop in itertools.pairwise(hops):
            carried[hop] = carried.get(hop, 0) + int(nbytes)
    links = pd.DataFrame([{"src": s, "dst": d, "bytes": b,
                           "energy_j": 8 * b * per_bit[frozenset((s, d))]}
                          for (s, d), b in carried.items()],
                         columns=["src", "dst", "bytes", "energy_j"])
    count = draw(st.integers(1, 8))
    times = np.cumsum([draw(st.floats(0.01, 2)) for _ in range(count)])
    rounds = list(range(1, count + 1))
    if round_zero if round_zero is not None else draw(st.booleans()):
        times, rounds = np.concatenate([[0.0], times]), [0, *rounds]
    accuracy = [draw(st.floats(0, 1)) for _ in rounds]
    ends = transfers["end_s"].to_numpy(float)
    sizes = transfers["nbytes"].to_numpy(float)
    frame = pd.DataFrame({
        "round": rounds, "step": 0, "sim_time_s": times, "accuracy": accuracy,
        "perplexity": [math.exp(3 * (1 - a)) for a in accuracy],
        "cum_total_bytes": [sizes[ends <= t].sum() for t in times],
        "cum_link_bytes": [(sizes * transfers["hops"].to_numpy(float))[ends <= t].sum()
                           for t in times]})
    return {"rounds": frame, "computes": computes, "nodes": nodes, "links": links,
            "transfers": transfers}


def _accuracy(value: float) -> QualityTarget:
    return QualityTarget(accuracy=value)


@settings(max_examples=60, deadline=None)
@given(run_tables(), st.floats(0, 1))
def test_nan_exactly_when_never_reached(tables: dict[str, pd.DataFrame],
                                        target: float) -> None:
    cost = cost_to_target(tables, _accuracy(target))
    reached = bool((tables["rounds"]["accuracy"] >= target).any())
    assert cost.reached == reached
    values = [getattr(cost, name) for name in ("round", "step", *COSTS)]
    assert all(math.isnan(v) for v in values) != reached
    if reached:
        assert tables["rounds"].loc[first_reaching(tables["rounds"], _accuracy(target)),
                                    "accuracy"] >= target


@settings(max_examples=60, deadline=None)
@given(run_tables(), st.floats(0, 1), st.floats(0, 1))
def test_a_lower_accuracy_target_never_costs_more(tables: dict[str, pd.DataFrame],
                                                  a: float, b: float) -> None:
    low, high = sorted((a, b))
    easy, hard = cost_to_target(tables, _accuracy(low)), cost_to_target(tables, _accuracy(high))
    if hard.reached:
        assert easy.reached
        for name in COSTS:
            assert getattr(easy, name) <= getattr(hard, name) * (1 + 1e-12) + 1e-12, name


@settings(max_examples=60, deadline=None)
@given(run_tables(), st.floats(1, 25), st.floats(1, 25))
def test_a_higher_perplexity_target_never_costs_more(tables: dict[str, pd.DataFrame],
                                                     a: float, b: float) -> None:
    hard_value, easy_value = sorted((a, b))
    easy = cost_to_target(tables, QualityTarget(perplexity=easy_value))
    hard = cost_to_target(tables, QualityTarget(perplexity=hard_value))
    assert easy.reached == bool((tables["rounds"]["perplexity"] <= easy_value).any())
    if hard.reached:
        assert easy.reached and easy.sim_time_s <= hard.sim_time_s
        assert easy.energy_j <= hard.energy_j * (1 + 1e-12) + 1e-12


@settings(max_examples=40, deadline=None)
@given(run_tables(round_zero=True), st.data())
def test_a_target_the_initial_model_meets_costs_nothing(tables: dict[str, pd.DataFrame],
                                                        data: st.DataObject) -> None:
    initial = float(tables["rounds"]["accuracy"].iloc[0])
    cost = cost_to_target(tables, _accuracy(data.draw(st.floats(0, initial))))
    assert cost.round == 0
    assert all(getattr(cost, name) == 0 for name in COSTS)


@settings(max_examples=60, deadline=None)
@given(run_tables(), st.floats(0, 20), st.floats(0, 20))
def test_spending_never_falls_with_time(tables: dict[str, pd.DataFrame], a: float,
                                        b: float) -> None:
    early, late = sorted((a, b))
    (e1, f1), (e2, f2) = spent_until(tables, early), spent_until(tables, late)
    assert f1 <= f2 and e1 <= e2 * (1 + 1e-12) + 1e-12


@settings(max_examples=40, deadline=None)
@given(run_tables())
def test_spending_by_the_end_is_the_ledger_total(tables: dict[str, pd.DataFrame]) -> None:
    # The ledger's totals (`Ledger._nodes`, `_links`): every job's FLOPs at its node's
    # price, idle power over the run's length less the node's busy time, links' energy.
    computes, nodes = tables["computes"], tables["nodes"].set_index("node")
    end = max([*computes["end_s"], *tables["transfers"]["end_s"], 0.0])
    busy = (computes["end_s"] - computes["start_s"]).groupby(computes["node"]).sum()
    expected = float(tables["links"]["energy_j"].sum())
    for node, row in nodes.iterrows():
        mine = computes[computes["node"] == node]
        expected += float(mine["flops"].sum()) * row["energy_per_flop_j"]
        expected += max(0.0, end - float(busy.get(node, 0.0))) * row["idle_power_w"]
    energy, flops = spent_until(tables, end)
    assert energy == pytest.approx(expected, rel=1e-9, abs=1e-12)
    assert flops == pytest.approx(float(computes["flops"].sum()), rel=1e-12)


def test_the_first_of_equal_evaluations_counts() -> None:
    rounds = pd.DataFrame({"round": [1, 1, 2], "step": [0, 1, 0],
                           "sim_time_s": [1.0, 2.0, 3.0], "accuracy": [0.2, 0.9, 0.95],
                           "perplexity": math.nan, "cum_total_bytes": [10, 20, 30],
                           "cum_link_bytes": [20, 40, 60]})
    empty = pd.DataFrame(columns=["node", "start_s", "end_s", "flops"])
    tables = {"rounds": rounds, "computes": empty,
              "nodes": pd.DataFrame({"node": ["a"], "energy_per_flop_j": [0.0],
                                     "idle_power_w": [1.0]}),
              "links": pd.DataFrame(columns=["src", "dst", "bytes", "energy_j"]),
              "transfers": pd.DataFrame(columns=["path", "nbytes", "end_s"])}
    cost = cost_to_target(tables, _accuracy(0.9))
    assert (cost.round, cost.step, cost.sim_time_s, cost.total_bytes, cost.link_bytes) \
        == (1, 1, 2.0, 20, 40)
    assert cost.energy_j == 2.0  # one idle watt for two seconds
    assert tuple(cost.columns()) == TARGET_COLUMNS
    assert cost.columns()["target"] == "accuracy >= 0.9"
    # A measured quality of NaN (cost-only) never meets a target.
    assert not cost_to_target({**tables, "rounds": rounds.assign(accuracy=math.nan)},
                              _accuracy(0.0)).reached


@pytest.mark.parametrize(("given_", "message"), [
    ({}, "give exactly one of accuracy or perplexity"),
    ({"accuracy": 0.9, "perplexity": 20.0}, "give exactly one of accuracy or perplexity"),
    ({"accuracy": 1.5}, "less than or equal to 1"),
    ({"accuracy": -0.1}, "greater than or equal to 0"),
    ({"perplexity": 0.5}, "greater than or equal to 1"),
    ({"perplexity": math.inf}, "finite"),
    ({"accuracy": "high"}, "valid number"),
])
def test_bad_targets_are_refused(given_: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        QualityTarget.model_validate(given_)


def test_target_reads_its_metric() -> None:
    assert QualityTarget(accuracy=0.9).describe() == "accuracy >= 0.9"
    assert QualityTarget(perplexity=30.0).describe() == "perplexity <= 30"
    assert QualityTarget(perplexity=30.0).metric == "perplexity"
    assert scenario_metric("causal_lm", "train") == "perplexity"
    assert scenario_metric("digits_cnn", "train") == "accuracy"
    assert scenario_metric("digits_cnn", "cost_only") is None
    assert isinstance(CostToTarget, type)
