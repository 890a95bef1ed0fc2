"""The timeline table and its Gantt chart."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
import yaml
from matplotlib.figure import Figure
from typer.testing import CliRunner

from snakesim.analysis.timeline import _link, timeline_figure
from snakesim.cli import app
from tests.conftest import small_scenario

CLIENTS = ["n1", "n2", "n3", "n4"]


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One FedAvg round on a star with an extra client-to-client link that carries no
    traffic, down for most of the run; a link and a node outage besides."""
    root = tmp_path_factory.mktemp("outages")
    data = small_scenario(
        {"name": "fedavg"}, training={"rounds": 1, "local_epochs": 1},
        topology={"kind": "explicit", "nodes": ["server", *CLIENTS], "server": "server",
                  "edges": [*({"between": ["server", n]} for n in CLIENTS),
                            {"between": ["n2", "n1"]}]},
        outages={"links": [{"between": ["n1", "server"],
                            "windows": [{"start": 0.05, "duration": 0.1}]},
                           {"between": ["n2", "n1"],
                            "windows": [{"start": 0.0, "duration": 0.2, "period": 0.5}]}],
                 "nodes": [{"node": "n3", "windows": [{"start": 0.01, "duration": 0.05}]}]})
    scenario = root / "outages.yaml"
    scenario.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(app, ["run", str(scenario), "--out", str(root / "run"),
                                      "-q"])
    assert result.exit_code == 0, result.output
    return root / "run"


def _outages(fig: Figure) -> list[tuple[float, float, float, float]]:
    """(start, end, top row, bottom row) of every outage drawn."""
    spans = []
    for collection in fig.axes[0].collections:
        if collection.get_gid() == "outage":
            (x0, y0), (x1, y1) = collection.get_paths()[0].get_extents().get_points()
            spans.append((x0, x1, y0, y1))
    return sorted(spans)


def test_every_outage_is_drawn_on_its_rows(outage_run: Path) -> None:
    outages = pd.read_parquet(outage_run / "outages.parquet")
    links = set(pd.read_parquet(outage_run / "timeline.parquet").query(
        "kind == 'link' and state == 'busy'")["resource"])
    assert "n1>n2" not in links and "n2>n1" not in links  # the extra link stayed idle
    assert sorted(outages["element"]) == ["link n1-n2", "link n1-server", "node n3"]
    fig = timeline_figure(outage_run)
    ax = fig.axes[0]
    drawn = _outages(fig)
    assert len(drawn) == len(outages)
    expected = sorted(zip(outages["start_s"], outages["end_s"], strict=True))
    assert [v for a, b, _, _ in drawn for v in (a, b)] == pytest.approx(
        [v for span in expected for v in span])
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert rows[:5] == ["server", *CLIENTS] and "n1-n2" in rows  # the idle link's row

    def covered(top: float, bottom: float) -> list[str]:
        return [r for i, r in enumerate(rows) if top < i < bottom]

    by_start = {round(a, 6): covered(top, bottom) for a, _, top, bottom in drawn}
    assert by_start[0.0] == ["n1-n2"]
    assert by_start[0.01] == ["n3"]
    assert sorted(by_start[0.05]) == ["n1>server", "server>n1"]  # both directions
    lo, hi = ax.get_xlim()
    assert all(lo <= a and b <= hi for a, b, _, _ in drawn)
    assert not fig.get_supxlabel()  # nothing left out, so no note
    plt.close(fig)


def test_a_cut_chart_keeps_every_outage_and_says_what_it_left_out(outage_run: Path) -> None:
    full = timeline_figure(outage_run, max_rows=0)
    total = len(full.axes[0].get_yticklabels())
    plt.close(full)
    fig = timeline_figure(outage_run, max_rows=5)
    rows = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    # Rows with an outage come first and are never cut: n3, both n1-server directions,
    # the idle n1-n2; one more row fits.
    assert {"n3", "n1>server", "server>n1", "n1-n2"} <= set(rows) and len(rows) == 5
    assert len(_outages(fig)) == 3
    note = fig.get_supxlabel()
    assert f"({total - 5} of {total} rows" in note
    assert "--max-rows 0" in note and str(outage_run) in note
    fig.canvas.draw()  # the note lies inside the figure
    box = fig._supxlabel.get_window_extent()  # type: ignore[attr-defined]
    assert box.y0 >= 0 and box.x0 >= 0 and box.x1 <= fig.bbox.x1
    plt.close(fig)
    # Fewer rows than outages need: all outage rows are still drawn.
    fig = timeline_figure(outage_run, max_rows=1)
    assert len(_outages(fig)) == 3 and len(fig.axes[0].get_yticklabels()) == 4
    plt.close(fig)


def test_plot_timeline_max_rows_option(outage_run: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["plot", "--timeline", str(outage_run), "--out",
                                      str(tmp_path / "t.png"), "--max-rows", "3"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "t.png").stat().st_size > 10_000
    result = CliRunner().invoke(app, ["plot", "--timeline", str(outage_run),
                                      "--max-rows", "-1"])
    assert result.exit_code == 2


def test_link_names_split_at_the_dash_between_two_known_nodes() -> None:
    nodes = ["new-york", "boston", "a", "b-c"]
    assert _link("new-york-boston", nodes) == frozenset({"new-york", "boston"})
    assert _link("a-b-c", nodes) == frozenset({"a", "b-c"})


def test_a_paused_flow_is_down_not_busy_across_its_outage(write_yaml, tmp_path: Path
                                                          ) -> None:
    # The download to n1 starts at 0.01 s and takes about 12 ms; its link goes down at
    # 0.015 s for 50 ms, so the flow pauses mid-transfer and resumes after.
    data = small_scenario({"name": "fedavg"}, training={"rounds": 1, "local_epochs": 1},
                          outages={"links": [{"between": ["n1", "server"],
                                              "windows": [{"start": 0.015,
                                                           "duration": 0.05}]}]})
    out = tmp_path / "run"
    assert CliRunner().invoke(app, ["run", str(write_yaml(data)), "--out", str(out),
                                    "-q"]).exit_code == 0
    assert "paused" in set(pd.read_parquet(out / "effects.parquet")["effect"])
    timeline = pd.read_parquet(out / "timeline.parquet")
    down = timeline.query("resource == 'n1-server' and state == 'down'")
    assert list(zip(down["start_s"], down["end_s"], strict=True)) == \
        [pytest.approx((0.015, 0.065))]
    for direction in ("server>n1", "n1>server"):
        busy = timeline.query(f"resource == '{direction}' and state == 'busy'")
        assert not ((busy["start_s"] < 0.065) & (busy["end_s"] > 0.015)).any(), busy
    download = timeline.query("resource == 'server>n1' and state == 'busy'")
    # busy up to the outage and again after it: the paused flow's two pieces
    assert sorted(download["start_s"]) == pytest.approx([0.01, 0.065])
    assert download["end_s"].min() == pytest.approx(0.015)


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
    # One collection of busy bars per row that was busy, one per outage.
    outages = [c for c in ax.collections if c.get_gid() == "outage"]
    assert len(outages) == len(down) == len(pd.read_parquet(out / "outages.parquet"))
    busy_rows = timeline.query("state == 'busy'")["resource"].nunique()
    assert len(ax.collections) == busy_rows + len(outages)
    plt.close(fig)
    result = CliRunner().invoke(app, ["plot", "--timeline", str(out)])
    assert result.exit_code == 0 and (out / "timeline.png").stat().st_size > 10_000
