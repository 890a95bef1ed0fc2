"""Input limits: how large a file, how deep a document, how many nodes a scenario may ask for.

Every limit protects the process from an input that would otherwise hang it or eat all
memory before any rule could be checked (a YAML alias bomb, a 50 MB scenario, a mesh of
1e8 nodes). Each is generous for real use and can be raised through an environment
variable, read when a file is loaded (no module state):

======================================  ===========  =====================================
variable                                 default      what it bounds
======================================  ===========  =====================================
``SNAKESIM_MAX_FILE_MB``                 8            scenario, sweep, topology, trace files
``SNAKESIM_MAX_YAML_NODES``              200000       YAML nodes after alias expansion
``SNAKESIM_MAX_DEPTH``                   64           nesting of mappings and lists
``SNAKESIM_MAX_NODES``                   100000       nodes of a topology
``SNAKESIM_MAX_LINKS``                   1000000      links of a topology
``SNAKESIM_MAX_JOBS``                    10000000     rounds x learners (training jobs)
======================================  ===========  =====================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from snakesim.errors import ConfigurationError


@dataclass(frozen=True)
class Limits:
    """The limits in force (see the module docstring for the variables that set them)."""

    max_file_bytes: int = 8 * 2**20
    max_yaml_nodes: int = 200_000
    max_depth: int = 64
    max_nodes: int = 100_000
    max_links: int = 1_000_000
    max_jobs: int = 10_000_000


_VARIABLES = {
    "max_file_bytes": ("SNAKESIM_MAX_FILE_MB", 2**20),
    "max_yaml_nodes": ("SNAKESIM_MAX_YAML_NODES", 1),
    "max_depth": ("SNAKESIM_MAX_DEPTH", 1),
    "max_nodes": ("SNAKESIM_MAX_NODES", 1),
    "max_links": ("SNAKESIM_MAX_LINKS", 1),
    "max_jobs": ("SNAKESIM_MAX_JOBS", 1),
}


def current_limits() -> Limits:
    """The limits, with any environment overrides applied.

    Raises
    ------
    ConfigurationError
        If an override is not a positive number.
    """
    values: dict[str, int] = {}
    for field, (variable, scale) in _VARIABLES.items():
        text = os.environ.get(variable)
        if text is None:
            continue
        try:
            number = float(text)
        except ValueError:
            number = -1.0
        if not number > 0 or number * scale > 2**62:
            raise ConfigurationError(f"environment variable {variable}: must be a positive "
                                     f"number (got {text!r})")
        values[field] = int(number * scale)
    return Limits(**values)


def variable_of(field: str) -> str:
    """The environment variable that overrides limit ``field`` (for error messages)."""
    return _VARIABLES[field][0]
