"""Tests of `snakesim.learning.aggregation`: weighted means of state dicts."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.learning.aggregation import RunningAverage, weighted_average

State = dict[str, torch.Tensor]
FAST = settings(max_examples=50, deadline=None)



def _state(seed: int) -> State:
    g = torch.Generator().manual_seed(seed)
    return {
        "w": torch.randn(3, 4, generator=g),
        "b": torch.randn(4, generator=g),
        "count": torch.tensor(seed, dtype=torch.int64),
    }


weights_st = st.lists(st.floats(1e-3, 1e3), min_size=1, max_size=6)


@FAST
@given(weights=weights_st, seed=st.integers(0, 10_000))
def test_average_of_identical_states_is_the_identity(weights: list[float], seed: int) -> None:
    state = _state(seed)
    out = weighted_average([state] * len(weights), weights)
    assert out.keys() == state.keys()
    for key, value in state.items():
        assert out[key].dtype == value.dtype
        assert torch.equal(out[key], value)


@FAST
@given(weights=weights_st, scale=st.floats(1e-2, 1e2), seed=st.integers(0, 10_000))
def test_scaling_all_weights_changes_nothing(weights: list[float], scale: float,
                                             seed: int) -> None:
    states = [_state(seed + i) for i in range(len(weights))]
    a = weighted_average(states, weights)
    b = weighted_average(states, [w * scale for w in weights])
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=1e-6, atol=1e-6)


def test_matches_hand_computation() -> None:
    s1 = {"w": torch.tensor([1.0, 2.0]), "n": torch.tensor([1])}
    s2 = {"w": torch.tensor([4.0, -1.0]), "n": torch.tensor([7])}
    out = weighted_average([s1, s2], [1.0, 3.0])
    # (1 * [1, 2] + 3 * [4, -1]) / 4 = [13/4, -1/4]
    assert torch.equal(out["w"], torch.tensor([3.25, -0.25]))
    assert out["w"].dtype == torch.float32


@FAST
@given(weights=weights_st, seed=st.integers(0, 10_000))
def test_running_average_equals_batch_average(weights: list[float], seed: int) -> None:
    states = [_state(seed + i) for i in range(len(weights))]
    acc = RunningAverage()
    for state, weight in zip(states, weights, strict=True):
        acc.add(state, weight)
    assert acc.count_weight == pytest.approx(sum(weights))
    running = acc.result(like=states[0])
    batch = weighted_average(states, weights)
    assert running.keys() == batch.keys()
    for key in batch:
        assert torch.equal(running[key], batch[key])


def test_integer_entries_take_the_last_value() -> None:
    states = [_state(s) for s in (3, 5, 9)]
    out = weighted_average(states, [5.0, 1.0, 0.5])
    assert out["count"].dtype == torch.int64
    assert int(out["count"]) == 9


def test_dtypes_follow_like_and_default_to_float32() -> None:
    like = {"h": torch.zeros(3, dtype=torch.float16), "d": torch.zeros(2, dtype=torch.float64)}
    states = [{"h": torch.tensor([1.0, 2.0, 3.0], dtype=torch.float16),
               "d": torch.tensor([0.1, 0.2], dtype=torch.float64)},
              {"h": torch.tensor([3.0, 2.0, 1.0], dtype=torch.float16),
               "d": torch.tensor([0.3, 0.4], dtype=torch.float64)}]
    out = weighted_average(states, [1.0, 1.0])
    assert out["h"].dtype == torch.float16
    assert out["d"].dtype == torch.float64
    assert torch.equal(out["h"], torch.tensor([2.0, 2.0, 2.0], dtype=torch.float16))
    torch.testing.assert_close(out["d"], torch.tensor([0.2, 0.3], dtype=torch.float64))

    acc = RunningAverage()
    for state in states:
        acc.add(state, 1.0)
    assert acc.result(like=like)["h"].dtype == torch.float16
    assert acc.result()["h"].dtype == torch.float32
    assert acc.result()["d"].dtype == torch.float32


def test_adding_does_not_modify_the_inputs() -> None:
    state = _state(1)
    before = {k: v.clone() for k, v in state.items()}
    acc = RunningAverage()
    acc.add(state, 2.0)
    acc.add(state, 1.0)
    acc.result()
    for key in state:
        assert torch.equal(state[key], before[key])


@pytest.mark.parametrize("weight", [0.0, -1.0])
def test_non_positive_weight_raises(weight: float) -> None:
    with pytest.raises(ValueError, match="weight"):
        RunningAverage().add(_state(0), weight)
    with pytest.raises(ValueError):
        weighted_average([_state(0), _state(1)], [1.0, weight])


def test_empty_raises() -> None:
    with pytest.raises(ValueError):
        RunningAverage().result()
    with pytest.raises(ValueError):
        weighted_average([], [])
    with pytest.raises(ValueError):
        weighted_average([_state(0)], [1.0, 2.0])
