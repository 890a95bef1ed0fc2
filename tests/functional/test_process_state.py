"""The library leaves the process alone: no matplotlib backend switch, no pyplot
figures left open, PyTorch's thread count as the caller had it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

import snakesim
from snakesim.config import validate_scenario
from tests.conftest import REPO, small_scenario

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

DRAW_EVERYTHING = """
import sys
from pathlib import Path
import matplotlib
matplotlib.use("svg")  # the user's choice, which snakesim must keep
import matplotlib.pyplot as plt
import snakesim
from snakesim.analysis.plots import plot_runs
from snakesim.analysis.sweep_report import plot_sweep
from snakesim.analysis.timeline import plot_timeline
run, sweep = Path(sys.argv[1]), Path(sys.argv[2])
plot_runs([run], run / "curves.png")
plot_timeline(run, run / "timeline.png")
written = plot_sweep(sweep)
assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
assert plt.get_fignums() == [], plt.get_fignums()
assert (run / "curves.png").read_bytes()[:4] == b"\\x89PNG" and written
print("ok")
"""


def test_figures_keep_the_backend_and_leave_no_pyplot_figure(tmp_path: Path,
                                                             write_yaml) -> None:  # type: ignore[no-untyped-def]
    run_dir = tmp_path / "run"
    snakesim.run(validate_scenario(small_scenario({"name": "fedavg"},
                                                  training={"rounds": 1})), out=run_dir)
    write_yaml(small_scenario({"name": "fedavg"}, training={"rounds": 1}), "base.yaml")
    sweep_file = write_yaml({"name": "s", "base": "base.yaml",
                             "grid": {"training.lr": [0.003, 0.01]}, "seeds": [1]},
                            "sweep.yaml")
    snakesim.sweep(sweep_file, out=tmp_path / "sweep")
    done = subprocess.run([sys.executable, "-c", DRAW_EVERYTHING, str(run_dir),
                           str(tmp_path / "sweep")], capture_output=True, text=True,
                          cwd=REPO, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


def test_api_run_restores_torch_threads() -> None:
    before = torch.get_num_threads()
    scenario = validate_scenario(small_scenario({"name": "local"}, training={"rounds": 1}))
    try:
        torch.set_num_threads(2)
        snakesim.run(scenario, threads=1)
        assert torch.get_num_threads() == 2
        snakesim.run(scenario)  # None: PyTorch's setting is left as it is
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)
