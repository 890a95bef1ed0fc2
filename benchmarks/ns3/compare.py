"""Print snakesim's flow model beside the ns-3 goldens: one row per case and setting.

    .venv/bin/python benchmarks/ns3/compare.py [--sharing max_min|rtt_weighted]
                                                [--transport tcp|fluid]
                                                [--model flow|store_and_forward]

Reads ``tests/golden_ns3/*.json`` (made by ``run_ns3.py``; ns-3 is not needed here) and
replays each case through snakesim's fabric (`tests.functional.ns3_replay`). Errors are
snakesim's flow duration over ns-3's, minus 1: the worst flow of the case and the mean
of the absolute errors.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.functional.ns3_replay import errors, goldens


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="flow")
    parser.add_argument("--transport", default="tcp")
    parser.add_argument("--sharing", default="rtt_weighted")
    args = parser.parse_args()
    network = {"model": args.model, "transport": args.transport, "sharing": args.sharing}
    print(f"network: {network}")
    print("| case | buffers | flows | ns-3 (s) | snakesim (s) | worst error | mean abs error |")
    print("|---|---|---|---|---|---|---|")
    for name, golden in goldens().items():
        for setting in ("large", "small"):
            rows = errors(golden, setting, network)
            theirs, mine, worst, _ = max(rows.values(), key=lambda r: abs(r[2]))
            mean = sum(abs(r[2]) for r in rows.values()) / len(rows)
            print(f"| {name} | {setting} | {len(rows)} | {theirs:.4f} | {mine:.4f} | "
                  f"{worst * 100:+.1f}% | {mean * 100:.1f}% |")


if __name__ == "__main__":
    main()
