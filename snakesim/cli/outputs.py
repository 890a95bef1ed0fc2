"""Commands that describe scenarios or read results: ``schema``, ``plot``, ``report``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from snakesim.cli.app import _friendly, app, out


@app.command()
@_friendly
def schema(
    markdown: bool = typer.Option(False, "--markdown", help="Print the reference of every "
                                  "key (path, type, default, unit, description) as "
                                  "Markdown: docs/scenario-keys.md."),
) -> None:
    """Print the scenario JSON Schema (for editor autocompletion), or the key reference."""
    from snakesim.config import Scenario

    if markdown:
        from snakesim.config.key_reference import key_reference

        sys.stdout.write(key_reference(Scenario))
        return
    sys.stdout.write(json.dumps(Scenario.model_json_schema(), indent=2) + "\n")


@app.command()
@_friendly
def plot(
    dirs: list[Path] = typer.Argument(..., help="Run folders written by 'snakesim run', "
                                      "or one sweep folder written by 'snakesim sweep'."),
    out_file: Path | None = typer.Option(None, "--out", help="Runs: the PNG file "
                                         "[default: <first run>/accuracy.png]. Sweep: the "
                                         "folder for its figures [default: <sweep>/figures]."),
    timeline: bool = typer.Option(False, "--timeline", help="Gantt chart of one run: node "
                                  "and link busy/down intervals [default: "
                                  "<run>/timeline.png]."),
    max_rows: int = typer.Option(80, "--max-rows", min=0, help="Timeline: draw at most "
                                 "this many rows, the busiest plus every row with an "
                                 "outage; 0 draws all. The figure says what it left out."),
) -> None:
    """Plot accuracy against cumulative bytes and simulated time (runs or a sweep)."""
    if timeline:
        from snakesim.analysis.timeline import plot_timeline

        for run_dir in dirs:
            target = out_file if out_file and len(dirs) == 1 else run_dir / "timeline.png"
            out.print(f"wrote {plot_timeline(run_dir, target, max_rows)}")
        return
    if len(dirs) == 1 and (dirs[0] / "summary.parquet").is_file():
        from snakesim.analysis.sweep_report import plot_sweep

        for path in plot_sweep(dirs[0], out_file):
            out.print(f"wrote {path}")
        return
    from snakesim.analysis.plots import plot_runs

    target = out_file or dirs[0] / "accuracy.png"
    out.print(f"wrote {plot_runs(dirs, target)}")


@app.command()
@_friendly
def report(
    dirs: list[Path] = typer.Argument(..., help="One sweep folder written by 'snakesim "
                                      "sweep', or run folders written by 'snakesim run'."),
    out_file: Path | None = typer.Option(None, "--out", help="HTML file [default: "
                                         "<sweep>/report.html or <first run>/report.html]"),
) -> None:
    """Write one self-contained HTML page: a sweep's key table, figures and scenario, or
    runs side by side with their figures."""
    from snakesim.analysis.run_report import write_run_report
    from snakesim.analysis.sweep_report import write_report
    from snakesim.errors import ResultsError
    from snakesim.experiments.store import read_summary

    sweeps = [d for d in dirs if (d / "summary.parquet").is_file()]
    if sweeps and len(dirs) > 1:
        raise ResultsError(f"{sweeps[0]}: a sweep folder is reported alone (got "
                           f"{len(dirs)} folders)")
    if sweeps:
        out.print(f"wrote {write_report(dirs[0], out_file)}")
        return
    for run_dir in dirs:
        try:
            read_summary(run_dir)  # also completes a commit a kill interrupted
        except ResultsError:
            if (run_dir / "summary.json").is_file():
                raise  # a run folder whose summary is broken: that error says how
            raise ResultsError(f"{run_dir}: not a sweep folder (no summary.parquet/"
                               "sweep.yaml) nor a finished run folder (no summary.json)"
                               ) from None
    out.print(f"wrote {write_run_report(dirs, out_file)}")
