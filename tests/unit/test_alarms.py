"""`Alarms`: items due at one instant share one SimPy event and ring in order."""

from __future__ import annotations

import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.network.alarms import Alarms


@given(delays=st.lists(st.sampled_from([0.0, 0.1, 0.25, 1.0]), min_size=1, max_size=40))
@settings(max_examples=40, deadline=None)
def test_each_item_rings_once_at_its_time_and_one_event_serves_an_instant(
        delays: list[float]) -> None:
    env = simpy.Environment()
    rung: list[tuple[float, int]] = []
    alarms: Alarms[int] = Alarms(env, lambda i: rung.append((env.now, i)))
    for i, delay in enumerate(delays):
        alarms.set(delay, i)
    steps = 0
    while env.peek() < float("inf"):
        env.step()
        steps += 1
    assert steps == len(set(delays))  # one SimPy event per distinct instant
    # Every item once, at its own time; within an instant in the order set.
    assert sorted(rung) == sorted((d, i) for i, d in enumerate(delays))
    assert rung == sorted(rung, key=lambda r: (r[0], r[1]))


def test_an_item_set_while_its_instant_rings_gets_a_new_event() -> None:
    env = simpy.Environment()
    rung: list[str] = []
    alarms: Alarms[str] = Alarms(env, lambda name: (rung.append(name), name == "a"
                                                    and alarms.set(0.0, "b")))
    alarms.set(0.5, "a")
    env.run()
    assert rung == ["a", "b"] and env.now == 0.5
