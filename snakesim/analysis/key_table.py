"""The key columns of a sweep, one row per point, mean ± std over its seeds.

The raw ``summary.parquet`` has some 40 columns; a reader comparing schemes wants the
strategy, the swept values, the quality and the main costs. `key_table` picks those and
aggregates the seeds of each point.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from snakesim.analysis.sweep_plots import _floats, _name, _value, series_keys
from snakesim.units import Dimension, format_quantity

KEY_METRICS: tuple[tuple[str, str, Dimension | None], ...] = (
    ("final_accuracy", "final accuracy", None),
    ("final_perplexity", "final perplexity", None),
    ("total_bytes", "payload bytes", Dimension.SIZE),
    ("sim_time_s", "simulated time", Dimension.TIME),
    ("energy_j", "energy", Dimension.ENERGY),
    ("max_node_peak_memory_bytes", "peak node memory", Dimension.SIZE),
)
"""Summary column, header and unit of each aggregated column, in page order."""


def key_table(summary: pd.DataFrame, swept: Sequence[str]) -> pd.DataFrame:
    """One row per point of the sweep (its swept values, seed aside), as text.

    Parameters
    ----------
    summary : pandas.DataFrame
        The sweep's ``summary.parquet``.
    swept : sequence of str
        Its swept columns (`read_sweep`).

    Returns
    -------
    pandas.DataFrame
        Columns ``strategy``, each swept key, ``runs`` (seeds aggregated) and the
        `KEY_METRICS` any run measured, each ``mean ± std`` over the point's runs (the
        sample standard deviation; a lone run shows its value).
    """
    keys = series_keys(summary, swept)
    # Energy is 0 in every run of a scenario without an energy model: not a result.
    metrics = [(c, h, d) for c, h, d in KEY_METRICS
               if c in summary and bool(np.isfinite(_floats(summary[c])).any())
               and not (c == "energy_j" and bool((_floats(summary[c]) == 0).all()))]
    groups = (list(summary.groupby(keys, sort=False, dropna=False)) if keys
              else [((), summary)])
    rows = []
    for _, group in groups:
        row = {"strategy": ", ".join(dict.fromkeys(group["strategy"].astype(str)))}
        row |= {_name(k): _value(group[k].iloc[0]) for k in keys}
        row["runs"] = str(len(group))
        for column, header, dimension in metrics:
            row[header] = mean_std(_floats(group[column]), dimension)
        rows.append(row)
    table: pd.DataFrame = pd.DataFrame(rows)
    return table


def mean_std(values: np.ndarray, dimension: Dimension | None) -> str:
    """``0.684 ± 0.011`` or ``198 kB ± 1.2 kB``; ``n/a`` when nothing was measured."""
    finite = values[np.isfinite(values)]
    if not len(finite):
        return "n/a"
    mean = float(finite.mean())
    if len(finite) == 1:
        return _format(mean, dimension)
    std = float(finite.std(ddof=1))
    return f"{_format(mean, dimension)} ± {_format(std, dimension, digits=2)}"


def _format(value: float, dimension: Dimension | None, digits: int = 4) -> str:
    """A quality to ``digits`` significant figures (its spread to 2), costs with units."""
    if dimension is None:
        return f"{value:.{digits}g}"
    return format_quantity(value, dimension)
