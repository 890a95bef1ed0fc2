"""Experiments: run a scenario and store its results."""

from snakesim.experiments.run import RunResult, run_scenario
from snakesim.experiments.store import read_summary, read_table, write_run

__all__ = ["RunResult", "read_summary", "read_table", "run_scenario", "write_run"]
