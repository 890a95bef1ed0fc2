"""``snakesim report RUN_DIR...``: one HTML page comparing finished runs side by side.

The page holds a table with one column per run (the headline figures `snakesim run`
prints, plus energy and outages), the quality-versus-cost figure of all runs, each run's
timeline and network figures, and each run's resolved scenario, folded away.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from snakesim.analysis.html_page import embed, folded, page, write_atomically
from snakesim.analysis.plots import runs_figure
from snakesim.analysis.report import summary_rows
from snakesim.analysis.timeline import timeline_figure
from snakesim.analysis.topology_plot import topology_figure
from snakesim.experiments.store import SCENARIO, read_summary
from snakesim.units import Dimension, format_quantity


def side_by_side(summaries: Sequence[dict[str, Any]]) -> str:
    """An HTML table: one row per headline figure, one column per run."""
    columns = [_rows(s) for s in summaries]
    names = list(dict.fromkeys(name for rows in columns for name, _ in rows))
    head = "".join(f"<th>{html.escape(str(s['run_id']))}<br>"
                   f"<span class=\"muted\">{html.escape(str(s['strategy']))}</span></th>"
                   for s in summaries)
    body = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{html.escape(dict(rows).get(name, 'n/a'))}</td>" for rows in columns)
        + "</tr>" for name in names)
    return (f'<div class="scroll"><table class="runs"><tr><th></th>{head}</tr>{body}'
            "</table></div>")


def _rows(summary: dict[str, Any]) -> list[tuple[str, str]]:
    energy = summary.get("energy_j")
    return [("scenario", str(summary.get("scenario", ""))), ("seed", str(summary.get("seed", ""))),
            *summary_rows(summary),
            ("energy", "n/a" if energy is None
             else format_quantity(float(energy), Dimension.ENERGY)),
            ("outage intervals", str(summary.get("outage_events", 0)))]


def run_figures(run_dirs: Sequence[Path]) -> list[tuple[str, Figure]]:
    """The page's figures with their captions: all runs' curves, then per run its
    timeline and its network."""
    figures = [("quality vs cost, all runs", runs_figure(run_dirs))]
    for run_dir in run_dirs:
        name = f"{read_summary(run_dir)['run_id']} ({run_dir.name})"
        figures += [(f"{name}: timeline", timeline_figure(run_dir)),
                    (f"{name}: bytes per link",
                     topology_figure(run_dir, f"bytes per link: {name}"))]
    return figures


def write_run_report(run_dirs: Sequence[Path], out: Path | None = None) -> Path:
    """Write one self-contained HTML page comparing ``run_dirs``.

    Parameters
    ----------
    run_dirs
        Folders written by ``snakesim run`` (each with ``summary.json``).
    out
        The HTML file [default: ``<first run>/report.html``].

    Returns
    -------
    Path
        The page written.
    """
    summaries = [read_summary(d) for d in run_dirs]
    images = [embed(caption, figure) for caption, figure in run_figures(run_dirs)]
    scenarios = "".join(
        folded(f"Scenario of {s['run_id']}",
               f"<pre>{html.escape(_scenario_text(d))}</pre>")
        for d, s in zip(run_dirs, summaries, strict=True))
    title = ", ".join(str(s["run_id"]) for s in summaries)
    body = (f"<h1>{html.escape(title)}</h1><p>{len(summaries)} "
            f"run{'s' * (len(summaries) != 1)}.</p>"
            f"<h2>Summary</h2>{side_by_side(summaries)}"
            f"<h2>Figures</h2>{''.join(images)}<h2>Scenarios</h2>{scenarios}")
    return write_atomically(out or run_dirs[0] / "report.html",
                            page(f"{title}: snakesim runs", body))


def _scenario_text(run_dir: Path) -> str:
    path = run_dir / SCENARIO
    return path.read_text(encoding="utf-8") if path.is_file() else "(scenario.yaml not found)"
