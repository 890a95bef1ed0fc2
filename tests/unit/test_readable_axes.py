"""Readable axes: scales chosen from the data, SI tick labels, no overlapping labels."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text

from snakesim.analysis.axes import drawn_tick_labels, set_scale, thin_tick_labels, wrap
from snakesim.analysis.canvas import subplots


def visible_labels(fig: Figure, draw: bool = True) -> list[list[Text]]:
    """Per axis of every axes: the tick labels that are drawn (after a draw)."""
    if draw:
        FigureCanvasAgg(fig).draw()
    groups = []
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            groups.append([t for minor in (False, True)
                           for t in drawn_tick_labels(axis, minor)])
    return groups


def overlapping(fig: Figure) -> list[tuple[str, str]]:
    """Pairs of drawn tick labels of one axis whose boxes intersect."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    pairs = []
    for labels in visible_labels(fig, draw=False):
        boxes = [(t.get_text(), t.get_window_extent(renderer)) for t in labels]
        for i, (a, box_a) in enumerate(boxes):
            pairs += [(a, b) for b, box_b in boxes[i + 1:] if box_a.overlaps(box_b)]
    return pairs


def test_a_narrow_byte_range_gets_a_linear_axis_with_si_labels() -> None:
    fig, ax = subplots(figsize=(6.5, 4.5))
    values = np.array([2.78e5, 3.0e5, 3.9e5])
    ax.scatter(values, [0.2, 0.4, 0.7])
    assert set_scale(ax, "x", values, "log", "B") == "linear"
    thin_tick_labels(fig)
    labels = [t.get_text() for t in visible_labels(fig)[0]]
    assert len(labels) >= 3 and all(label.endswith(" kB") for label in labels)
    assert not overlapping(fig)


def test_a_wide_range_gets_a_log_axis_with_powers_labelled() -> None:
    fig, ax = subplots(figsize=(6, 4))
    values = np.array([3e-2, 4e-1])
    ax.plot(values, [0, 1])
    assert set_scale(ax, "x", values, "log", "s") == "log"
    thin_tick_labels(fig)
    labels = [t.get_text() for t in visible_labels(fig)[0]]
    assert "100 ms" in labels and len(labels) >= 3  # the 2x and 5x ticks too
    assert not overlapping(fig)
    # Non-positive values cannot go on a log axis; NaN is ignored.
    assert set_scale(ax, "y", np.array([0.0, 5.0, np.nan]), "log", "B") == "linear"


# Each example draws a figure twice (about half a second here): few, but spread wide.
@settings(max_examples=8, deadline=None)
@given(lo=st.floats(1e-6, 1e12), ratio=st.floats(1.01, 1e6),
       width=st.floats(2.0, 8.0), unit=st.sampled_from(["B", "s", "FLOP", ""]))
def test_tick_labels_never_overlap(lo: float, ratio: float, width: float, unit: str) -> None:
    fig, ax = subplots(figsize=(width, 3))
    values = np.array([lo, lo * ratio])
    ax.plot(values, values)
    set_scale(ax, "x", values, "log", unit)
    set_scale(ax, "y", values, "log", unit)
    thin_tick_labels(fig)
    assert not overlapping(fig)
    assert all(len(labels) >= 1 for labels in visible_labels(fig, draw=False))


def test_crowded_category_labels_are_thinned_not_overprinted() -> None:
    fig, ax = subplots(figsize=(3, 3))
    names = [f"a rather long category name {i}" for i in range(12)]
    ax.bar(range(12), range(12))
    ax.set_xticks(range(12), names)
    assert overlapping(fig)  # the problem, before
    thin_tick_labels(fig)
    assert not overlapping(fig)
    assert visible_labels(fig)[0][0].get_text() == names[0]  # the first one is kept


def test_wrap_keeps_words_and_hyphenated_names_whole() -> None:
    text = "snake (distill=on, mode=p2p, assignment=memory-aware-with-a-long-name)"
    lines = wrap(text, 20).splitlines()
    assert " ".join(lines) == text and "assignment=memory-aware-with-a-long-name)" in lines
