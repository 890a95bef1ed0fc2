"""The TCP fluid model's single-flow formula: properties that any such model must keep."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from snakesim.network.tcp import TcpSettings, single_flow_time

DEFAULT = TcpSettings()
rates = st.floats(1e5, 1e11)
latencies = st.floats(1e-5, 0.3)
sizes = st.integers(1, 10**9)


@given(nbytes=sizes, rate=rates, latency=latencies)
def test_never_faster_than_a_fluid_pipe(nbytes: int, rate: float, latency: float) -> None:
    ideal = nbytes * 8 / (rate * DEFAULT.payload_fraction) + latency
    assert single_flow_time(nbytes, [(rate, latency)], DEFAULT) >= ideal * (1 - 1e-12)


@given(nbytes=sizes, extra=st.integers(1, 10**7), rate=rates, latency=latencies)
def test_more_bytes_never_arrive_sooner(nbytes: int, extra: int, rate: float,
                                        latency: float) -> None:
    path = [(rate, latency)]
    assert single_flow_time(nbytes + extra, path, DEFAULT) >= single_flow_time(
        nbytes, path, DEFAULT)


@given(nbytes=sizes, rate=rates, factor=st.floats(1.0, 100.0), latency=latencies)
def test_more_bandwidth_never_slows_a_flow(nbytes: int, rate: float, factor: float,
                                           latency: float) -> None:
    slow = single_flow_time(nbytes, [(rate, latency)], DEFAULT)
    assert single_flow_time(nbytes, [(rate * factor, latency)], DEFAULT) <= slow * (1 + 1e-9)


@given(nbytes=sizes, rate=rates, latency=latencies)
def test_the_handshake_costs_one_round_trip(nbytes: int, rate: float, latency: float) -> None:
    path = [(rate, latency)]
    total = single_flow_time(nbytes, path, DEFAULT)
    gap = total - single_flow_time(nbytes, path, DEFAULT, connected=True)
    assert gap == pytest.approx(2 * latency, abs=1e-12 * total)


def test_small_buffers_cap_a_long_fat_pipe_at_window_over_rtt() -> None:
    small = TcpSettings(buffer_bytes=131072)
    seconds = single_flow_time(10**9, [(1e9, 0.05)], small)
    assert 10**9 * 8 / seconds == pytest.approx(131072 * 8 / 0.1, rel=0.01)
    assert single_flow_time(10**9, [(1e9, 0.05)], DEFAULT) < seconds / 10


def test_slow_start_doubles_the_window_every_round_trip() -> None:
    # 10 + 20 + 40 segments: 70 segments take three windows on a path whose pipe holds
    # far more (1 Gbit/s x 100 ms), so two full round trips pass before the third burst.
    s = TcpSettings(handshake=False)
    one_way = 0.05
    seg = (s.mss + s.header_bytes) * 8
    time = single_flow_time(70 * s.mss, [(1e9, one_way)], s)
    clock = 2 * one_way + seg / 1e9
    assert time == pytest.approx(2 * clock + 40 * s.mss * 8 / (1e9 * s.payload_fraction)
                                 + one_way, rel=1e-12)


def test_routers_forward_whole_packets() -> None:
    s = TcpSettings()
    one = single_flow_time(10**6, [(1e8, 0.005)], s, connected=True)
    three = single_flow_time(10**6, [(1e8, 0.005 / 3)] * 3, s, connected=True)
    seg = (s.mss + s.header_bytes) * 8 / 1e8
    # The same propagation delay and bottleneck; two more hops that store each packet
    # add two segment times to the data path and to each of the four ACK clocks waited
    # for (windows of 10, 20, 40 and 80 segments fall short of the 86-segment pipe).
    assert three > one and math.isclose(three - one, 2 * seg * (1 + 4), rel_tol=1e-6)
