"""Snake Learning's options for non-IID data: each changes what it should, and only that.

Formulas are checked directly (restricted softmax, logit adjustment, schedules, route
order); the options' wiring on tiny real runs (4 clients, 1-2 passes of digits).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from itertools import pairwise
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.config import validate_scenario
from snakesim.config.strategies import SnakeStrategy
from snakesim.errors import ConfigurationError, ScenarioError
from snakesim.experiments import RunResult, run_scenario
from snakesim.learning.models.stack import init_parameters, model_factory
from snakesim.learning.schedules import schedule_factor
from snakesim.learning.training import TrainConfig, adjusted, batch_loss, train_slice
from snakesim.strategies import routes
from snakesim.strategies.base import Context
from snakesim.strategies.lineage import Lineage
from snakesim.strategies.snake_options import ABSENT_COUNT, distill_group, head_loss
from tests.conftest import small_scenario

FAST = settings(max_examples=40, deadline=None)
ONE_PASS = {"optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 1,
            "rounds": 1}


def run(strategy: dict[str, Any], rounds: int = 1, **changes: Any) -> RunResult:
    data = small_scenario({"name": "snake", **strategy},
                          training={**ONE_PASS, "rounds": rounds}, **changes)
    return run_scenario(validate_scenario(data))


@pytest.fixture
def jobs(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every training job's arguments, in order."""
    seen: list[dict[str, Any]] = []
    original = Context.job

    def record(self: Context, node: str, state: Any, trainable: Sequence[int],
               distill: Any = None, **kwargs: Any) -> Any:
        seen.append({"node": node, "state": state, "trainable": sorted(trainable),
                     "distill": distill, **kwargs})
        return original(self, node, state, trainable, distill, **kwargs)

    monkeypatch.setattr(Context, "job", record)
    return seen


def tiny_model() -> Any:
    model = model_factory("digits_cnn", num_classes=10, width=4)()
    init_parameters(model, torch.Generator().manual_seed(0))
    return model


# ------------------------------------------------------------------ restricted softmax
@pytest.mark.parametrize("alpha", [0.0, 0.5, 1.0])
def test_restricted_softmax_never_raises_an_absent_class_logit(alpha: float) -> None:
    torch.manual_seed(0)
    logits = torch.randn(16, 5, requires_grad=True)
    y = torch.randint(0, 3, (16,))  # the node holds classes 0, 1, 2
    spec = SnakeStrategy(name="snake", head={"policy": "restricted_softmax", "alpha": alpha})
    scale = head_loss(spec, np.bincount(y.numpy(), minlength=5))["logit_scale"]
    assert scale == (1.0, 1.0, 1.0, alpha, alpha)
    cfg = TrainConfig(logit_scale=scale)
    torch.nn.functional.cross_entropy(adjusted(logits, cfg), y).backward()
    assert logits.grad is not None
    absent = logits.grad[:, 3:]
    assert torch.all(absent >= 0)  # a descent step lowers them or leaves them
    if alpha == 0.0:
        assert torch.all(absent == 0)


def test_restricted_softmax_leaves_the_head_rows_of_absent_classes_unchanged() -> None:
    model = tiny_model()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = torch.rand(40, 1, 8, 8)
    y = torch.randint(0, 2, (40,))
    scale = (1.0, 1.0) + (0.0,) * 8
    cfg = TrainConfig(optimizer="sgd", lr=0.1, logit_scale=scale)
    out = train_slice(model, state, [3, 4], x, y, cfg, torch.Generator().manual_seed(1))
    w = out.state["groups.4.weight"]
    assert torch.equal(w[2:], state["groups.4.weight"][2:])
    assert not torch.equal(w[:2], state["groups.4.weight"][:2])
    plain = train_slice(model, state, [3, 4], x, y, TrainConfig(optimizer="sgd", lr=0.1),
                        torch.Generator().manual_seed(1))
    assert not torch.equal(plain.state["groups.4.weight"][2:], state["groups.4.weight"][2:])


# ------------------------------------------------------------------ logit adjustment
@FAST
@given(counts=st.lists(st.integers(0, 500), min_size=2, max_size=12),
       tau=st.floats(0.0, 3.0))
def test_logit_adjustment_shifts_each_logit_by_tau_log_prior(counts: list[int],
                                                             tau: float) -> None:
    spec = SnakeStrategy(name="snake", head={"policy": "logit_adjusted", "tau": tau})
    offset = head_loss(spec, np.asarray(counts))["logit_offset"]
    held = [c if c > 0 else ABSENT_COUNT for c in counts]
    for o, c in zip(offset, held, strict=True):
        assert o == pytest.approx(tau * math.log(c / sum(held)), abs=1e-12)
    logits = torch.randn(3, len(counts), dtype=torch.float64)
    shifted = adjusted(logits, TrainConfig(logit_offset=offset))
    assert torch.allclose(shifted - logits, torch.tensor(offset, dtype=torch.float64)
                          .expand(3, -1))


