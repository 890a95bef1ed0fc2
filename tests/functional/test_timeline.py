"""The timeline table and its Gantt chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from typer.testing import CliRunner

from snakesim.analysis.timeline import timeline_figure
from snakesim.cli import app
from tests.conftest import small_scenario


@pytest.mark.slow
def test_timeline_matches_the_other_tables_and_is_drawn(write_yaml, tmp_path: Path) -> None:
    data = small_scenario({"name": "fedavg"}, training={"rounds": 2},
                          outages={"links": [{"between": ["n1", "server"],
                                              "windows": [{"start": 0.05, "duration": 1}]}]})
    out = tmp_path / "run"
    assert CliRunner().invoke(app, ["run", str(write_yaml(data)), "--out", str(out),
                                    "-q"]).exit_code == 0
    timeline = pd.read_parquet(out / "timeline.parquet")
    computes = pd.read_parquet(out / "computes.parquet")
    busy = timeline.query("kind == 'node' and state == 'busy'")
    # Node busy time in the timeline equals the compute jobs' time (jobs never overlap).
    assert (busy["end_s"] - busy["start_s"]).sum() == \
        (computes["end_s"] - computes["start_s"]).sum()
    down = timeline.query("state == 'down'")
    assert list(down["resource"]) == ["n1-server"] and down["end_s"].iloc[0] == 1.05
    links = timeline.query("kind == 'link'")
    assert set(links["resource"]) >= {"server>n1", "n1>server"}
    for _, group in links.groupby("resource"):  # merged: disjoint and sorted
        spans = group.sort_values("start_s")
        assert (spans["start_s"].iloc[1:].to_numpy() > spans["end_s"].iloc[:-1].to_numpy()).all()
    fig = timeline_figure(out)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[:5] == ["n1", "n2", "n3", "n4", "server"] and "n1>server" in labels
    assert len(ax.collections) == len(timeline)  # one bar per interval
    plt.close(fig)
    result = CliRunner().invoke(app, ["plot", "--timeline", str(out)])
    assert result.exit_code == 0 and (out / "timeline.png").stat().st_size > 10_000
