"""Physical quantities written with units: time, data size, bandwidth, compute rate,
energy, power, and the distances and speeds of links read from topology files.

Scenario files may write ``"5 ms"``, ``"100 Mbps"``, ``"1.5 GB"``, ``"20 GFLOPS"``,
``"120 km"``, ``"2e8 m/s"`` or a plain number, which is taken in the SI base unit of its
dimension (seconds, bytes, bits per second, FLOP per second, metres, metres per
second). Parsing raises `ValueError` with a message that states the rule, so the config
layer can turn it into a located error.
"""

from __future__ import annotations

import math
import re
from enum import Enum


class Dimension(str, Enum):
    """What a quantity measures, and so which units it accepts."""

    TIME = "time"
    SIZE = "size"
    BANDWIDTH = "bandwidth"
    COMPUTE = "compute"
    ENERGY = "energy"
    POWER = "power"
    DISTANCE = "distance"
    SPEED = "speed"


_SI = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15}
_BIN = {"Ki": 2.0**10, "Mi": 2.0**20, "Gi": 2.0**30, "Ti": 2.0**40, "Pi": 2.0**50}


def _unit_table() -> dict[Dimension, dict[str, float]]:
    time = {"s": 1.0, "sec": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9,
            "min": 60.0, "h": 3600.0}
    size: dict[str, float] = {}
    bandwidth: dict[str, float] = {}
    compute: dict[str, float] = {}
    for prefix, factor in {**_SI, **_BIN}.items():
        size[f"{prefix}B"] = factor
        bandwidth[f"{prefix}B/s"] = 8 * factor
        bandwidth[f"{prefix}Bps"] = 8 * factor
    for prefix, factor in _SI.items():
        size[f"{prefix}bit"] = factor / 8
        bandwidth[f"{prefix}bps"] = factor
        bandwidth[f"{prefix}bit/s"] = factor
        compute[f"{prefix}FLOPS"] = factor
        compute[f"{prefix}FLOP/s"] = factor
        compute[f"{prefix}flops"] = factor
    small = {"m": 1e-3, "u": 1e-6, "µ": 1e-6, "n": 1e-9, "p": 1e-12, "f": 1e-15}
    scales = {**{p: f for p, f in _SI.items() if p != "K"}, **small}
    energy = {f"{p}J": f for p, f in scales.items()} | {"Wh": 3600.0, "kWh": 3.6e6}
    power = {f"{p}W": f for p, f in scales.items()}
    # Lengths and speeds of links read from topology files (distances in km or miles).
    distance = {"m": 1.0, "km": 1e3, "mi": 1609.344}
    speed = {"m/s": 1.0, "km/s": 1e3, "km/h": 1 / 3.6}
    return {Dimension.TIME: time, Dimension.SIZE: size, Dimension.BANDWIDTH: bandwidth,
            Dimension.COMPUTE: compute, Dimension.ENERGY: energy, Dimension.POWER: power,
            Dimension.DISTANCE: distance, Dimension.SPEED: speed}


UNITS: dict[Dimension, dict[str, float]] = _unit_table()
"""Accepted unit symbols per dimension, mapped to their factor to the SI base unit."""

BASE_UNIT = {Dimension.TIME: "s", Dimension.SIZE: "B", Dimension.BANDWIDTH: "bps",
             Dimension.COMPUTE: "FLOPS", Dimension.ENERGY: "J", Dimension.POWER: "W",
             Dimension.DISTANCE: "m", Dimension.SPEED: "m/s"}

MAX_TEXT = 64
"""The longest string read as a quantity (``"1.5e-3 GFLOPS"`` needs 13 characters)."""

_PATTERN = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([^\d\s].*?)?\s*$")