def test_default_head_policy_changes_nothing() -> None:
    assert head_loss(SnakeStrategy(name="snake"), np.array([3, 0, 1])) == {}
    logits = torch.randn(2, 3)
    assert adjusted(logits, TrainConfig()) is logits


# ------------------------------------------------------------------ schedules
def test_step_schedule_gives_the_documented_factor_per_pass() -> None:
    got = [schedule_factor("step", r, 5, every=2, gamma=0.5) for r in range(1, 6)]
    assert got == [1.0, 1.0, 0.5, 0.5, 0.25]
    assert [schedule_factor("constant", r, 3) for r in (1, 2, 3)] == [1.0] * 3


@FAST
@given(rounds=st.integers(2, 50), final=st.floats(0.0, 1.0))
def test_cosine_schedule_falls_from_one_to_final(rounds: int, final: float) -> None:
    f = [schedule_factor("cosine", r, rounds, final=final) for r in range(1, rounds + 1)]
    assert f[0] == pytest.approx(1.0) and f[-1] == pytest.approx(final)
    assert all(a >= b - 1e-12 for a, b in pairwise(f))
    if rounds % 2 == 1:
        assert f[rounds // 2] == pytest.approx((1 + final) / 2)


def test_lr_schedule_and_local_epochs_reach_every_hop(jobs: list[dict[str, Any]]) -> None:
    schedule = {"kind": "step", "every": 1, "gamma": 0.1}
    result = run({"lr_schedule": schedule, "local_epochs": 2}, rounds=2)
    lrs = [j["changes"].get("lr", 0.003) for j in jobs]
    assert lrs == pytest.approx([0.003] * 4 + [0.0003] * 4)
    assert all(j["changes"]["epochs"] == 2 for j in jobs)
    jobs.clear()
    base = run({}, rounds=2)
    assert all(not j["changes"] for j in jobs)  # the defaults change nothing
    # two epochs per hop: twice the training FLOPs
    assert result.summary["total_flops"] == pytest.approx(2 * base.summary["total_flops"],
                                                          rel=0.02)


# ------------------------------------------------------------------ route order
@FAST
@given(dists=st.lists(st.lists(st.floats(0.0, 1.0), min_size=3, max_size=3),
                      min_size=1, max_size=8))
def test_label_diversity_is_a_greedy_permutation(dists: list[list[float]]) -> None:
    labels = [[v / s for v in d] if (s := sum(d)) > 0 else [1 / 3] * 3 for d in dists]
    nodes = [f"n{i}" for i in range(len(labels))]
    order = routes.label_diversity(nodes, labels)
    assert sorted(order) == sorted(nodes) and order[0] == nodes[0]
    of = {n: labels[i] for i, n in enumerate(nodes)}
    for k in range(1, len(order)):
        chosen = routes.total_variation(of[order[k - 1]], of[order[k]])
        for other in order[k:]:
            assert chosen >= routes.total_variation(of[order[k - 1]], of[other]) - 1e-12


def test_label_diversity_interleaves_two_kinds_of_node() -> None:
    a, b = [1.0, 0.0], [0.0, 1.0]
    order = routes.label_diversity(["a1", "a2", "b1", "b2"], [a, a, b, b])
    assert order == ["a1", "b1", "a2", "b2"]


def test_label_diversity_order_drives_the_route(jobs: list[dict[str, Any]]) -> None:
    run({"order": "label_diversity"}, data={"partition": {"kind": "dirichlet", "alpha": 0.1}})
    route = [j["node"] for j in jobs]
    assert sorted(route) == ["n1", "n2", "n3", "n4"] and route[0] == "n1"
    assert route != ["n1", "n2", "n3", "n4"]  # this seed's label mixes reorder it


# ------------------------------------------------------------------ distillation
def test_a_pass_teacher_is_the_model_at_the_start_of_the_pass(
        jobs: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch) -> None:
    snapshots: list[dict[str, torch.Tensor]] = []
    original = Lineage.latest_state

    def spy(self: Lineage) -> dict[str, torch.Tensor]:
        snapshots.append(original(self))
        return snapshots[-1]

    monkeypatch.setattr(Lineage, "latest_state", spy)
    result = run({"distill": "on", "distill_teacher": "pass"}, rounds=2)
    assert len(snapshots) == 2 and len(jobs) == 8
    for p in range(2):
        first, rest = jobs[4 * p], jobs[4 * p + 1: 4 * p + 4]
        # the first node of the pass received exactly the pass's starting model
        for k, v in first["state"].items():
            assert torch.equal(snapshots[p][k], v)
        assert first["teacher_state"] is None
        assert all(j["teacher_state"] is snapshots[p] for j in rest)
    received = run({"distill": "on"}, rounds=2)
    # the teacher travels with the 3 later hand-offs of each pass, in full
    model = snapshots_bytes(snapshots[0])
    extra = result.summary["total_bytes"] - received.summary["total_bytes"]
    assert extra == 6 * model


def snapshots_bytes(state: dict[str, torch.Tensor]) -> int:
    return sum(v.numel() * v.element_size() for v in state.values())


def test_feature_distillation_matches_the_last_body_group_output() -> None:
    assert distill_group([1, 2, 4], body=[0, 1, 2, 3], n_groups=5) == 2
    assert distill_group([4], body=[0, 1, 2, 3], n_groups=5) == -1
    student, teacher = tiny_model(), tiny_model()
    with torch.no_grad():
        for p in teacher.parameters():
            p.add_(0.1)
    x, y = torch.rand(8, 1, 8, 8), torch.randint(0, 10, (8,))
    cfg = TrainConfig(distill_weight=2.0, distill_group=2)
    got = batch_loss(student, teacher, 1, x, y, cfg)
    h = student.forward_range(x, 0, 1)
    feats = student.forward_range(h, 1, 3)
    ce = torch.nn.functional.cross_entropy(student.forward_range(feats, 3, 5), y)
    mse = torch.nn.functional.mse_loss(feats, teacher.forward_range(h, 1, 3))
    assert float(got.detach()) == pytest.approx(float((ce + 2.0 * mse).detach()), rel=1e-6)


def test_kd_schedules_and_target_reach_the_jobs(jobs: list[dict[str, Any]]) -> None:
    run({"distill": "on", "distill_weight": 2.0, "distill_temperature": 4.0,
         "distill_weight_schedule": {"kind": "step", "gamma": 0.5},
         "distill_temperature_schedule": {"kind": "cosine", "final": 0.25},
         "distill_target": "features"}, rounds=2)
    assert [j["distill"] for j in jobs] == [(2.0, 4.0)] * 4 + [(1.0, 1.0)] * 4
    assert all(j["changes"]["distill_group"] >= -1 for j in jobs)
    assert {j["changes"]["distill_group"] for j in jobs} != {-1}


# ------------------------------------------------------------------ designated head
def test_a_designated_head_is_trained_only_there(jobs: list[dict[str, Any]]) -> None:
    run({"head": {"policy": "designated", "nodes": ["n3"]}, "assignment": "even"})
    heads = {j["node"]: 4 in j["trainable"] for j in jobs}
    assert heads == {"n1": False, "n2": False, "n3": True, "n4": False}


def test_head_options_are_checked_where_they_are_written() -> None:
    bad = [({"head": "designated"}, "nodes"),
           ({"head": {"policy": "everywhere", "tau": 2.0}}, "tau applies to policy"),
           ({"head": {"policy": "designated", "nodes": ["n1"]}, "head_trainable": False},
            "head_trainable"),
           ({"lr_schedule": {"kind": "constant", "gamma": 0.1}}, "gamma does not apply"),
           ({"head": {"policy": "designated", "nodes": ["nowhere"]}}, r"head\.nodes\.0")]
    for strategy, message in bad:
        with pytest.raises(ScenarioError, match=message):
            validate_scenario(small_scenario({"name": "snake", **strategy}))
    route = {"route": ["n1", "n2"], "head": {"policy": "designated", "nodes": ["n3"]}}
    with pytest.raises(ConfigurationError, match=r"strategy\.head\.nodes\.0: not a node "
                       r"of the route"):
        run(route)


# ------------------------------------------------------------------ determinism
def test_every_option_together_is_deterministic_from_the_seed() -> None:
    options = {"order": "label_diversity", "head": "logit_adjusted",
               "lr_schedule": "cosine", "distill": "on", "distill_teacher": "pass"}
    a, b = run(options, rounds=2), run(options, rounds=2)
    assert a.frames["rounds"]["accuracy"].tolist() == b.frames["rounds"]["accuracy"].tolist()
    assert a.summary["total_bytes"] == b.summary["total_bytes"]
    other = run(options, rounds=2, seed=4)
    assert other.frames["rounds"]["accuracy"].tolist() != a.frames["rounds"]["accuracy"].tolist()
    plain = run({"distill": "on"}, rounds=2)
    assert plain.frames["rounds"]["accuracy"].tolist() != a.frames["rounds"]["accuracy"].tolist()


def test_a_teacher_of_its_own_is_charged_its_full_copy_and_forward() -> None:
    from snakesim.learning.costs.model import CostModel
    from snakesim.learning.training import slice_job

    costs = CostModel(model_factory("digits_cnn", num_classes=10, width=4), (1, 8, 8),
                      "adam", 0.9)
    model = tiny_model()
    state = model.state_dict()
    x, y = torch.rand(64, 1, 8, 8), torch.randint(0, 10, (64,))
    kd = TrainConfig(distill_weight=1.0)
    args = (costs, model, state, [3, 4], x, y)
    received = slice_job(*args, kd, torch.Generator(), tiny_model())
    own = slice_job(*args, replace(kd, teacher_from_input=True), torch.Generator(),
                    tiny_model(), teacher_state=state)
    frozen = sum(costs.group_bytes(g) for g in (0, 1, 2))
    assert own.peak_memory_bytes == received.peak_memory_bytes + frozen
    assert own.flops - received.flops == pytest.approx(
        costs.teacher_flops([0], 64, 32, 1) - costs.teacher_flops([3, 4], 64, 32, 1))
