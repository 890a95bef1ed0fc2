"""The input contract, property-tested over mutations of every shipped scenario.

For any mutation (keys deleted, values swapped for other types or boundary numbers,
unknown keys added, union tags changed), either ``snakesim validate`` refuses the file
with located lines and exit 2, or ``snakesim run --cost-only`` of one round completes
(exit 0) or refuses it as a run-time condition with located lines and exit 2 (a data
folder that is not there, a node without the memory the scheme needs). Never a
traceback, never another exit code, never a hang.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from tests.conftest import REPO
from tests.fuzz.harness import invoke, unlocated

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow

SCENARIOS = sorted(p for p in (REPO / "scenarios").rglob("*.yaml") if "sweeps" not in p.parts)
TEXTS = {p: p.read_text(encoding="utf-8") for p in SCENARIOS}
VALUES: list[Any] = [True, False, None, 0, -1, 1, 2, 3, 0.5, -0.5, 2**31, 2**63, 10**12,
                     1e308, -1e308, 1e-300, "", "x", "1 Mbps", "5 ms", "1 GB", "1:30", [],
                     {}, [1], ["n1", "n2"], {"kind": "bogus"}, {"dist": "fixed", "value": 1},
                     "server", "n1"]
"""Replacement values: other types, boundary numbers, unit strings, node names."""
TAGS = ["star", "mesh", "tiered", "file", "iid", "dirichlet", "shards", "snake", "fedavg",
        "split", "splitfed", "central", "local", "fixed", "uniform", "list", "bogus"]


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path below the top of ``data``."""
    found: list[tuple[Any, ...]] = []
    items = (data.items() if isinstance(data, dict)
             else enumerate(data) if isinstance(data, list) else [])
    for key, value in items:
        found.append((*prefix, key))
        found.extend(paths(value, (*prefix, key)))
    return found


def parent(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path[:-1]:
        data = data[key]
    return data


@st.composite
def mutated(draw: st.DrawFn) -> tuple[Path, dict[str, Any]]:
    """A shipped scenario (one round) with one to three random mutations."""
    source = draw(st.sampled_from(SCENARIOS))
    data = yaml.safe_load(TEXTS[source])
    data.setdefault("training", {})["rounds"] = 1
    for _ in range(draw(st.integers(1, 3))):
        where = paths(data)
        if not where:
            break
        path = draw(st.sampled_from(where))
        holder, key = parent(data, path), path[-1]
        op = draw(st.sampled_from(["delete", "swap", "swap", "unknown", "tag", "scale",
                                   "scale"]))
        value = holder[key]
        if op == "scale" and isinstance(value, (int, float)) and not isinstance(value, bool):
            # Valid but extreme: the values a validator lets through must run.
            # Whole numbers are mostly workloads (rounds, epochs, clients, samples): they
            # only shrink, so a case stays a short run; rates and sizes go both ways.
            if isinstance(value, float):
                holder[key] = value * draw(st.sampled_from([0, 1e-6, 1e-3, 0.5, 10, 1000,
                                                            1e6]))
            else:
                holder[key] = draw(st.sampled_from([0, 1, value // 2]))
        elif op == "delete":
            del holder[key]
        elif op == "swap":
            holder[key] = copy.deepcopy(draw(st.sampled_from(VALUES)))
        elif op == "unknown" and isinstance(holder[key], dict):
            holder[key][draw(st.sampled_from(["extra", "Rounds", "kind", "name"]))] = 1
        elif op == "tag" and key in ("kind", "name", "dist"):
            holder[key] = draw(st.sampled_from(TAGS))
    return source, data


# CI runs a fixed sample; SNAKESIM_FUZZ_EXAMPLES=1000 SNAKESIM_FUZZ_RANDOM=1 explores more.
EXAMPLES = int(os.environ.get("SNAKESIM_FUZZ_EXAMPLES", "80"))
RANDOM = os.environ.get("SNAKESIM_FUZZ_RANDOM") == "1"


@settings(max_examples=EXAMPLES, deadline=None, derandomize=not RANDOM, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(case=mutated())
def test_a_mutated_scenario_is_refused_with_located_lines_or_runs(
        case: tuple[Path, dict[str, Any]], tmp_path_factory: Any) -> None:
    source, data = case
    folder = tmp_path_factory.mktemp("case")
    file = folder / "mutated.yaml"
    file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    context = f"mutation of {source.name}:\n{file.read_text()[:1500]}"
    code, output, error = invoke(["validate", str(file)])
    assert error is None, f"validate raised {error!r}; {context}"
    assert code in (0, 2), f"validate exit {code}: {output}; {context}"
    if code == 2:
        event("refused by validate")
        assert unlocated(output, str(file)) is None, f"{output}; {context}"
        return
    code, output, error = invoke(["run", str(file), "--cost-only", "-q",
                                  "--out", str(folder / "out")])
    assert error is None, f"run raised {error!r}; {context}"
    assert code in (0, 2), f"run exit {code}: {output}; {context}"
    event(f"run exit {code}")
    if code == 2:
        assert unlocated(output, str(file)) is None, f"{output}; {context}"
    else:
        assert (folder / "out" / "summary.json").is_file()
