"""Snake Learning's options on real (small) runs: each does what README.md says, in both modes."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import pytest

from snakesim.config import validate_scenario
from snakesim.errors import ScenarioError
from snakesim.experiments import RunResult, run_scenario
from snakesim.learning.costs.model import CostModel
from snakesim.learning.models.stack import model_factory
from snakesim.strategies.base import Context
from tests.conftest import small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

MODES = ["p2p", "cs"]
LEARNABLE = {"data": {"partition": {"kind": "iid"}},
             "training": {"optimizer": "adam", "lr": 0.003, "local_epochs": 2, "rounds": 2}}


def costs() -> CostModel:
    return CostModel(model_factory("digits_cnn", num_classes=10, width=8), (1, 8, 8), "adam", 0.9)


def run(strategy: dict[str, Any], **changes: Any) -> RunResult:
    return run_scenario(validate_scenario(small_scenario({"name": "snake", **strategy},
                                                         **changes)))


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, list[int], int]]:
    """Every training job as ``(node, trainable groups, peak memory)``, in order."""
    seen: list[tuple[str, list[int], int]] = []
    original = Context.job

    def record(self: Context, node: str, state: Any, trainable: Sequence[int],
               *args: Any, **kwargs: Any) -> Any:
        job = original(self, node, state, trainable, *args, **kwargs)
        seen.append((node, sorted(trainable), job.peak_memory_bytes))
        return job

    monkeypatch.setattr(Context, "job", record)
    return seen


@functools.cache
def learnable(mode: str) -> RunResult:
    """The default run on a learnable (IID) configuration, shared by several tests."""
    return run({"mode": mode}, **LEARNABLE)


def handoffs(result: RunResult) -> list[int]:
    return list(result.frames["transfers"].query("kind == 'handoff'")["nbytes"])


# ------------------------------------------------------------------------- route
def test_by_compute_visits_the_fastest_first(jobs: list[tuple[str, list[int], int]]) -> None:
    result = run({"order": "by_compute"}, training={"rounds": 1})
    assert list(result.frames["computes"]["node"]) == ["n4", "n3", "n2", "n1"]
    assert set(result.frames["transfers"].query("kind == 'init'")["src"]) == {"n4"}


def test_shortest_tour_follows_the_cheap_links() -> None:
    # A ring whose given order zig-zags across slow links; the tour goes round.
    names = ["a", "c", "b", "d"]
    ring = [("a", "b"), ("b", "c"), ("c", "d"), ("d", "a")]
    edges = [{"between": list(e), "latency": "1 ms"} for e in ring]
    edges += [{"between": ["a", "c"], "latency": "50 ms"}, {"between": ["b", "d"],
                                                            "latency": "50 ms"}]
    topology = {"kind": "explicit", "nodes": names, "edges": edges}
    result = run({"order": "shortest_tour"}, topology=topology, training={"rounds": 1})
    assert list(result.frames["computes"]["node"]) in (["a", "b", "c", "d"],
                                                        ["a", "d", "c", "b"])
    assert (result.frames["transfers"].query("kind == 'handoff'")["hops"] == 1).all()


# -------------------------------------------------------------------- assignment
@pytest.mark.parametrize("mode", MODES)
def test_explicit_map_is_respected_and_unlisted_nodes_skipped(
        mode: str, jobs: list[tuple[str, list[int], int]]) -> None:
    assignment = {"kind": "explicit", "map": {"n1": [0, 1], "n2": [2], "n4": [3]}}
    result = run({"mode": mode, "assignment": assignment})
    excluded = result.frames["effects"].query("effect == 'excluded'")
    assert list(excluded["node"]) == ["n3"]
    assert result.summary["participating_nodes"] == ["n1", "n2", "n4"]
    assert [(n, w) for n, w, _ in jobs] == [("n1", [0, 1, 4]), ("n2", [2, 4]),
                                           ("n4", [3, 4])] * 2
    assert "n3" not in set(result.frames["transfers"]["dst"])


def test_even_assignment_ignores_compute(jobs: list[tuple[str, list[int], int]]) -> None:
    run({"assignment": "even"}, training={"rounds": 1})
    assert [w for _, w, _ in jobs] == [[0, 4], [1, 4], [2, 4], [3, 4]]


@pytest.mark.parametrize("mode", MODES)
def test_memory_aware_windows_fit_their_budgets(
        mode: str, jobs: list[tuple[str, list[int], int]]) -> None:
    c = costs()
    one = c.memory([0, 4], 32).total  # the input group is the heaviest to train (activations)
    budgets = [c.memory([3, 4], 32).total - 1, one, c.memory([0, 1, 2, 3, 4], 32).total, one]
    nodes = {"compute": "10 GFLOPS", "memory": {"dist": "list", "values": budgets}}
    result = run({"mode": mode, "assignment": "memory_aware"}, nodes=nodes)
    excluded = result.frames["effects"].query("effect == 'excluded'")
    assert list(excluded["node"]) == ["n1"]
    assert "memory" in excluded["element"].iloc[0]
    assert result.summary["oom_events"] == 0
    budget = dict(zip(["n1", "n2", "n3", "n4"], budgets, strict=True))
    assert jobs and all(peak <= budget[node] for node, _, peak in jobs)
    assert [(n, w) for n, w, _ in jobs[:3]] == [("n2", [0, 4]), ("n3", [1, 2, 3, 4]),
                                               ("n4", [0, 4])]
    assert "n1" not in set(result.frames["computes"]["node"])


def test_explicit_group_out_of_range_is_a_located_error() -> None:
    # Known from the model spec alone: refused by the validator, not the run.
    with pytest.raises(ScenarioError, match=r"strategy.assignment.map.n2.0: .*got 9"):
        run({"assignment": {"kind": "explicit", "map": {"n2": [9]}}})


def test_cross_references_are_checked() -> None:
    with pytest.raises(ScenarioError) as err:
        validate_scenario(small_scenario({"name": "snake", "assignment": {
            "kind": "explicit", "map": {"n9": [0], "server": [1]}}, "window": "sliding"}))
    text = str(err.value)
    assert "strategy.assignment.map.n9: unknown node" in text
    assert "strategy.assignment.map.server: must name a node of the route" in text
    assert "strategy.assignment: applies to window kind fixed only" in text


# ----------------------------------------------------- first/last, direction, window
def test_input_and_head_trainable_at_every_node(jobs: list[tuple[str, list[int], int]]) -> None:
    run({"input_trainable": True}, training={"rounds": 1})
    assert all({0, 4} <= set(w) for _, w, _ in jobs)
    assert sorted({g for _, w, _ in jobs for g in w}) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("mode", MODES)
def test_alternate_direction_reverses_every_other_pass(mode: str) -> None:
    result = run({"mode": mode, "direction": "alternate"}, training={"rounds": 3})
    assert list(result.frames["computes"]["node"]) == ["n1", "n2", "n3", "n4",
                                                       "n4", "n3", "n2", "n1",
                                                       "n1", "n2", "n3", "n4"]
    if mode == "p2p":  # the turning node trains twice in a row: no hand-off there
        assert len(handoffs(result)) == 3 * 3


def test_sliding_window_moves_one_group_per_hop(jobs: list[tuple[str, list[int], int]]) -> None:
    run({"window": {"kind": "sliding", "width": 2}}, training={"rounds": 2})
    bodies = [[g for g in w if g != 4] for _, w, _ in jobs]
    # The window counts hops across passes: starts 0, 1, 2, then back to the input.
    assert bodies == [[0, 1], [1, 2], [2, 3]] * 2 + [[0, 1], [1, 2]]


def test_sliding_window_wider_than_the_body_is_an_error() -> None:
    with pytest.raises(ScenarioError, match=r"strategy\.window\.width"):
        run({"window": {"kind": "sliding", "width": 5}})


# -------------------------------------------------------------------------- send
@pytest.mark.parametrize("mode", MODES)
def test_send_whole_moves_the_model_every_hop(mode: str) -> None:
    result = run({"mode": mode, "send": "whole"})
    t = result.frames["transfers"]
    assert set(t["nbytes"]) == {costs().model_bytes()}


@pytest.mark.parametrize("mode", MODES)
def test_send_trainable_moves_exactly_the_trained_groups(
        mode: str, jobs: list[tuple[str, list[int], int]]) -> None:
    result = run({"mode": mode, "send": "trainable"})
    c = costs()
    sizes = [sum(c.group_bytes(g) for g in w) for _, w, _ in jobs]
    sent = handoffs(result)
    if mode == "p2p":  # n1 starts; every later hop receives what the previous node trained
        assert sent == sizes[:-1]
    else:  # the server forwards what the previous node uploaded; nothing before the first
        assert sent == [0, *sizes[:-1]]
        assert list(result.frames["transfers"].query("kind == 'upload'")["nbytes"]) == sizes


def test_send_changed_is_the_default_and_least() -> None:
    changed, trainable = run({}), run({"send": "trainable"})
    assert changed.summary["total_bytes"] >= trainable.summary["total_bytes"]
    assert changed.summary["total_bytes"] < run({"send": "whole"}).summary["total_bytes"]


# ------------------------------------------------------------------ frozen dtype
@pytest.mark.parametrize("mode", MODES)
def test_fp16_halves_frozen_weights_and_changes_accuracy_slightly(mode: str) -> None:
    fp32 = learnable(mode)
    fp16 = run({"mode": mode, "frozen_dtype": "fp16"}, **LEARNABLE)
    c = costs()
    # n1 trains groups 0 and 4 (lowest compute, one group); its frozen groups are 1..3.
    frozen = sum(c.group_bytes(g) for g in (1, 2, 3))
    for key in ("peak_memory_bytes", "storage_used_bytes"):
        a = fp32.frames["nodes"].set_index("node")[key]
        b = fp16.frames["nodes"].set_index("node")[key]
        assert a["n1"] - b["n1"] == frozen // 2
    assert fp16.summary["total_bytes"] < fp32.summary["total_bytes"]
    assert fp32.summary["final_accuracy"] > 0.6 and fp16.summary["final_accuracy"] > 0.6
    assert fp16.frames["rounds"]["accuracy"].tolist() != fp32.frames["rounds"][
        "accuracy"].tolist()
    assert abs(fp16.summary["final_accuracy"] - fp32.summary["final_accuracy"]) < 0.1


def test_int8_frozen_groups_travel_at_a_byte_per_weight() -> None:
    result = run({"frozen_dtype": "int8"}, training={"rounds": 1})
    init = result.frames["transfers"].query("kind == 'init' and dst == 'n2'")
    c = costs()
    # n2 trains group 1 and the head at full precision; groups 0, 2, 3 arrive as int8.
    assert int(init["nbytes"].iloc[0]) == (c.group_bytes(1) + c.group_bytes(4) + sum(
        c.group_bytes(g, "int8") for g in (0, 2, 3)))


# ---------------------------------------------------------------------- KD, stop
def test_distill_auto_follows_label_heterogeneity() -> None:
    one = {"rounds": 1, "optimizer": "adam", "lr": 0.003}
    skewed = {"data": {"partition": {"kind": "dirichlet", "alpha": 0.1}}, "training": one}
    iid = {"data": {"partition": {"kind": "iid"}}, "training": one}
    for data, expect_on in ((skewed, True), (iid, False)):
        auto = run({"distill": "auto"}, **data)
        on = run({"distill": "on" if expect_on else "off"}, **data)
        assert auto.summary["total_flops"] == on.summary["total_flops"]


@pytest.mark.parametrize("mode", MODES)
def test_target_accuracy_stops_after_the_first_hop_that_reaches_it(mode: str) -> None:
    full = learnable(mode)
    acc = full.frames["rounds"].query("round >= 1")["accuracy"].tolist()  # after each hop
    target = acc[4]  # reached no later than hop 5
    first = next(i for i, a in enumerate(acc) if a >= target)
    stopped = run({"mode": mode, "target_accuracy": target}, **LEARNABLE)
    hops = stopped.frames["rounds"].query("round >= 1")
    assert hops["accuracy"].tolist() == pytest.approx(acc[:first + 1])
    assert len(stopped.frames["computes"]) == first + 1 < len(acc)
