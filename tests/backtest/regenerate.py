"""Regenerate the backtest's golden files after an intended change of behaviour.

    python tests/backtest/regenerate.py

Review the diff of tests/backtest/golden/ before committing it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from tests.backtest.cases import CASES, run_case  # noqa: E402

if __name__ == "__main__":
    torch.set_num_threads(1)
    golden = Path(__file__).parent / "golden"
    golden.mkdir(exist_ok=True)
    for name in CASES:
        path = golden / f"{name}.json"
        path.write_text(json.dumps(run_case(name), indent=2, sort_keys=True) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
