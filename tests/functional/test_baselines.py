"""FedAvg's options (client fraction, FedProx) and the centralised and local-only baselines."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from snakesim.config import validate_scenario
from snakesim.experiments import RunResult, run_scenario
from snakesim.sim.world import World
from snakesim.strategies import local as local_module
from snakesim.strategies.base import Context
from snakesim.strategies.fedavg import sample_clients
from tests.conftest import run_small, small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

CLIENTS = ["n1", "n2", "n3", "n4"]
SAMPLE_BYTES = 8 * 8 * 4 + 8  # one float32 1 x 8 x 8 image and its int64 label


run = run_small


# ------------------------------------------------------------------ client fraction
def test_sample_clients_takes_a_floored_fraction_and_at_least_one() -> None:
    rng = np.random.default_rng(0)
    assert sample_clients(CLIENTS, 1.0, rng) == CLIENTS
    assert len(sample_clients(CLIENTS, 0.5, rng)) == 2
    assert len(sample_clients(CLIENTS, 0.74, rng)) == 2
    assert len(sample_clients(CLIENTS, 0.01, rng)) == 1
    ten = [f"c{i}" for i in range(10)]
    assert len(sample_clients(ten, 0.3, rng)) == 3  # 0.3 x 10 is 3.0000000000000004
    chosen = sample_clients(ten, 0.5, rng)
    assert chosen == sorted(chosen, key=ten.index) and len(set(chosen)) == 5


def test_fedavg_fraction_samples_that_many_clients_per_round_from_a_seeded_stream() -> None:
    a = run({"name": "fedavg", "fraction": 0.5}, training={
        "optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 1, "rounds": 3})
    computes = a.frames["computes"]
    per_round = computes.groupby("round")["node"].apply(sorted).to_dict()
    assert [len(nodes) for nodes in per_round.values()] == [2, 2, 2]
    rng = World(3).rng("client-sampling")  # small_scenario's seed, the named stream
    assert per_round == {r: sample_clients(CLIENTS, 0.5, rng) for r in (1, 2, 3)}
    t = a.frames["transfers"]
    assert (t.groupby(["round", "kind"]).size() == 2).all()
    assert set(t["dst"][t["kind"] == "download"]) <= set(CLIENTS)


def test_fedavg_fraction_one_matches_full_participation(fedavg: RunResult) -> None:
    full = run({"name": "fedavg", "fraction": 1.0})
    pd.testing.assert_frame_equal(full.frames["rounds"], fedavg.frames["rounds"])


# -------------------------------------------------------------------------- FedProx
def test_fedprox_with_mu_zero_equals_fedavg_exactly(fedavg: RunResult) -> None:
    prox = run({"name": "fedprox", "mu": 0.0})
    assert prox.summary["strategy"] == "fedprox"
    for name in ("rounds", "transfers", "computes"):
        a = prox.frames[name].drop(columns="strategy")
        b = fedavg.frames[name].drop(columns="strategy")
        pd.testing.assert_frame_equal(a, b)


def test_fedprox_changes_training_and_charges_the_anchor(fedavg: RunResult) -> None:
    prox = run({"name": "fedprox", "mu": 1.0})
    assert not np.allclose(prox.frames["rounds"]["loss"], fedavg.frames["rounds"]["loss"])
    assert prox.summary["total_bytes"] == fedavg.summary["total_bytes"]
    assert (prox.summary["max_node_peak_memory_bytes"]
            > fedavg.summary["max_node_peak_memory_bytes"])


# ---------------------------------------------------------------------- centralised
def test_central_uploads_every_clients_data_once_then_trains_on_the_server(
        fedavg: RunResult) -> None:
    central = run({"name": "central"})
    t = central.frames["transfers"]
    assert set(t["kind"]) == {"data"} and sorted(t["src"]) == CLIENTS
    assert set(t["dst"]) == {"server"} and set(t["round"]) == {0}
    # The real bytes of each client's tensors: the same split FedAvg trains on.
    samples = fedavg.frames["computes"].query("round == 1").set_index("node")["samples"]
    assert t.set_index("src")["nbytes"].to_dict() == (samples * SAMPLE_BYTES).to_dict()
    assert central.summary["total_bytes"] == int(samples.sum()) * SAMPLE_BYTES
    c = central.frames["computes"]
    assert set(c["node"]) == {"server"} and list(c["round"]) == [1, 2]
    assert set(c["samples"]) == {int(samples.sum())}
    assert float(c["start_s"].min()) >= float(t["end_s"].max())
    storage = central.frames["nodes"].set_index("node")["storage_used_bytes"]
    assert storage["server"] > central.summary["total_bytes"]
    assert central.summary["rounds"] == 2 and len(central.frames["rounds"]) == 1 + 2


def test_central_on_a_named_client_keeps_its_own_data() -> None:
    central = run({"name": "central", "node": "n2"})
    t = central.frames["transfers"]
    assert sorted(t["src"]) == ["n1", "n3", "n4"] and set(t["dst"]) == {"n2"}
    assert set(central.frames["computes"]["node"]) == {"n2"}


# ----------------------------------------------------------------------- local-only
def test_local_only_records_the_mean_accuracy_over_nodes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[int, list[tuple[float, float]]] = {}
    current: list[int] = []
    measure, report = Context.measure, local_module.Local._report

    def spy_measure(ctx: Context, state: Any) -> tuple[float, float]:
        result = measure(ctx, state)
        seen.setdefault(current[-1] if current else 0, []).append(result)
        return result

    def spy_report(self: local_module.Local, ctx: Any, state: Any, rnd: int) -> None:
        current.append(rnd)
        report(self, ctx, state, rnd)

    monkeypatch.setattr(Context, "measure", spy_measure)
    monkeypatch.setattr(local_module.Local, "_report", spy_report)
    result = run({"name": "local"})
    rounds = result.frames["rounds"]
    assert list(rounds["round"]) == [0, 1, 2] and set(rounds["node"]) == {"mean"}
    # Round 0: every node starts from the one initial model, evaluated once.
    assert [tuple(rounds.iloc[0][["accuracy", "loss"]])] == seen[0]
    rounds = rounds.query("round >= 1")
    for _, row in rounds.iterrows():
        values = seen[int(row["round"])]
        assert len(values) == 4
        assert row["accuracy"] == pytest.approx(np.mean([a for a, _ in values]))
        assert row["loss"] == pytest.approx(np.mean([loss for _, loss in values]))
    # No traffic; each node trains every round; a round ends with its slowest node.
    assert result.summary["total_bytes"] == 0 and result.frames["transfers"].empty
    c = result.frames["computes"]
    assert sorted(c["node"]) == sorted(CLIENTS * 2)
    ends = c.groupby("round")["end_s"].max()
    assert rounds.set_index("round")["sim_time_s"].to_dict() == pytest.approx(ends.to_dict())


def test_summary_reports_label_heterogeneity(fedavg: RunResult) -> None:
    iid = run({"name": "fedavg"}, data={"partition": {"kind": "iid"}})
    skewed = fedavg.summary["label_heterogeneity"]
    assert 0 <= iid.summary["label_heterogeneity"] < skewed < 1
    shards = run({"name": "local"}, data={"partition": {"kind": "shards", "k": 3}})
    assert shards.summary["label_heterogeneity"] > skewed


def test_fedavg_excludes_clients_that_cannot_hold_the_whole_model() -> None:
    from snakesim.learning.costs.model import CostModel
    from snakesim.learning.models.stack import model_factory

    factory = model_factory("digits_cnn", num_classes=10, width=8)
    full = CostModel(factory, (1, 8, 8), "adam", 0.9).memory(range(5), 32).total
    poor = {"dist": "list", "values": [full - 1, "4 GB", "4 GB", full - 1]}
    data = small_scenario({"name": "fedavg"},
                          training={"rounds": 1, "optimizer": "adam", "lr": 0.003},
                          nodes={"compute": "5 GFLOPS", "memory": poor})
    result = run_scenario(validate_scenario(data))
    assert result.summary["participating_nodes"] == ["n2", "n3"]
    assert result.summary["oom_events"] == 0
    excluded = result.frames["effects"].query("effect == 'excluded'")
    assert sorted(excluded["node"]) == ["n1", "n4"]
    assert set(result.frames["transfers"]["dst"]) == {"n2", "n3", "server"}
    # Snake on the same network gives the memory-poor nodes windows that fit.
    snake = run_scenario(validate_scenario({**data, "strategy": {
        "name": "snake", "assignment": "memory_aware"}}))
    assert snake.summary["participating_nodes"] == ["n1", "n2", "n3", "n4"]


def test_storage_budgets_bind() -> None:

    tight = {"dist": "list", "values": ["10 kB", "1 GB", "1 GB", "1 GB"]}
    data = small_scenario({"name": "fedavg"}, training={"rounds": 1},
                          nodes={"compute": "5 GFLOPS", "storage": tight})
    result = run_scenario(validate_scenario(data))
    assert result.summary["out_of_storage_events"] == 1
    assert result.summary["participating_nodes"] == ["n2", "n3", "n4"]
    effects = result.frames["effects"]
    assert set(effects.query("effect == 'excluded'")["node"]) == {"n1"}
    nodes = result.frames["nodes"].set_index("node")
    assert nodes.loc["n1", "storage_used_bytes"] == 0  # nothing kept beyond the budget
    assert (nodes["storage_used_bytes"] <= nodes["storage_bytes"]).all()
