"""Count, per corpus category, how the CLI answers: refused, accepted, traceback, hang.

    .venv/bin/python -m tests.fuzz.tally            # the snakesim on the path

Used for the before/after figures of issue #10 (run it against an older checkout by
putting that checkout's package first on PYTHONPATH).
"""

from __future__ import annotations

import os
import tempfile
from collections import Counter
from pathlib import Path

from tests.fuzz.harness import CORPUS, MANIFEST, command, refusal


def outcome(why: str | None) -> str:
    """The class of a refusal reason: refused, accepted, traceback, hang, unlocated."""
    if why is None:
        return "refused"
    if why.startswith("traceback: Hung"):
        return "hang"
    if why.startswith("traceback"):
        return "traceback"
    if why.startswith("exit 0"):
        return "accepted"
    return "unlocated" if why.startswith(("unlocated", "no error")) else "other exit"


def main() -> None:
    counts: dict[str, Counter[str]] = {}
    os.chdir(CORPUS)
    with tempfile.TemporaryDirectory() as tmp:
        for i, entry in enumerate(MANIFEST):
            why = refusal(command(entry, Path(tmp) / f"out{i}"), entry["file"])
            counts.setdefault(entry["category"], Counter())[outcome(why)] += 1
    kinds = ["refused", "accepted", "traceback", "hang", "unlocated", "other exit"]
    print("| category | cases | " + " | ".join(kinds) + " |")
    print("|---" * (len(kinds) + 2) + "|")
    total: Counter[str] = Counter()
    for category, counter in sorted(counts.items()):
        total.update(counter)
        print(f"| {category} | {sum(counter.values())} | "
              + " | ".join(str(counter[k]) for k in kinds) + " |")
    print(f"| all | {sum(total.values())} | " + " | ".join(str(total[k]) for k in kinds)
          + " |")


if __name__ == "__main__":
    main()
