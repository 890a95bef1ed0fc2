"""Figures outside pyplot: no global backend switch, no figure registry.

`pyplot` keeps every figure it makes until closed and draws with the process-wide
backend, so a library that used it would either leak figures or have to switch the
backend of the user's process (``matplotlib.use("Agg")`` on import breaks a user's
interactive session). A bare `matplotlib.figure.Figure` needs neither: it saves to any
file format, shows inline in Jupyter, and is freed like any other object.
"""

from __future__ import annotations

from typing import Any

from matplotlib.figure import Figure


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float],
             **subplot_kw: Any) -> tuple[Figure, Any]:
    """A constrained-layout figure and its axes, as ``pyplot.subplots`` returns them.

    Parameters
    ----------
    nrows, ncols
        The grid of axes.
    figsize
        Width and height in inches.
    **subplot_kw
        Passed to `Figure.subplots` (``sharey``, ``squeeze``, ...).
    """
    fig = Figure(figsize=figsize, layout="constrained")
    return fig, fig.subplots(nrows, ncols, **subplot_kw)
