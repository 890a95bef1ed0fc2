"""Everything ``snakesim plot SWEEP_DIR`` and ``snakesim report SWEEP_DIR`` produce.

`plot_sweep` writes the sweep's figures as PNG files; `write_report` puts them, the
summary table and the resolved base scenario into one self-contained HTML page.

Quality is accuracy or, for language models, perplexity (`sweep_quality`). Cost-only runs
measure none: their quality figures are skipped, cost bars drawn instead, and the report
says so.
"""

from __future__ import annotations

import html
from pathlib import Path

import pandas as pd
import yaml
from matplotlib.figure import Figure

from snakesim.analysis.cost_bars import cost_figure
from snakesim.analysis.html_page import embed, folded, page, write_atomically
from snakesim.analysis.key_table import key_table
from snakesim.analysis.sweep_plots import (
    curve_figure,
    effect_figure,
    heatmap_figure,
    memory_figure,
    quality_measured,
    sweep_quality,
)
from snakesim.analysis.target_plots import has_target, target_figure
from snakesim.analysis.topology_plot import topology_figure
from snakesim.errors import ResultsError


def read_sweep(sweep_dir: Path) -> tuple[pd.DataFrame, list[str], dict[str, object]]:
    """The summary table, swept columns and sweep spec of a sweep folder."""
    table, spec_file = sweep_dir / "summary.parquet", sweep_dir / "sweep.yaml"
    if not table.is_file() or not spec_file.is_file():
        raise ResultsError(f"{sweep_dir}: not a sweep folder (no summary.parquet/sweep.yaml)")
    summary = pd.read_parquet(table)
    if summary.empty:
        raise ResultsError(f"{sweep_dir}: no finished runs yet")
    # In a sweep of cost-only runs these columns hold only None (object dtype): as NaN
    # floats they aggregate, plot and print like any sweep's missing values.
    for column in _QUALITY_COLUMNS:
        if column in summary:
            summary[column] = pd.to_numeric(summary[column], errors="coerce").astype(float)
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    keys = [*spec.get("grid", {}), *spec.get("zip", {})]
    if "seed" not in keys:
        keys.append("seed")
    swept = [f"{k} (swept)" if f"{k} (swept)" in summary else k for k in keys]
    return summary, swept, spec


_QUALITY_COLUMNS = ("final_accuracy", "best_accuracy", "final_loss", "final_perplexity",
                    "best_perplexity")


def _numeric(summary: pd.DataFrame, key: str) -> bool:
    return bool(pd.to_numeric(summary[key], errors="coerce").notna().all()
                and summary[key].nunique() > 1)


def sweep_figures(sweep_dir: Path) -> dict[str, Figure]:
    """Build every figure of a sweep, keyed by file stem."""
    summary, swept, _ = read_sweep(sweep_dir)
    quality = sweep_quality(summary)
    measured = quality_measured(summary, quality)
    figures: dict[str, Figure] = {}
    if measured.any():
        figures["curves"] = curve_figure(sweep_dir, summary, swept, quality)
        figures["memory"] = memory_figure(summary, swept, quality)
    if not measured.all():  # cost-only runs: their costs are all there is to show
        figures["costs"] = cost_figure(summary, swept)
    if has_target(summary):
        figures["target"] = target_figure(summary, swept)
    varied = [k for k in swept if k != "seed" and summary[k].nunique() > 1]
    numeric = [k for k in varied if _numeric(summary, k)]
    others = [k for k in varied if k not in numeric]
    for key in numeric:
        by = others[0] if len(others) == 1 else None
        figures[f"effect-{key.replace('.', '-')}"] = effect_figure(
            summary, key, by, quality if measured.any() else None)
    if len(varied) == 2:
        metric = quality.final if measured.any() else "max_node_peak_memory_bytes"
        figures["heatmap"] = heatmap_figure(summary, varied[0], varied[1], metric)
    first = summary.iloc[0]
    figures["topology"] = topology_figure(sweep_dir / str(first["run_dir"]),
                                          f"bytes per link: {first['run_dir']}")
    return figures


def plot_sweep(sweep_dir: Path, out_dir: Path | None = None) -> list[Path]:
    """Write the sweep's figures as PNGs (default: into ``sweep_dir/figures``)."""
    target = out_dir or sweep_dir / "figures"
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for stem, figure in sweep_figures(sweep_dir).items():
        path = target / f"{stem}.png"
        figure.savefig(path, dpi=110)
        written.append(path)
    return written


def write_report(sweep_dir: Path, out: Path | None = None) -> Path:
    """Write one self-contained HTML page of a sweep.

    The page holds the figures (embedded PNGs), the key table (`key_table`: strategy,
    swept values, quality and main costs, mean ± std over seeds), the full summary table
    folded away in a ``<details>`` section, the sweep spec and the base scenario.
    """
    summary, swept, spec = read_sweep(sweep_dir)
    images = [embed(stem, figure) for stem, figure in sweep_figures(sweep_dir).items()]
    base = Path(str(spec["base"]))
    base_text = base.read_text(encoding="utf-8") if base.is_file() else "(base file not found)"
    title = str(spec.get("name", sweep_dir.name))
    raw = summary.drop(columns=["run_id"], errors="ignore").to_html(
        index=False, float_format=lambda v: f"{v:.4g}", border=0)
    key = key_table(summary, swept).to_html(index=False, border=0, classes="key")
    body = (f"<h1>{html.escape(title)}</h1>"
            f"<p>{html.escape(str(spec.get('description', '')))}</p>"
            f"<p>{len(summary)} runs.</p>{_quality_notice(summary)}"
            f"<h2>Summary</h2><p class=\"muted\">One row per point of the sweep: mean ± "
            f"standard deviation over its seeds.</p><div class=\"scroll\">{key}</div>"
            + folded(f"All columns, one row per run ({len(summary)})",
                     f'<div class="scroll">{raw}</div>')
            + f"<h2>Figures</h2>{''.join(images)}"
            f"<h2>Sweep</h2><pre>{html.escape(yaml.safe_dump(spec, sort_keys=False))}</pre>"
            + folded("Base scenario", f"<pre>{html.escape(base_text)}</pre>"))
    return write_atomically(out or sweep_dir / "report.html",
                            page(f"{title}: snakesim sweep", body))


def _quality_notice(summary: pd.DataFrame) -> str:
    """A plain note when runs measured no quality (cost-only mode); empty otherwise."""
    quality = sweep_quality(summary)
    missing = int((~quality_measured(summary, quality)).sum())
    if not missing:
        return ""
    notes = summary["quality"].dropna().astype(str) if "quality" in summary else pd.Series()
    # Each run's summary says why, e.g. "not computed: cost-only mode ran no training step".
    why = "; ".join(dict.fromkeys(n for n in notes if n)) or "not computed"
    name = quality.label[0].upper() + quality.label[1:]
    if missing == len(summary):
        scope = (f"{name} was not computed in any run (cost-only mode): the figures show "
                 "costs only (peak node memory, bytes per round, simulated time, FLOPs).")
    else:
        scope = (f"{name} was not computed in {missing} of {len(summary)} runs (cost-only "
                 "mode): they appear in the cost figures only.")
    return (f'<p class="note"><strong>Quality not computed.</strong> {html.escape(scope)} '
            f"Each run's summary says: <em>{html.escape(why)}</em>.</p>")
