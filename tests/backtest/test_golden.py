"""Small fixed-seed runs against golden summaries (see regenerate.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.backtest.cases import CASES, CLOSE, EXACT, LEARNED, TOLERANCE, run_case

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

GOLDEN = Path(__file__).parent / "golden"


@pytest.mark.parametrize("name", sorted(CASES))
def test_matches_golden(name: str) -> None:
    expected = json.loads((GOLDEN / f"{name}.json").read_text())
    actual = run_case(name)
    for key in EXACT:
        assert actual[key] == expected[key], key
    for key in CLOSE:
        assert actual[key] == pytest.approx(expected[key], rel=1e-9), key
    for key in LEARNED:
        assert abs(actual[key] - expected[key]) <= TOLERANCE, key
