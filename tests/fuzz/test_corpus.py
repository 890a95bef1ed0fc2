"""Every malformed file of the fuzz corpus is refused by the CLI: located, exit 2, no hang.

The corpus (`tests/fuzz/make_corpus.py`, committed under ``tests/fuzz/corpus``) holds
files that are invalid by construction, each with the stage that must refuse it. Each
runs through the CLI entry point in-process; the test fails on a traceback, an exit
code other than 2, an unlocated line, an accepted file, or a case still running after
the hang guard (`HANG_S`, far above the few milliseconds a refusal takes).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fuzz.harness import CORPUS, MANIFEST, command, invoke, refusal

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def in_corpus() -> Iterator[Path]:
    # Cases name their topology and trace files relative to the corpus folder.
    before = Path.cwd()
    os.chdir(CORPUS)
    try:
        yield CORPUS
    finally:
        os.chdir(before)


def test_the_corpus_covers_every_category() -> None:
    categories = {entry["category"] for entry in MANIFEST}
    assert len(MANIFEST) >= 300
    assert {"alias-bomb", "deep-nesting", "duplicate-key", "bool-as-number", "scale",
            "model-groups", "topology-file", "trace-file", "sweep", "yaml-1.1-quirk",
            "cross-reference", "out-of-range", "non-finite"} <= categories


def test_every_corpus_file_is_refusal(in_corpus: Path, tmp_path: Path) -> None:
    failures = []
    for i, entry in enumerate(MANIFEST):
        why = refusal(command(entry, tmp_path / f"out{i}"), entry["file"])
        if why is not None:
            failures.append(f"{entry['file']} ({entry['stage']}): {why}")
    assert not failures, f"{len(failures)} of {len(MANIFEST)} cases:\n" + "\n".join(failures)


@pytest.mark.parametrize("kind", ["huge-string", "many-keys", "long-list"])
def test_files_over_the_size_limit_are_refused_before_parsing(tmp_path: Path,
                                                              kind: str) -> None:
    path = tmp_path / f"{kind}.yaml"
    head = "name: big\nstrategy: {name: snake}\n"
    with path.open("w", encoding="utf-8") as stream:
        stream.write(head)
        if kind == "huge-string":
            stream.write("description: " + "x" * 50_000_000 + "\n")
        elif kind == "many-keys":
            stream.write("".join(f"k{i:08d}: 1\n" for i in range(3_500_000)))
        else:
            stream.write("description: [" + "1, " * 16_000_000 + "1]\n")
    code, output, error = invoke(["validate", str(path)])
    assert error is None and code == 2, output[-300:]
    assert "SNAKESIM_MAX_FILE_MB" in output and str(path) in output
