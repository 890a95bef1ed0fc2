"""Pydantic field types for quantities with units (see `snakesim.units`).

Each type accepts a number in SI base units or a string with a unit, stores a float in
base units, and enforces its sign rule with a message the loader turns into
``file: key.path: must be > 0 (got -5 Mbps)``.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from snakesim.units import Dimension, parse_quantity


def _quantity(dimension: Dimension, *, allow_zero: bool) -> BeforeValidator:
    def parse(value: object) -> float:
        number = parse_quantity(value, dimension)
        if number < 0 or (number == 0 and not allow_zero):
            raise ValueError("must be >= 0" if allow_zero else "must be > 0")
        return number

    # Editors see the input form (number or string with unit), not the stored float.
    return BeforeValidator(parse, json_schema_input_type=float | str)


_AS_FLOAT = PlainSerializer(float, return_type=float)

Seconds = Annotated[float, _quantity(Dimension.TIME, allow_zero=False), _AS_FLOAT]
"""A positive duration in seconds (accepts ``"5 ms"``)."""
NonNegSeconds = Annotated[float, _quantity(Dimension.TIME, allow_zero=True), _AS_FLOAT]
"""A duration in seconds that may be zero (link latency)."""
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
