"""Readable axes: scales, unit-prefixed tick labels, and no overlapping labels.

A log axis over less than a decade labels its minor ticks (``2.8e5, 3e5, 3.2e5 ...``),
which collide; long category labels collide too. `set_scale` picks log only where the
values span a decade and labels ticks with SI prefixes (``300 kB``, ``40 ms``);
`thin_tick_labels` hides, after a draw, every tick label that would overlap one already
kept (major ticks first), so a figure never prints labels over each other.
"""

from __future__ import annotations

import textwrap

import numpy as np
from matplotlib.axes import Axes
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.text import Text
from matplotlib.ticker import EngFormatter, LogLocator, MaxNLocator, NullFormatter
from matplotlib.transforms import Bbox

DECADE = 10.0
"""Values spanning at least this ratio get a log axis (when log is preferred)."""


def set_scale(ax: Axes, axis: str, values: np.ndarray, preferred: str = "log",
              unit: str | None = None) -> str:
    """Set the scale and tick labels of ``ax``'s ``axis`` (``"x"`` or ``"y"``).

    Parameters
    ----------
    ax
        The axes.
    axis
        ``"x"`` or ``"y"``.
    values
        The values drawn along that axis (NaN allowed).
    preferred
        ``"log"`` or ``"linear"``: log is used only if every finite value is positive
        and they span at least `DECADE`.
    unit
        Tick labels get SI prefixes and this unit (``"B"``, ``"s"``; ``""``: prefix
        only); None keeps matplotlib's labels.

    Returns
    -------
    str
        The scale set.
    """
    finite = values[np.isfinite(values)]
    positive = finite[finite > 0]
    log = (preferred == "log" and len(positive) and len(positive) == len(finite)
           and positive.max() / positive.min() >= DECADE)
    scale = "log" if log else "linear"
    target = ax.xaxis if axis == "x" else ax.yaxis
    (ax.set_xscale if axis == "x" else ax.set_yscale)(scale)
    # Under three decades a log axis has one or two labelled powers of ten: label the
    # 2x and 5x ticks too (when there is a unit to print them with).
    few = bool(log) and positive.max() / positive.min() < 1000 and unit is not None
    if log:
        target.set_major_locator(LogLocator(base=10, numticks=8))
        if few:
            target.set_minor_locator(LogLocator(base=10, subs=(2.0, 5.0), numticks=8))
    else:
        target.set_major_locator(MaxNLocator(nbins=6))
    if unit is not None:
        target.set_major_formatter(EngFormatter(unit=unit, places=None, sep=" "))
    target.set_minor_formatter(EngFormatter(unit=unit or "", places=None, sep=" ") if few
                               else NullFormatter())
    return scale


def wrap(text: str, width: int) -> str:
    """``text`` wrapped onto lines of at most ``width`` characters (titles, labels)."""
    return textwrap.fill(text, width, break_on_hyphens=False, break_long_words=False)


def thin_tick_labels(fig: Figure) -> None:
    """Hide tick labels that overlap another, keeping major labels before minor ones.

    Draws ``fig`` once to measure the labels; labels hidden here stay hidden when the
    figure is saved at another resolution (text scales with it).
    """
    # A bare Figure has no renderer of its own: measure with Agg (savefig picks its
    # canvas per file format anyway).
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    canvas.draw()  # type: ignore[no-untyped-call]
    renderer = canvas.get_renderer()  # type: ignore[no-untyped-call]
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            kept: list[Bbox] = []
            for minor in (False, True):
                for tick in drawn_tick_labels(axis, minor):
                    box = tick.get_window_extent(renderer).expanded(1.05, 1.0)
                    if any(box.overlaps(other) for other in kept):
                        tick.set_visible(False)
                    else:
                        kept.append(box)


def drawn_tick_labels(axis: Axis, minor: bool = False) -> list[Text]:
    """The tick labels ``axis`` draws: visible, not empty, inside its view limits.

    ``Axis.get_ticklabels`` also returns the labels of ticks just outside the limits,
    which are never drawn.
    """
    lo, hi = sorted(axis.get_view_interval())
    ticks = axis.get_minor_ticks() if minor else axis.get_major_ticks()
    locs = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
    slack = 1e-9 * (hi - lo)
    return [tick.label1 for tick, loc in zip(ticks, locs, strict=False)
            if lo - slack <= loc <= hi + slack and tick.label1.get_visible()
            and tick.label1.get_text()]
