"""The timeline's interval arithmetic: union, and busy spans less down intervals."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from snakesim.sim.ledger import _merge, _subtract

Span = tuple[float, float]
spans = st.lists(st.tuples(st.integers(0, 100), st.integers(1, 30)).map(
    lambda p: (float(p[0]), float(p[0] + p[1]))), max_size=8)


def length(intervals: list[Span]) -> float:
    return sum(b - a for a, b in intervals)


def overlap(a: list[Span], b: list[Span]) -> float:
    return sum(max(0.0, min(y1, y2) - max(x1, x2)) for x1, y1 in a for x2, y2 in b)


@given(spans, spans)
def test_subtract_removes_exactly_the_cut(busy: list[Span], down: list[Span]) -> None:
    busy, down = _merge(busy), _merge(down)
    rest = _subtract(busy, down)
    assert rest == _merge(rest) and all(a < b for a, b in rest)  # disjoint, sorted
    assert overlap(rest, down) == 0  # nothing busy while down
    assert overlap(rest, busy) == length(rest)  # only what was busy
    assert length(rest) == length(busy) - overlap(busy, down)  # and all of it


def test_a_span_cut_in_the_middle_keeps_both_ends() -> None:
    assert _subtract([(0.0, 10.0)], [(2.0, 3.0), (5.0, 6.0)]) == \
        [(0.0, 2.0), (3.0, 5.0), (6.0, 10.0)]
    assert _subtract([(0.0, 1.0)], [(0.0, 1.0)]) == []
