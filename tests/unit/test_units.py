"""Tests of `snakesim.units`: quantities written with units, parsed to SI base units."""

from __future__ import annotations

import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from snakesim.units import BASE_UNIT, UNITS, Dimension, format_quantity, parse_quantity

TIME, SIZE, BANDWIDTH, COMPUTE = (Dimension.TIME, Dimension.SIZE, Dimension.BANDWIDTH,
                                  Dimension.COMPUTE)


# ------------------------------------------------------------------------ examples
@pytest.mark.parametrize(
    ("text", "dimension", "expected"),
    [
        # time
        ("5 ms", TIME, 0.005),
        ("5ms", TIME, 0.005),
        ("2 s", TIME, 2.0),
        ("2 sec", TIME, 2.0),
        ("250 us", TIME, 250e-6),
        ("250 µs", TIME, 250e-6),
        ("40 ns", TIME, 40e-9),
        ("1.5 min", TIME, 90.0),
        ("2 h", TIME, 7200.0),
        # size
        ("1.5 GB", SIZE, 1.5e9),
        ("2 GiB", SIZE, 2 * 2**30),
        ("512 KiB", SIZE, 512 * 1024),
        ("3 MiB", SIZE, 3 * 2**20),
        ("10 kB", SIZE, 1e4),
        ("10 KB", SIZE, 1e4),
        ("7 B", SIZE, 7.0),
        ("8 bit", SIZE, 1.0),
        ("16 Mbit", SIZE, 2e6),
        ("1 TB", SIZE, 1e12),
        # bandwidth (stored in bit/s)
        ("100 Mbps", BANDWIDTH, 1e8),
        ("1 Gbps", BANDWIDTH, 1e9),
        ("56 kbps", BANDWIDTH, 56e3),
        ("12.5 MB/s", BANDWIDTH, 1e8),
        ("12.5 MBps", BANDWIDTH, 1e8),
        ("1 GB/s", BANDWIDTH, 8e9),
        ("10 Mbit/s", BANDWIDTH, 1e7),
        ("9600 bps", BANDWIDTH, 9600.0),
        # compute (stored in FLOP/s)
        ("20 GFLOPS", COMPUTE, 2e10),
        ("1.5 TFLOPS", COMPUTE, 1.5e12),
        ("3 MFLOP/s", COMPUTE, 3e6),
        ("2 Gflops", COMPUTE, 2e9),
        ("1 PFLOPS", COMPUTE, 1e15),
        # scientific notation, signs and spacing
        ("1e-3 s", TIME, 1e-3),
        ("2.5E2 ms", TIME, 0.25),
        ("1.5e9 B", SIZE, 1.5e9),
        ("1e+2 Mbps", BANDWIDTH, 1e8),
        (".5 GB", SIZE, 5e8),
        ("3. s", TIME, 3.0),
        ("  5 ms  ", TIME, 0.005),
        ("+5 ms", TIME, 0.005),
        ("-5 ms", TIME, -0.005),
        ("0 s", TIME, 0.0),
    ],
)
def test_parse_examples(text: str, dimension: Dimension, expected: float) -> None:
    assert parse_quantity(text, dimension) == pytest.approx(expected)


@pytest.mark.parametrize("dimension", list(Dimension))
@pytest.mark.parametrize(("value", "expected"),
                         [(5, 5.0), (0.25, 0.25), (1e9, 1e9), ("42", 42.0), ("1e6", 1e6),
                          ("3.5", 3.5), (0, 0.0)])
def test_plain_numbers_are_in_base_units(value: object, expected: float,
                                         dimension: Dimension) -> None:
    result = parse_quantity(value, dimension)
    assert isinstance(result, float)
    assert result == expected


def test_base_units_have_factor_one() -> None:
    for dimension, unit in BASE_UNIT.items():
        assert UNITS[dimension][unit] == 1.0
        assert parse_quantity(f"3 {unit}", dimension) == 3.0


def test_same_symbol_means_different_things_per_dimension() -> None:
    # "MB" is a size; as a bandwidth it must be written "MB/s" or "MBps".
    assert parse_quantity("1 MB", SIZE) == 1e6
    with pytest.raises(ValueError, match="unknown bandwidth unit 'MB'"):
        parse_quantity("1 MB", BANDWIDTH)
    with pytest.raises(ValueError, match="unknown time unit 'GB'"):
        parse_quantity("1 GB", TIME)


# ---------------------------------------------------------------------- rejections
@pytest.mark.parametrize(
    ("text", "dimension", "unit", "listed"),
    [
        ("5 furlongs", TIME, "furlongs", ["ns", "us", "ms", "s", "min", "h"]),
        ("5 days", TIME, "days", ["ms", "s", "min", "h"]),
        ("1 XB", SIZE, "XB", ["B", "kB", "MB", "GB", "KiB", "MiB", "GiB"]),
        ("100 mbps", BANDWIDTH, "mbps", ["bps", "kbps", "Mbps", "Gbps", "MB/s"]),
        ("10 GFLOP", COMPUTE, "GFLOP", ["FLOPS", "GFLOPS", "TFLOPS"]),
        ("5 ms", SIZE, "ms", ["B", "GB"]),
    ],
)
def test_unknown_unit_names_the_unit_and_lists_accepted_ones(
    text: str, dimension: Dimension, unit: str, listed: list[str]
) -> None:
    with pytest.raises(ValueError) as info:
        parse_quantity(text, dimension)
    message = str(info.value)
    assert f"unknown {dimension.value} unit '{unit}'" in message
    assert "use one of" in message
    accepted = message.split("use one of", 1)[1].strip(" ()").split(", ")
    for symbol in listed:
        assert symbol in accepted
    # Every suggestion really is accepted for that dimension.
    for symbol in accepted:
        assert symbol in UNITS[dimension]
    assert "\n" not in message


