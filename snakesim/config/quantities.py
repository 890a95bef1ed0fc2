"""Pydantic field types for quantities with units (see `snakesim.units`).

Each type accepts a number in SI base units or a string with a unit, stores a float in
base units, and enforces its sign rule with a message the loader turns into
``file: key.path: must be > 0 (got -5 Mbps)``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from snakesim.units import BASE_UNIT, Dimension, parse_quantity

RANGES: dict[Dimension, tuple[float, float]] = {
    Dimension.TIME: (1e-9, 1e9),
    Dimension.SIZE: (1.0, 1e18),
    Dimension.BANDWIDTH: (1.0, 1e15),
    Dimension.COMPUTE: (1.0, 1e21),
    Dimension.ENERGY: (1e-18, 1e3),
    Dimension.POWER: (1e-9, 1e9),
    Dimension.DISTANCE: (1e-3, 1e12),
    Dimension.SPEED: (1.0, 299_792_458.0),
}
"""The physical range of each dimension: any value above the second bound is refused,
and so is a value below the first where the quantity must be positive. The bounds are
far beyond real hardware (1 ns to 31 years, 1 B to 1 EB, 1 bit/s to 1 Pbit/s, up to
1 ZFLOP/s, up to 1 kJ per bit or FLOP, up to 1 GW, up to 1e12 m, 1 m/s to the speed
of light) and keep every derived time, count
and energy finite."""


def _quantity(dimension: Dimension, *, allow_zero: bool,
              low: float | None = None) -> BeforeValidator:
    smallest, largest = RANGES[dimension]
    if low is not None:
        smallest = low
    unit = BASE_UNIT[dimension]

    def parse(value: object) -> float:
        number = parse_quantity(value, dimension)
        if number < 0 or (number == 0 and not allow_zero):
            raise ValueError("must be >= 0" if allow_zero else "must be > 0")
        if number > largest:
            raise ValueError(f"must be at most {largest:g} {unit}")
        # A tiny latency or start time is harmless; a tiny rate or duration is not
        # (times and event counts would overflow), so only positive kinds have a floor.
        if not allow_zero and number < smallest:
            raise ValueError(f"must be at least {smallest:g} {unit}")
        return number

    parse.snakesim_dimension = dimension  # type: ignore[attr-defined]  # key reference
    # Editors see the input form (number or string with unit), not the stored float.
    return BeforeValidator(parse, json_schema_input_type=float | str)


_AS_FLOAT = PlainSerializer(float, return_type=float)

Seconds = Annotated[float, _quantity(Dimension.TIME, allow_zero=False), _AS_FLOAT]
"""A positive duration in seconds (accepts ``"5 ms"``)."""
NonNegSeconds = Annotated[float, _quantity(Dimension.TIME, allow_zero=True), _AS_FLOAT]
"""A duration in seconds that may be zero (link latency)."""
OutageSeconds = Annotated[float, _quantity(Dimension.TIME, allow_zero=False, low=1e-3),
                          _AS_FLOAT]
"""A positive duration of an outage process, at least 1 ms: shorter outages are below
the model's resolution, and a microsecond on/off process would flood the event queue."""
Bytes = Annotated[float, _quantity(Dimension.SIZE, allow_zero=False), _AS_FLOAT]
"""A positive data size in bytes (accepts ``"1.5 GB"``)."""
BitsPerSecond = Annotated[float, _quantity(Dimension.BANDWIDTH, allow_zero=False), _AS_FLOAT]
"""A positive bandwidth in bits per second (accepts ``"100 Mbps"``)."""
FlopsPerSecond = Annotated[float, _quantity(Dimension.COMPUTE, allow_zero=False), _AS_FLOAT]
"""A positive compute rate in FLOP per second (accepts ``"20 GFLOPS"``)."""
Joules = Annotated[float, _quantity(Dimension.ENERGY, allow_zero=True), _AS_FLOAT]
"""An energy in joules that may be zero (accepts ``"2 pJ"``)."""
Watts = Annotated[float, _quantity(Dimension.POWER, allow_zero=True), _AS_FLOAT]
"""A power in watts that may be zero (accepts ``"3 W"``)."""
MetresPerSecond = Annotated[float, _quantity(Dimension.SPEED, allow_zero=False), _AS_FLOAT]
"""A positive speed in metres per second, at most the speed of light (accepts
``"2e8 m/s"``, ``"200000 km/s"``): a signal's propagation speed."""
