"""Everything ``snakesim plot SWEEP_DIR`` and ``snakesim report SWEEP_DIR`` produce.

`plot_sweep` writes the sweep's figures as PNG files; `write_report` puts them, the
summary table and the resolved base scenario into one self-contained HTML page.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import yaml
from matplotlib.figure import Figure

from snakesim.analysis.sweep_plots import (
    curve_figure,
    effect_figure,
    heatmap_figure,
    memory_figure,
    topology_figure,
)
from snakesim.errors import ResultsError


def read_sweep(sweep_dir: Path) -> tuple[pd.DataFrame, list[str], dict[str, object]]:
    """The summary table, swept columns and sweep spec of a sweep folder."""
    table, spec_file = sweep_dir / "summary.parquet", sweep_dir / "sweep.yaml"
    if not table.is_file() or not spec_file.is_file():
        raise ResultsError(f"{sweep_dir}: not a sweep folder (no summary.parquet/sweep.yaml)")
    summary = pd.read_parquet(table)
    if summary.empty:
        raise ResultsError(f"{sweep_dir}: no finished runs yet")
    spec = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    keys = [*spec.get("grid", {}), *spec.get("zip", {})]
    if "seed" not in keys:
        keys.append("seed")
    swept = [f"{k} (swept)" if f"{k} (swept)" in summary else k for k in keys]
    return summary, swept, spec


def _numeric(summary: pd.DataFrame, key: str) -> bool:
    return bool(pd.to_numeric(summary[key], errors="coerce").notna().all()
                and summary[key].nunique() > 1)


def sweep_figures(sweep_dir: Path) -> dict[str, Figure]:
    """Build every figure of a sweep, keyed by file stem."""
    summary, swept, _ = read_sweep(sweep_dir)
    figures = {"curves": curve_figure(sweep_dir, summary, swept),
               "memory": memory_figure(summary, swept)}
    varied = [k for k in swept if k != "seed" and summary[k].nunique() > 1]
    numeric = [k for k in varied if _numeric(summary, k)]
    others = [k for k in varied if k not in numeric]
    for key in numeric:
        by = others[0] if len(others) == 1 else None
        figures[f"effect-{key.replace('.', '-')}"] = effect_figure(summary, key, by)
    if len(varied) == 2:
        figures["heatmap"] = heatmap_figure(summary, varied[0], varied[1])
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
        plt.close(figure)
        written.append(path)
    return written


def write_report(sweep_dir: Path, out: Path | None = None) -> Path:
    """Write one self-contained HTML page: figures, summary table, base scenario."""
    summary, _, spec = read_sweep(sweep_dir)
    images = []
    for stem, figure in sweep_figures(sweep_dir).items():
        png = sweep_dir / f".{stem}.report.png"
        figure.savefig(png, dpi=100)
        plt.close(figure)
        data = base64.b64encode(png.read_bytes()).decode("ascii")
        png.unlink()
        images.append(f'<figure><img alt="{stem}" src="data:image/png;base64,{data}">'
                      f"<figcaption>{html.escape(stem)}</figcaption></figure>")
    base = Path(str(spec["base"]))
    base_text = base.read_text(encoding="utf-8") if base.is_file() else "(base file not found)"
    page = _PAGE.format(
        title=html.escape(str(spec.get("name", sweep_dir.name))),
        description=html.escape(str(spec.get("description", ""))),
        runs=len(summary), figures="\n".join(images),
        table=summary.drop(columns=["run_id"], errors="ignore").to_html(
            index=False, float_format=lambda v: f"{v:.4g}", border=0),
        sweep=html.escape(yaml.safe_dump(spec, sort_keys=False)),
        base=html.escape(base_text))
    target = out or sweep_dir / "report.html"
    tmp = target.with_name(f".{target.name}.tmp")
    tmp.write_text(page, encoding="utf-8")
    tmp.replace(target)
    return target


_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}: snakesim sweep</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1300px; }}
figure {{ margin: 1rem 0; }} img {{ max-width: 100%; }}
table {{ border-collapse: collapse; font-size: 0.8rem; }}
td, th {{ padding: 0.2rem 0.5rem; border-bottom: 1px solid #ddd; text-align: right; }}
pre {{ background: #f6f6f6; padding: 1rem; overflow-x: auto; }}
</style></head><body>
<h1>{title}</h1><p>{description}</p><p>{runs} runs.</p>
<h2>Figures</h2>{figures}
<h2>Summary</h2><div style="overflow-x: auto">{table}</div>
<h2>Sweep</h2><pre>{sweep}</pre>
<h2>Base scenario</h2><pre>{base}</pre>
</body></html>
"""
