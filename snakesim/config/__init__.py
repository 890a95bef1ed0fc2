"""Scenario configuration: the pydantic schema and YAML loading with located errors."""

from snakesim.config.loading import load_scenario, validate_scenario
from snakesim.config.schema import Scenario

__all__ = ["Scenario", "load_scenario", "validate_scenario"]
