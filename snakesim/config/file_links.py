"""Link quantities of a topology file: edge attributes read with their units, or the
great-circle distance between node coordinates.

Shared by `validate` (which maps every link of the file once, so a missing attribute or
a bad unit is reported before a run) and the network builder (which uses the values).
"""

from __future__ import annotations

import math
from typing import Any

import networkx as nx

from snakesim.config.file_topology import (
    FileAttribute,
    FileLatency,
    FileTopology,
    NodeCoordinates,
    label_attribute,
)
from snakesim.config.geodesy import great_circle_m
from snakesim.config.graphfile import read_graph
from snakesim.config.quantities import RANGES
from snakesim.errors import ConfigurationError, Problem
from snakesim.units import UNITS, Dimension, parse_quantity

UNIT_DIMENSIONS = {"latency": (Dimension.TIME, Dimension.DISTANCE),
                   "bandwidth": (Dimension.BANDWIDTH,)}
"""The dimensions a mapped attribute's unit may have: a latency is a time, or a
distance that the propagation speed turns into one."""


def file_graph_of(topology: FileTopology) -> nx.Graph:
    """The file's graph with its nodes named as the scenario names them."""
    return read_graph(topology.path, topology.format, label_attribute(topology))


def link_latency(mapping: FileLatency | None, graph: nx.Graph, u: str, v: str,
                 default: float) -> float:
    """The latency (s) of link ``u - v`` of ``graph``, a file's graph.

    A time attribute is read as is; a distance (an attribute in ``km``, ``m``, ``mi``,
    or the great-circle distance between the ends' coordinates) is divided by the
    propagation speed.

    Raises
    ------
    ConfigurationError
        If the attribute or a coordinate is missing, or a value is not a valid quantity.
    """
    if mapping is None:
        return default
    if mapping.coordinates is not None:
        metres = great_circle_m(*position(mapping.coordinates, u, graph.nodes[u]),
                                *position(mapping.coordinates, v, graph.nodes[v]))
        return _bounded(metres / mapping.propagation_speed, "latency", "topology.latency."
                        "coordinates", u, v, f"{metres:.6g} m")
    where = "topology.latency.attribute"
    raw = _attribute(graph.edges[u, v], str(mapping.attribute), where, u, v)
    value, dimension = _quantity(raw, mapping.unit, UNIT_DIMENSIONS["latency"], where, u, v)
    if dimension is Dimension.DISTANCE:
        if value < 0:
            raise ConfigurationError(f"{where}: link {u}-{v}: must be >= 0 (got {raw!r})")
        value /= mapping.propagation_speed
    return _bounded(value, "latency", where, u, v, raw)


def link_bandwidth(mapping: FileAttribute | None, data: dict[str, Any], u: str, v: str,
                   default: float) -> float:
    """The bandwidth (bit/s) of link ``u - v`` from its attributes ``data``.

    A plain number is taken in ``mapping.unit`` (bit/s without one); a string that
    carries its own unit ("10 Gbps") is read as written, whatever ``mapping.unit`` says.

    Raises
    ------
    ConfigurationError
        If the attribute is missing on the link, or its value is not a valid bandwidth.
    """
    if mapping is None:
        return default
    where = "topology.bandwidth.attribute"
    raw = _attribute(data, mapping.attribute, where, u, v)
    value, _ = _quantity(raw, mapping.unit, UNIT_DIMENSIONS["bandwidth"], where, u, v)
    return _bounded(value, "bandwidth", where, u, v, raw)


def position(coordinates: NodeCoordinates, node: str,
             data: dict[str, Any]) -> tuple[float, float]:
    """``(latitude, longitude)`` in degrees of a node with attributes ``data``.

    Raises
    ------
    ConfigurationError
        If the node has neither the pair attribute nor both of latitude and longitude,
        or a coordinate is not a number in range.
    """
    where = "topology.latency.coordinates"
    if coordinates.pair is not None and coordinates.pair in data:
        pair = data[coordinates.pair]
        if not (isinstance(pair, (list, tuple)) and len(pair) == 2):
            raise ConfigurationError(f"{where}.pair: node {node}: '{coordinates.pair}' must "
                                     f"be [longitude, latitude] (got {pair!r})")
        lon, lat = pair
    elif coordinates.latitude in data and coordinates.longitude in data:
        lat, lon = data[coordinates.latitude], data[coordinates.longitude]
    else:
        wanted = (f"'{coordinates.pair}' nor " if coordinates.pair is not None else "") + \
                 f"both '{coordinates.latitude}' and '{coordinates.longitude}'"
        raise ConfigurationError(f"{where}: node {node} has no {wanted} (it has "
                                 f"{', '.join(sorted(map(str, data))) or 'no attributes'})")
    return (_degrees(lat, 90.0, "latitude", where, node),
            _degrees(lon, 180.0, "longitude", where, node))