@pytest.mark.parametrize("dimension", list(Dimension))
@pytest.mark.parametrize("text", ["", "   ", "abc", "ms", "fast", "5 5 ms", "1,5 GB", "--5 s",
                                  "five ms", "1e s e", "0x10 B"])
def test_garbage_strings_are_rejected(text: str, dimension: Dimension) -> None:
    with pytest.raises(ValueError) as info:
        parse_quantity(text, dimension)
    message = str(info.value)
    assert dimension.value in message
    assert "\n" not in message


@pytest.mark.parametrize("dimension", list(Dimension))
def test_garbage_message_gives_an_example(dimension: Dimension) -> None:
    example = {TIME: "'5 ms'", SIZE: "'1.5 GB'", BANDWIDTH: "'100 Mbps'",
               COMPUTE: "'20 GFLOPS'", Dimension.ENERGY: "'2 pJ'",
               Dimension.POWER: "'3 W'", Dimension.DISTANCE: "'120 km'",
               Dimension.SPEED: "'2e8 m/s'"}[dimension]
    with pytest.raises(ValueError, match=f"must be a number with a {dimension.value} unit"
                                         f", such as {example}"):
        parse_quantity("lots", dimension)
    # and the example itself parses
    assert parse_quantity(example.strip("'"), dimension) > 0


@pytest.mark.parametrize("dimension", list(Dimension))
@pytest.mark.parametrize("value", [True, False, None, [1], {"value": 1}, (5, "ms"), b"5 ms",
                                   object()])
def test_non_numbers_are_rejected(value: object, dimension: Dimension) -> None:
    with pytest.raises(ValueError, match=f"must be a {dimension.value} quantity such as"):
        parse_quantity(value, dimension)


@pytest.mark.parametrize("dimension", list(Dimension))
@pytest.mark.parametrize("value", [math.inf, -math.inf, math.nan, "1e999", "-1e400"])
def test_non_finite_numbers_are_rejected(value: object, dimension: Dimension) -> None:
    with pytest.raises(ValueError, match="must be a finite number"):
        parse_quantity(value, dimension)


@pytest.mark.parametrize(("text", "dimension"),
                         [("1e999 s", TIME), ("1e306 h", TIME), ("1e300 PB", SIZE),
                          ("1e300 PiB", SIZE), ("1e300 PB/s", BANDWIDTH),
                          ("1e300 PFLOPS", COMPUTE)])
def test_overflow_through_the_unit_is_rejected(text: str, dimension: Dimension) -> None:
    with pytest.raises(ValueError, match="must be a finite number"):
        parse_quantity(text, dimension)


@pytest.mark.parametrize("text", ["inf", "nan", "inf s", "NaN ms", "infinity"])
def test_non_finite_words_are_rejected(text: str) -> None:
    with pytest.raises(ValueError):
        parse_quantity(text, TIME)


# ---------------------------------------------------------------------- formatting
@pytest.mark.parametrize(
    ("value", "dimension", "expected"),
    [
        (1.5e9, SIZE, "1.5 GB"),
        (2.0, SIZE, "2 B"),
        (1e8, BANDWIDTH, "100 Mbps"),
        (2e10, COMPUTE, "20 GFLOPS"),
        (0.005, TIME, "5 ms"),
        (7200.0, TIME, "2 h"),
        (90.0, TIME, "1.5 min"),
        (2.5e-7, TIME, "250 ns"),
        (1.2345e12, COMPUTE, "1.23 TFLOPS"),
    ],
)
def test_format_examples(value: float, dimension: Dimension, expected: str) -> None:
    assert format_quantity(value, dimension) == expected


# ---------------------------------------------------------------------- properties
_dimension_and_unit = st.sampled_from(
    [(dimension, unit) for dimension in Dimension for unit in UNITS[dimension]]
)


@given(x=st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
       dimension_unit=_dimension_and_unit)
def test_parse_any_number_with_any_unit(x: float, dimension_unit: tuple[Dimension, str]
                                        ) -> None:
    dimension, unit = dimension_unit
    expected = x * UNITS[dimension][unit]
    assume(math.isfinite(expected))
    assert parse_quantity(f"{x!r} {unit}", dimension) == pytest.approx(expected)
    assert parse_quantity(f"{x!r}{unit}", dimension) == pytest.approx(expected)


@given(x=st.floats(min_value=0.0, allow_nan=False, allow_infinity=False),
       dimension=st.sampled_from(list(Dimension)))
def test_plain_numbers_parse_unchanged(x: float, dimension: Dimension) -> None:
    assert parse_quantity(x, dimension) == x
    assert parse_quantity(repr(x), dimension) == x


@given(x=st.floats(min_value=1e-200, max_value=1e200), dimension=st.sampled_from(list(Dimension)))
def test_format_then_parse_round_trips(x: float, dimension: Dimension) -> None:
    text = format_quantity(x, dimension)
    # three significant digits: at most half a unit in the third digit, i.e. 0.5 %
    assert parse_quantity(text, dimension) == pytest.approx(x, rel=0.005 + 1e-9)


@given(text=st.text(max_size=30), dimension=st.sampled_from(list(Dimension)))
def test_any_text_parses_or_raises_value_error(text: str, dimension: Dimension) -> None:
    try:
        result = parse_quantity(text, dimension)
    except ValueError as err:
        assert str(err)
    else:
        assert math.isfinite(result)
