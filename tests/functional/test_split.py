"""Split Learning and SplitFed on small real runs: traffic, time, memory, learning."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from snakesim.config import validate_scenario
from snakesim.experiments import RunResult
from snakesim.learning.costs.split_costs import SplitCosts
from snakesim.learning.models.stack import digits_cnn
from tests.conftest import run_small, small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

BATCH = 32
CLIENTS = 4
ROUNDS = 2


run = run_small


def latency(ms: int) -> dict[str, Any]:
    return {"links": {"latency": f"{ms} ms", "bandwidth": "100 Mbps"}}


@pytest.fixture(scope="module")
def split() -> RunResult:
    return run({"name": "split"})


@pytest.fixture(scope="module")
def split_p2p() -> RunResult:
    return run({"name": "split", "handoff": "p2p"})


@pytest.fixture(scope="module")
def splitfed() -> RunResult:
    return run({"name": "splitfed"})


def costs(cut: int = 1) -> SplitCosts:
    return SplitCosts(digits_cnn(width=8), (1, 8, 8), cut, "adam", 0.9)


def samples_per_client(result: RunResult) -> pd.Series:
    forwards = result.frames["computes"].query("kind == 'client-forward' and round == 1")
    sums: pd.Series = forwards.groupby("node")["samples"].sum()
    return sums


@pytest.mark.parametrize(("fixture", "handoffs"), [("split", 2 * (ROUNDS * CLIENTS - 1)),
                                                   ("split_p2p", ROUNDS * CLIENTS - 1)])
def test_every_batch_sends_activations_up_and_gradients_down(
        fixture: str, handoffs: int, request: pytest.FixtureRequest) -> None:
    result: RunResult = request.getfixturevalue(fixture)
    t = result.frames["transfers"]
    samples = samples_per_client(result)
    assert samples.sum() == 1347  # every training sample, once per epoch
    batches = {node: math.ceil(n / BATCH) for node, n in samples.items()}
    for kind, src, dst in [("activations", "src", "dst"), ("gradients", "dst", "src")]:
        sent = t.query(f"kind == '{kind}'")
        assert set(sent[dst]) == {"server"}
        assert sent.groupby(["round", src]).size().to_dict() == {
            (r, node): b for r in range(1, ROUNDS + 1) for node, b in batches.items()}
    assert len(t.query("kind == 'handoff'")) == handoffs
    assert len(t.query("kind == 'init'")) == 1
    assert len(t) == 2 * ROUNDS * sum(batches.values()) + handoffs + 1
    jobs = result.frames["computes"].groupby("kind").size()
    assert set(jobs) == {ROUNDS * sum(batches.values())}


def test_activation_bytes_are_batch_times_cut_activation_numel_times_4(split: RunResult) -> None:
    t = split.frames["transfers"]
    numel = 8 * 8 * 8  # conv1 output per sample at width 8: 8 channels x 8 x 8
    full = t.query("kind == 'activations'")["nbytes"].max()
    assert full == BATCH * numel * 4 + BATCH * 8  # + the labels (int64)
    assert t.query("kind == 'gradients'")["nbytes"].max() == BATCH * numel * 4
    samples = samples_per_client(split).sum()
    assert t.query("kind == 'activations'")["nbytes"].sum() == ROUNDS * samples * (numel * 4 + 8)
    assert set(t.query("kind in ['init', 'handoff']")["nbytes"]) == {costs().client_bytes}


def test_each_batch_waits_for_its_round_trip(split: RunResult) -> None:
    c, t = split.frames["computes"], split.frames["transfers"]
    first = t.query("kind == 'activations'").iloc[0]
    forward = c.query("kind == 'client-forward'").iloc[0]
    server = c.query("kind == 'server-step'").iloc[0]
    down = t.query("kind == 'gradients'").iloc[0]
    backward = c.query("kind == 'client-backward'").iloc[0]
    assert first["start_s"] == forward["end_s"]
    assert server["start_s"] == first["end_s"] and down["start_s"] == server["end_s"]
    assert backward["start_s"] == down["end_s"]


def test_split_learning_sends_far_more_bytes_than_snake(split: RunResult,
                                                        snake: RunResult) -> None:
    assert split.summary["total_bytes"] > 20 * snake.summary["total_bytes"]


def test_split_learning_time_grows_with_latency_much_faster_than_snake(
        split: RunResult, snake: RunResult) -> None:
    slow_split = run({"name": "split"}, **latency(25))
    slow_snake = run({"name": "snake", "mode": "p2p"}, **latency(25))
    split_slope = slow_split.summary["sim_time_s"] - split.summary["sim_time_s"]
    snake_slope = slow_snake.summary["sim_time_s"] - snake.summary["sim_time_s"]
    assert snake_slope > 0
    # Each Snake hand-off is a new TCP connection: a handshake and slow-start rounds, a
    # few round trips each (so its slope is several latencies per hand-off, 5.6x below
    # Split Learning's here; over 10x with store-and-forward, which has no round trips).
    assert split_slope > 4 * snake_slope
    # Two latency-bound transfers per batch, plus init and hand-offs, all sequential.
    sends = len(split.frames["transfers"].query("kind != 'handoff'"))
    assert split_slope >= sends * 0.020 * 0.99


def test_split_schemes_do_the_flops_of_whole_model_training(
        split: RunResult, splitfed: RunResult, fedavg: RunResult) -> None:
    assert split.summary["total_flops"] == pytest.approx(fedavg.summary["total_flops"])
    assert splitfed.summary["total_flops"] == pytest.approx(fedavg.summary["total_flops"])


def test_splitfed_v1_is_fedavg_of_the_same_local_training(splitfed: RunResult,
                                                           fedavg: RunResult) -> None:
    # Both sides averaged with per-parameter optimizers: the same model as FedAvg.
    a, b = splitfed.frames["rounds"], fedavg.frames["rounds"]
    assert list(a["accuracy"]) == pytest.approx(list(b["accuracy"]), abs=0.005)
    assert list(a["loss"]) == pytest.approx(list(b["loss"]), rel=1e-4)


def test_splitfed_runs_clients_in_parallel_and_averages_once_per_round(
        splitfed: RunResult, split: RunResult) -> None:
    t = splitfed.frames["transfers"]
    assert t.groupby(["round", "kind"]).size()[(1, "download")] == CLIENTS
    assert t.groupby(["round", "kind"]).size()[(1, "upload")] == CLIENTS
    assert len(splitfed.frames["rounds"]) == 1 + ROUNDS  # round 0 and one row a round
    assert splitfed.summary["sim_time_s"] < split.summary["sim_time_s"]


def test_splitfed_moves_memory_to_the_server(splitfed: RunResult, split: RunResult,
                                             snake: RunResult) -> None:
    nodes = splitfed.frames["nodes"].set_index("node")["peak_memory_bytes"]
    clients = nodes.drop("server")
    snake_max = snake.summary["max_node_peak_memory_bytes"]
    # At cut 1 a client holds conv1 and its activations only: less than a Snake node,
    # which keeps the whole model; the v1 server keeps one server-side copy per client.
    assert (clients == costs().client_memory(BATCH).total).all()
    assert clients.max() < snake_max < nodes["server"]
    one = split.frames["nodes"].set_index("node")["peak_memory_bytes"]["server"]
    server = costs().server_memory(BATCH)
    assert nodes["server"] - one == (CLIENTS - 1) * (server.weights + server.optimizer)
    # A deeper cut puts more of the model on the client.
    assert costs(3).client_memory(BATCH).total > costs(2).client_memory(BATCH).total \
        > clients.max()


@pytest.mark.parametrize("strategy", [{"name": "split", "handoff": "p2p"},
                                      {"name": "splitfed", "cut": 2}])
def test_same_seed_gives_identical_results(strategy: dict[str, Any]) -> None:
    first, second = run(strategy, seed=5), run(strategy, seed=5)
    assert first.summary == second.summary
    for name, frame in first.frames.items():
        pd.testing.assert_frame_equal(frame, second.frames[name])


@pytest.mark.parametrize("name", ["split", "splitfed"])
def test_accuracy_improves_over_rounds_on_iid_data(name: str) -> None:
    training = {"optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 1,
                "rounds": 3}
    result = run({"name": name}, data={"partition": {"kind": "iid"}}, training=training)
    by_round = result.frames["rounds"].groupby("round")["accuracy"].last()
    assert list(by_round.index) == [0, 1, 2, 3]
    assert by_round.is_monotonic_increasing  # from the untrained model on
    assert by_round[3] > by_round[1] + 0.05 and by_round[3] > 0.6


def test_a_cut_beyond_the_model_is_a_configuration_error() -> None:
    from snakesim.errors import SnakesimError

    # Refused by the validator (ScenarioError) or, failing that, when the run is set up
    # (ConfigurationError): either way one located line.
    with pytest.raises(SnakesimError, match=r"strategy\.cut"):
        run({"name": "split", "cut": 5})


def test_split_schemes_need_a_server() -> None:
    from snakesim.errors import ScenarioError

    ring = {"kind": "ring", "nodes": 4}
    with pytest.raises(ScenarioError, match="Split Learning needs a server"):
        validate_scenario(small_scenario({"name": "split"}, topology=ring))
    with pytest.raises(ScenarioError, match="fed_server"):
        validate_scenario(small_scenario({"name": "splitfed", "fed_server": "nowhere"}))
