"""Sweep figures and the HTML report, checked for content, not just existence."""

from __future__ import annotations

from io import BytesIO
from pathlib import Path

import matplotlib.pyplot as plt
import pytest
import yaml
from matplotlib.backends.backend_agg import FigureCanvasAgg
from typer.testing import CliRunner

import snakesim
from snakesim.analysis.axes import drawn_tick_labels
from snakesim.analysis.sweep_report import sweep_figures
from snakesim.cli import app
from tests.functional.test_sweep import tiny_base
from tests.unit.test_readable_axes import overlapping

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sweep")
    (root / "base.yaml").write_text(yaml.safe_dump(tiny_base()))
    (root / "sweep.yaml").write_text(yaml.safe_dump({
        "name": "fig", "base": "base.yaml",
        "grid": {"data.partition.alpha": [0.1, 10.0],
                 "strategy": [{"name": "fedavg"}, {"name": "snake"}]},
        "seeds": [1, 2]}))
    snakesim.sweep(root / "sweep.yaml", out=root / "out")
    return root / "out"


def test_every_figure_has_its_series(sweep_dir: Path) -> None:
    figures = sweep_figures(sweep_dir)
    assert set(figures) == {"curves", "memory", "effect-data-partition-alpha", "heatmap",
                            "topology"}
    by_bytes, by_time = figures["curves"].axes
    # 2 alphas x 2 strategies = 4 series, each the mean of 2 seeds with a band.
    assert len(by_bytes.lines) == 4 and len(by_time.lines) == 4
    assert len(by_bytes.collections) == 4
    # Log only where the runs span a decade (else a log axis labels crowded minor ticks).
    lo, hi = by_bytes.dataLim.intervalx
    assert by_bytes.get_xscale() == ("log" if hi / lo >= 10 else "linear")
    assert "bytes" in by_bytes.get_xlabel()
    labels = by_time.get_legend_handles_labels()[1]
    assert len(labels) == 4 and all("(n=2)" in label for label in labels)
    assert "alpha=0.1, strategy=snake (n=2)" in labels  # a swept section, short
    effect = figures["effect-data-partition-alpha"].axes
    assert len(effect) == 4
    assert all(len(ax.lines) >= 2 for ax in effect)  # one line per strategy
    assert effect[0].get_xscale() == "log"  # alpha spans two decades
    heat = figures["heatmap"].axes[0]
    assert heat.images[0].get_array().shape == (2, 2)
    assert len(figures["memory"].axes[0].collections) == 4
    topo = figures["topology"].axes[0]
    assert topo.collections  # nodes and edges drawn
    for figure in figures.values():
        plt.close(figure)


def test_no_label_overlaps_or_leaves_the_figure(sweep_dir: Path) -> None:
    for stem, figure in sweep_figures(sweep_dir).items():
        figure.savefig(BytesIO(), format="png", dpi=110)  # as `snakesim plot` does
        assert not overlapping(figure), stem
        renderer = FigureCanvasAgg(figure).get_renderer()
        page = figure.bbox
        texts = [figure._suptitle] if figure._suptitle else []  # type: ignore[attr-defined]
        for ax in figure.axes:
            texts += [ax.title, ax.xaxis.label, ax.yaxis.label,
                      *drawn_tick_labels(ax.xaxis), *drawn_tick_labels(ax.yaxis)]
        texts += [t for legend in figure.legends for t in legend.get_texts()]
        for text in texts:
            if text.get_visible() and text.get_text():
                box = text.get_window_extent(renderer)
                assert (box.x0 >= -1 and box.y0 >= -1 and box.x1 <= page.x1 + 1
                        and box.y1 <= page.y1 + 1), (stem, text.get_text())
        plt.close(figure)


def test_plot_and_report_commands(sweep_dir: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["plot", str(sweep_dir), "--out", str(tmp_path / "figs")])
    assert result.exit_code == 0, result.output
    pngs = sorted(p.name for p in (tmp_path / "figs").glob("*.png"))
    assert "curves.png" in pngs and len(pngs) == 5
    result = runner.invoke(app, ["report", str(sweep_dir)])
    assert result.exit_code == 0, result.output
    page = (sweep_dir / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 5
    assert "<table" in page and "final_accuracy" in page
    # Key table: one row per point (4), mean ± std over its 2 seeds; raw table folded.
    key = page.split('class="dataframe key"', 1)[1].split("</table>", 1)[0]
    assert key.count("<tr") == 1 + 4 and key.count(" ± ") >= 4
    assert "final accuracy" in key and "peak node memory" in key and "fedavg" in key
    assert "<details><summary>All columns, one row per run (8)" in page
    assert "digits_cnn" in page  # the resolved base scenario is embedded
    assert not list(sweep_dir.glob(".*.png"))


def test_report_of_a_run_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["report", str(tmp_path)])
    assert result.exit_code == 2
    assert "not a sweep folder" in result.output