def _degrees(raw: object, limit: float, what: str, where: str, node: str) -> float:
    number = _plain(raw)
    if number is None or not -limit <= number <= limit:
        raise ConfigurationError(f"{where}: node {node}: {what} must be a number of degrees "
                                 f"in [-{limit:g}, {limit:g}] (got {raw!r})")
    return number


def _attribute(data: dict[str, Any], name: str, where: str, u: str, v: str) -> object:
    if name not in data:
        raise ConfigurationError(f"{where}: link {u}-{v} has no '{name}' (it has "
                                 f"{', '.join(sorted(map(str, data))) or 'no attributes'})")
    return data[name]


def _plain(raw: object) -> float | None:
    """A finite number written as a number or a numeric string; else ``None``."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, (int, float)):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _quantity(raw: object, unit: str | None, dimensions: tuple[Dimension, ...], where: str,
              u: str, v: str) -> tuple[float, Dimension]:
    """A value in base units and its dimension: a plain number in ``unit`` (the first
    dimension's base unit without one), or a string with its own unit of a dimension."""
    number = _plain(raw)
    if number is not None:
        if unit is None:
            return number, dimensions[0]
        for dimension in dimensions:
            if unit in UNITS[dimension]:
                return number * UNITS[dimension][unit], dimension
        # `validate` reports the unit itself (`unit_problems`); this is for API callers.
        raise ConfigurationError(f"{where.rpartition('.')[0]}.unit: not a "
                                 f"{' or '.join(d.value for d in dimensions)} unit (got "
                                 f"{unit})")
    if isinstance(raw, str):
        for dimension in dimensions:
            try:
                return parse_quantity(raw, dimension), dimension
            except ValueError:
                continue
    kinds = " or ".join(d.value for d in dimensions)
    examples = {Dimension.TIME: "'5 ms'", Dimension.DISTANCE: "'120 km'",
                Dimension.BANDWIDTH: "'10 Gbps'"}
    raise ConfigurationError(f"{where}: link {u}-{v}: must be a number or a {kinds} "
                             f"quantity such as {' or '.join(examples[d] for d in dimensions)}"
                             f" (got {raw!r})")


def _bounded(value: float, key: str, where: str, u: str, v: str, raw: object) -> float:
    """``value`` if it is in the physical range of a link's ``key``; else a located error."""
    dimension = Dimension.TIME if key == "latency" else Dimension.BANDWIDTH
    smallest, largest = RANGES[dimension]
    if not math.isfinite(value) or value < 0 or value > largest:
        unit = "s" if key == "latency" else "bps"
        raise ConfigurationError(f"{where}: link {u}-{v}: {key} must be in [0, {largest:g}] "
                                 f"{unit} (got {raw!r})")
    if key == "bandwidth" and value < smallest:
        raise ConfigurationError(f"{where}: link {u}-{v}: must be at least {smallest:g} bps "
                                 f"(got {raw!r})")
    return value


def unit_problems(topology: FileTopology) -> list[Problem]:
    """Units of the mapped attributes that do not fit their quantity (``latency: kg``)."""
    problems = []
    for key, dimensions in UNIT_DIMENSIONS.items():
        mapping: FileLatency | FileAttribute | None = getattr(topology, key)
        if mapping is None or mapping.unit is None:
            continue
        if not any(mapping.unit in UNITS[d] for d in dimensions):
            kinds = " or ".join(d.value for d in dimensions)
            listed = ", ".join(
                ", ".join(sorted(UNITS[d], key=lambda s: UNITS[d][s])[:8]) for d in dimensions)
            problems.append(Problem(f"topology.{key}.unit", f"not a {kinds} unit (use one "
                                    f"of {listed}, ...)", mapping.unit))
    return problems
