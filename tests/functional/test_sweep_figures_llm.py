"""Sweep figures and report for language models: perplexity, and cost-only sweeps.

Both sweeps are real (a tiny OPT on a tiny corpus, one round) so the figures read the
same summary and round tables a user's sweep writes.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import pytest
import yaml
from typer.testing import CliRunner

import snakesim
from snakesim.analysis.sweep_report import plot_sweep, sweep_figures, write_report
from snakesim.cli import app
from tests.conftest import REPO

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

STRATEGIES = [{"name": "snake", "mode": "p2p"}, {"name": "fedavg"}]
NOT_COMPUTED = "not computed: cost-only mode ran no training step"


def tiny_lm_base(**overrides: Any) -> dict[str, Any]:
    """The shipped tiny-OPT scenario, cut down to a few seconds per run."""
    base = yaml.safe_load((REPO / "scenarios/llm/tiny-opt-snake.yaml").read_text())
    base["training"]["rounds"] = 1
    base["data"]["text"].update(corpus={"sources": 4, "words_per_source": 600, "seed": 0},
                                seq_len=32)
    base["topology"]["clients"] = 4
    return {**base, **overrides}


def run_sweep(root: Path, base: dict[str, Any], grid: dict[str, list[Any]]) -> Path:
    (root / "base.yaml").write_text(yaml.safe_dump(base))
    (root / "sweep.yaml").write_text(yaml.safe_dump({
        "name": root.name, "base": "base.yaml", "grid": grid, "seeds": [1]}))
    # Serial, in this process: each worker of a parallel sweep would import torch and
    # transformers again, which costs more than the runs themselves.
    snakesim.sweep(root / "sweep.yaml", out=root / "out")
    return root / "out"


@pytest.fixture(scope="module")
def lm_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return run_sweep(tmp_path_factory.mktemp("lm"), tiny_lm_base(),
                     {"strategy": STRATEGIES})


@pytest.fixture(scope="module")
def cost_sweep(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # A numeric key beside the strategy: the effect and heatmap figures get drawn too.
    return run_sweep(tmp_path_factory.mktemp("cost"), tiny_lm_base(mode="cost_only"),
                     {"strategy": STRATEGIES, "training.batch_size": [8, 16]})


@pytest.fixture
def no_runtime_warnings() -> Iterator[None]:
    """Fail on any RuntimeWarning ("Mean of empty slice", "All-NaN slice", ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        yield


@pytest.mark.usefixtures("no_runtime_warnings")
def test_lm_sweep_is_judged_by_perplexity(lm_sweep: Path) -> None:
    figures = sweep_figures(lm_sweep)
    assert set(figures) == {"curves", "memory", "topology"}
    for ax in figures["curves"].axes:
        assert "perplexity" in ax.get_ylabel()
        assert ax.get_yscale() == "log"  # lower is better, spans decades early on
        assert ax.get_ylim()[1] > 1  # not clamped to accuracy's 0..1
        assert len(ax.lines) == 2  # snake and fedavg
    assert "Perplexity" in figures["curves"].axes[0].get_title()
    memory = figures["memory"].axes[0]
    assert "perplexity" in memory.get_ylabel() and memory.get_yscale() == "log"
    for figure in figures.values():
        plt.close(figure)


@pytest.mark.usefixtures("no_runtime_warnings")
def test_lm_sweep_plot_and_report(lm_sweep: Path, tmp_path: Path) -> None:
    written = plot_sweep(lm_sweep, tmp_path / "figs")
    assert sorted(p.name for p in written) == ["curves.png", "memory.png", "topology.png"]
    assert all(p.stat().st_size > 0 for p in written)
    page = write_report(lm_sweep, tmp_path / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "final_perplexity" in page and "Quality not computed" not in page


@pytest.mark.usefixtures("no_runtime_warnings")
def test_cost_only_sweep_draws_costs_instead_of_quality(cost_sweep: Path) -> None:
    figures = sweep_figures(cost_sweep)
    assert set(figures) == {"costs", "effect-training-batch_size", "heatmap", "topology"}
    costs = figures["costs"].axes
    assert [ax.get_xlabel() for ax in costs] == [
        "max node peak memory (bytes)", "payload bytes per round", "simulated time (s)",
        "total FLOPs"]
    for ax in costs:
        assert len(ax.patches) == 4  # one bar per point: 2 strategies x 2 batch sizes
        assert all(bar.get_width() > 0 for bar in ax.patches)  # type: ignore[attr-defined]
    labels = [t.get_text() for t in costs[0].get_yticklabels()]
    flat = [" ".join(t.split()) for t in labels]  # labels wrap onto lines
    assert any("strategy=snake (mode=p2p)" in t and "batch_size=8" in t for t in flat)
    effect = figures["effect-training-batch_size"].axes
    assert len(effect) == 3  # cost panels only: no quality panel
    assert not any("perplexity" in ax.get_ylabel() for ax in effect)
    assert "peak_memory" in figures["heatmap"].axes[0].get_title()
    for figure in figures.values():
        plt.close(figure)


def test_cost_only_report_says_quality_was_not_computed(cost_sweep: Path,
                                                        tmp_path: Path) -> None:
    runner = CliRunner()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        plotted = runner.invoke(app, ["plot", str(cost_sweep), "--out", str(tmp_path)])
        reported = runner.invoke(app, ["report", str(cost_sweep)])
    assert plotted.exit_code == 0, plotted.output
    assert (tmp_path / "costs.png").is_file() and not (tmp_path / "curves.png").exists()
    assert reported.exit_code == 0, reported.output
    page = (cost_sweep / "report.html").read_text()
    assert "Quality not computed" in page and NOT_COMPUTED in page
    assert 'alt="costs"' in page and page.count("data:image/png;base64,") == 4
    # The key table has a row per point; the raw one behind <details> a row per run.
    assert "<table" in page and page.count("<tr") == (1 + 4) + (1 + 4)
    assert "<details><summary>All columns, one row per run (4)" in page
    for column in ("max_node_peak_memory_bytes", "bytes_per_round", "sim_time_s",
                   "total_flops"):
        assert column in page