def parse_quantity(value: object, dimension: Dimension) -> float:
    """Convert ``value`` to the SI base unit of ``dimension``.

    Parameters
    ----------
    value
        A number (already in base units) or a string ``"<number> <unit>"``.
    dimension
        Which kind of quantity is expected; decides the accepted units.

    Returns
    -------
    float
        The value in seconds, bytes, bits per second or FLOP per second.

    Raises
    ------
    ValueError
        If the value is not a number, the unit is unknown for the dimension, or the
        number is not finite.
    """
    if isinstance(value, bool):
        raise ValueError(f"must be a {dimension.value} quantity such as {_example(dimension)}")
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        # A quantity is short; a long string would only cost the pattern time.
        if len(value) > MAX_TEXT:
            raise ValueError(f"must be a number with a {dimension.value} unit, such as "
                             f"{_example(dimension)} (got {len(value)} characters)")
        match = _PATTERN.match(value)
        if match is None:
            raise ValueError(
                f"must be a number with a {dimension.value} unit, such as {_example(dimension)}"
            )
        unit = match.group(2) or ""
        units = UNITS[dimension]
        if unit and unit not in units:
            raise ValueError(
                f"unknown {dimension.value} unit '{unit}' "
                f"(use one of {', '.join(_common(dimension))})"
            )
        number = float(match.group(1)) * (units[unit] if unit else 1.0)
    else:
        raise ValueError(f"must be a {dimension.value} quantity such as {_example(dimension)}")
    if not math.isfinite(number):
        raise ValueError("must be a finite number")
    return number


def _example(dimension: Dimension) -> str:
    return {Dimension.TIME: "'5 ms'", Dimension.SIZE: "'1.5 GB'",
            Dimension.BANDWIDTH: "'100 Mbps'", Dimension.COMPUTE: "'20 GFLOPS'",
            Dimension.ENERGY: "'2 pJ'", Dimension.POWER: "'3 W'",
            Dimension.DISTANCE: "'120 km'", Dimension.SPEED: "'2e8 m/s'"}[dimension]


def _common(dimension: Dimension) -> list[str]:
    return {
        Dimension.TIME: ["ns", "us", "ms", "s", "min", "h"],
        Dimension.SIZE: ["B", "kB", "MB", "GB", "TB", "KiB", "MiB", "GiB"],
        Dimension.BANDWIDTH: ["bps", "kbps", "Mbps", "Gbps", "Tbps", "MB/s", "GB/s"],
        Dimension.COMPUTE: ["FLOPS", "MFLOPS", "GFLOPS", "TFLOPS", "PFLOPS"],
        Dimension.ENERGY: ["fJ", "pJ", "nJ", "uJ", "mJ", "J", "kJ", "Wh", "kWh"],
        Dimension.POWER: ["uW", "mW", "W", "kW"],
        Dimension.DISTANCE: ["m", "km", "mi"],
        Dimension.SPEED: ["m/s", "km/s", "km/h"],
    }[dimension]


def format_quantity(value: float, dimension: Dimension) -> str:
    """Render a base-unit value with a readable SI prefix (``1.5e9, SIZE -> '1.5 GB'``)."""
    base = BASE_UNIT[dimension]
    if dimension in (Dimension.ENERGY, Dimension.POWER) and 0 < abs(value) < 1:
        for prefix, factor in (("m", 1e-3), ("u", 1e-6), ("n", 1e-9), ("p", 1e-12)):
            if abs(value) >= factor:
                return f"{value / factor:.3g} {prefix}{base}"
        return f"{value / 1e-15:.3g} f{base}"
    if dimension in (Dimension.DISTANCE, Dimension.SPEED):
        kilo = "km" if dimension is Dimension.DISTANCE else "km/s"
        return (f"{value / 1e3:.3g} {kilo}" if abs(value) >= 1e3
                else f"{value:.3g} {base}")
    if dimension is Dimension.TIME:
        for unit, factor in (("h", 3600.0), ("min", 60.0), ("s", 1.0), ("ms", 1e-3),
                             ("us", 1e-6)):
            if abs(value) >= factor:
                return f"{value / factor:.3g} {unit}"
        return f"{value / 1e-9:.3g} ns"
    for prefix, factor in (("P", 1e15), ("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{base}"
    return f"{value:.3g} {base}"
