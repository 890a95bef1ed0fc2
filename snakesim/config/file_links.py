"""Link quantities of a topology file: an edge attribute read with its unit.

Shared by `validate` (which maps every link of the file once, so a missing attribute or
a bad unit is reported before a run) and the network builder (which uses the values).
"""

from __future__ import annotations

from typing import Any

from snakesim.config.graphfile import read_graph
from snakesim.config.network import FileAttribute, FileTopology, LinksSpec
from snakesim.errors import ConfigurationError, Problem
from snakesim.units import UNITS, Dimension, parse_quantity

DIMENSIONS = {"latency": Dimension.TIME, "bandwidth": Dimension.BANDWIDTH}
"""The dimension of each quantity a topology file may map."""


def link_quantity(mapping: FileAttribute | None, data: dict[str, Any], u: str, v: str,
                  key: str, default: float) -> float:
    """The value of link ``u - v``'s quantity ``key`` (``latency`` or ``bandwidth``).

    A plain number is taken in ``mapping.unit`` (SI without one); a string that carries
    its own unit ("10 Gbps") is read as written.

    Raises
    ------
    ConfigurationError
        If the attribute is missing on the link, or its value is not a valid quantity.
    """
    if mapping is None:
        return default
    dimension = DIMENSIONS[key]
    where = f"topology.{key}.attribute"
    if mapping.attribute not in data:
        raise ConfigurationError(f"{where}: link {u}-{v} has no '{mapping.attribute}' "
                                 f"(it has {', '.join(sorted(map(str, data))) or 'no attributes'})")
    raw = data[mapping.attribute]
    text = raw
    if mapping.unit and not _has_unit(raw, dimension):
        text = f"{raw} {mapping.unit}"
    try:
        value = parse_quantity(text, dimension)
    except ValueError as err:
        raise ConfigurationError(f"{where}: link {u}-{v}: {err} (got {raw!r})") from None
    if value < 0 or (value == 0 and dimension is Dimension.BANDWIDTH):
        raise ConfigurationError(f"{where}: link {u}-{v}: must be > 0 (got {raw!r})")
    return value


def _has_unit(raw: object, dimension: Dimension) -> bool:
    if not isinstance(raw, str):
        return False
    try:
        float(raw)
    except ValueError:
        try:
            parse_quantity(raw, dimension)
        except ValueError:
            return False
        return True
    return False


def unit_problems(topology: FileTopology) -> list[Problem]:
    """Units of the mapped attributes that do not fit their quantity (``latency: km``)."""
    problems = []
    for key, dimension in DIMENSIONS.items():
        mapping: FileAttribute | None = getattr(topology, key)
        if mapping is not None and mapping.unit is not None \
                and mapping.unit not in UNITS[dimension]:
            problems.append(Problem(f"topology.{key}.unit", f"not a {dimension.value} unit "
                                    f"(use one of {', '.join(sorted(UNITS[dimension])[:12])}, "
                                    "...)", mapping.unit))
    return problems


def mapping_problems(topology: FileTopology, links: LinksSpec) -> list[Problem]:
    """Check every link of the file against the mappings; the first bad link per key."""
    problems = unit_problems(topology)
    if problems or (topology.latency is None and topology.bandwidth is None):
        return problems
    graph = read_graph(topology.path, topology.format)
    defaults = {"latency": float(links.latency), "bandwidth": float(links.bandwidth)}
    for key in DIMENSIONS:
        for u, v, data in graph.edges(data=True):
            try:
                link_quantity(getattr(topology, key), data, u, v, key, defaults[key])
            except ConfigurationError as err:
                where, _, rule = str(err).partition(": ")
                problems.append(Problem(where, rule, None, False))
                break
    return problems
