"""Sweep files: a base scenario and the dotted keys to vary, as a grid and/or zipped lists.

A sweep expands into points (one scenario each): the Cartesian product of ``grid``,
times the rows of ``zip`` (lists of equal length varied together), times ``seeds``.
Every point is validated as a full scenario before anything runs; a bad key or value is
reported at its place in the sweep file (``sweep.yaml: grid.data.partition.alpha.2:
must be greater than 0 (got -1)``).

An optional ``target`` (``{accuracy: 0.9}`` or ``{perplexity: 30}``,
`snakesim.config.targets.QualityTarget`) adds the cost of reaching it to the sweep's
summary; every point must measure that metric.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field, ValidationError, field_validator

from snakesim.config.loading import problems_from, read_yaml, validate_scenario, with_execution
from snakesim.config.schema import Scenario
from snakesim.config.strategies import Frozen
from snakesim.config.targets import QualityTarget, scenario_metric
from snakesim.errors import Problem, ScenarioError

DottedKey = str
MAX_LABEL = 200
"""The longest point label (bytes) used as a folder name; longer ones are replaced."""


class SweepSpec(Frozen):
    """The sweep file's schema."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=80)
    """The sweep's name (letters, digits, ``_ . -``, at most 80 characters, starting with a
    letter or digit): the default sweep folder ``results/<name>``; each point's scenario is
    renamed ``<name>-<index>`` (4 digits)."""
    description: str = ""
    """Free text for people; it changes nothing that runs."""
    base: str
    """The base scenario file, relative to the sweep file; it must be valid on its own."""
    grid: dict[DottedKey, list[Any]] = Field(default_factory=dict)
    """Dotted scenario keys (or whole sections, e.g. ``strategy``) with a list of values each:
    every combination is a point."""
    zip: dict[DottedKey, list[Any]] = Field(default_factory=dict)
    """Dotted scenario keys with lists of equal length, varied together (row i of every list
    makes one point), times the grid."""
    seeds: list[int] | None = None
    """Replicate seeds: every point runs once per seed (not together with ``seed`` in ``grid``
    or ``zip``). null: the base scenario's seed."""
    target: QualityTarget | None = None
    """A quality target (``{accuracy: 0.9}`` or ``{perplexity: 30}``): the sweep's summary adds
    the cost of reaching it; every point must measure that metric. null: none."""

    @field_validator("grid", "zip")
    @classmethod
    def _non_empty_lists(cls, value: dict[str, list[Any]]) -> dict[str, list[Any]]:
        for key, values in value.items():
            if not values:
                raise ValueError(f"{key}: needs at least one value")
        return value


@dataclass(frozen=True)
class SweepPoint:
    """One run of a sweep: the swept values and the resulting scenario."""

    index: int
    values: dict[str, Any]
    scenario: Scenario

    @property
    def label(self) -> str:
        """A stable, readable folder name built from the swept values and the seed.

        Every part is slugged (letters, digits and ``.+-`` only, no leading dot), so the
        label is one plain file name: never a path, never hidden. A label longer than
        `MAX_LABEL` bytes becomes ``point-<index>-<hash of the values>``.
        """
        parts = [f"{_short(k)}={_slug(v)}" for k, v in self.values.items() if k != "seed"]
        parts.append(f"seed={self.scenario.seed}")
        label = "_".join(parts)
        if len(label.encode()) <= MAX_LABEL:
            return label
        values = json.dumps(self.values, sort_keys=True, default=str)
        digest = hashlib.sha256(values.encode()).hexdigest()[:12]
        return f"point-{self.index:04d}-{digest}"


@dataclass(frozen=True)
class Sweep:
    """A loaded, fully validated sweep."""

    spec: SweepSpec
    source: str
    base_path: Path
    base: dict[str, Any]
    points: tuple[SweepPoint, ...]

    @property
    def swept_keys(self) -> list[str]:
        """The varied dotted keys, grid first, then zip, then ``seed``."""
        keys = [*self.spec.grid, *self.spec.zip]
        return [*keys, "seed"] if "seed" not in keys else keys


def load_sweep(path: str | Path, *, execution: dict[str, Any] | None = None) -> Sweep:
    """Read a sweep file, expand it and validate every point.

    Raises
    ------
    ScenarioError
        With one located line per problem, in the sweep file or in its base scenario.
    """
    source = str(path)
    data = read_yaml(path)
    try:
        spec = SweepSpec.model_validate(data)
    except ValidationError as err:
        raise ScenarioError(source, problems_from(err, data)) from None
    base_path = (Path(path).parent / spec.base).resolve()
    problems = _shape_problems(spec)
    if problems:
        raise ScenarioError(source, problems)
    base = with_execution(read_yaml(base_path), execution)
    validate_scenario(base, str(base_path))  # the base alone must be valid
    points = tuple(_points(spec, base, source))
    if spec.target is not None:
        problems = _target_problems(spec.target, points)
        if problems:
            raise ScenarioError(source, problems)
    return Sweep(spec, source, base_path, base, points)


def _target_problems(target: QualityTarget, points: tuple[SweepPoint, ...]) -> list[Problem]:
    """One problem per kind of point that cannot meet ``target`` (first such point named)."""
    seen: dict[str | None, SweepPoint] = {}
    for point in points:
        metric = scenario_metric(point.scenario.model.name, point.scenario.mode)
        if metric != target.metric:
            seen.setdefault(metric, point)
    problems = []
    for found, point in seen.items():
        why = ("measures no quality (mode cost_only)" if found is None else
               f"is judged by {found} (model {point.scenario.model.name}), "
               f"not {target.metric}")
        problems.append(Problem(f"target.{target.metric}", f"point {point.label} {why}",
                                target.value))
    return problems


def _shape_problems(spec: SweepSpec) -> list[Problem]:
    problems = []
    lengths = {len(v) for v in spec.zip.values()}
    if len(lengths) > 1:
        problems.append(Problem("zip", "lists must all have the same length",
                                {k: len(v) for k, v in spec.zip.items()}))
    for key in spec.zip:
        if key in spec.grid:
            problems.append(Problem(f"zip.{key}", "is also in grid; vary it in one place", key))
    if spec.seeds is not None and ("seed" in spec.grid or "seed" in spec.zip):
        problems.append(Problem("seeds", "seeds given twice (also swept as 'seed')",
                                spec.seeds))
    if not spec.grid and not spec.zip and not spec.seeds:
        problems.append(Problem("", "nothing to sweep: give grid, zip or seeds", None, False))
    return problems


def _combinations(spec: SweepSpec) -> Iterator[dict[str, Any]]:
    grid_keys = list(spec.grid)
    zip_rows = [dict(zip(spec.zip, row, strict=True))
                for row in zip(*spec.zip.values(), strict=True)] or [{}]
    seeds: list[int | None] = list(spec.seeds) if spec.seeds else [None]
    for combo in itertools.product(*spec.grid.values()):
        for row in zip_rows:
            for seed in seeds:
                values = {**dict(zip(grid_keys, combo, strict=True)), **row}
                if seed is not None:
                    values["seed"] = seed
                yield values


def _points(spec: SweepSpec, base: dict[str, Any], source: str) -> Iterator[SweepPoint]:
    problems: list[Problem] = []
    seen_labels: set[str] = set()
    for index, values in enumerate(_combinations(spec)):
        data = copy.deepcopy(base)
        for key, value in values.items():
            _assign(data, key, value)
        data["name"] = f"{spec.name}-{index:04d}"
        try:
            scenario = validate_scenario(data, source)
        except ScenarioError as err:
            problems.extend(_relocate(p, spec, values) for p in err.problems)
            continue
        point = SweepPoint(index, values, scenario)
        if point.label in seen_labels:
            problems.append(Problem("", f"two points share the values {point.label}", None,
                                    False))
        seen_labels.add(point.label)
        yield point
    if problems:
        raise ScenarioError(source, _unique(problems))


def _unique(problems: list[Problem]) -> list[Problem]:
    """The problems without repeats, in order; a value may be a dict (a swept section),
    which cannot be hashed, so problems are compared by their text."""
    seen: set[tuple[str, str, str, bool]] = set()
    unique = []
    for problem in problems:
        key = (problem.where, problem.rule, repr(problem.value), problem.has_value)
        if key not in seen:
            seen.add(key)
            unique.append(problem)
    return unique


def _assign(data: dict[str, Any], dotted: str, value: Any) -> None:
    """Set ``data[a][b][c] = value`` for ``a.b.c``, creating mappings on the way."""
    keys = dotted.split(".")
    node: Any = data
    for key in keys[:-1]:
        child = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node[keys[-1]] = value


def _relocate(problem: Problem, spec: SweepSpec, values: Mapping[str, Any]) -> Problem:
    """Point a scenario problem at the sweep entry whose value caused it."""
    for section in ("grid", "zip"):
        for key, options in getattr(spec, section).items():
            if problem.where == key or problem.where.startswith(key + "."):
                if problem.rule == "unknown key" and problem.where == key:
                    return Problem(f"{section}.{key}", "is not a scenario key", key)
                position = _position(options, values[key])
                inner = problem.where[len(key):]  # ".mode" inside a swept section
                if inner:
                    return Problem(f"{section}.{key}.{position}{inner}", problem.rule,
                                   problem.value, problem.has_value)
                return Problem(f"{section}.{key}.{position}", problem.rule, values[key])
    if problem.where == "seed" and spec.seeds is not None:
        return Problem("seeds", problem.rule, values.get("seed"))
    return Problem(f"base: {problem.where}" if problem.where else "base", problem.rule,
                   problem.value, problem.has_value)


def _position(options: list[Any], value: Any) -> int:
    # Same type too: True == 1 and 1 == 1.0, yet they are different entries of a list.
    for i, option in enumerate(options):
        if type(option) is type(value) and option == value:
            return i
    return 0


def _short(key: str) -> str:
    # The last part of the dotted key; it is user text too (an `overrides` key can be
    # anything, '/etc/x' included), so it is slugged like a value, '_' kept
    # (``local_epochs``) as labels always had it.
    return _clean(key.rsplit(".", 1)[-1], keep="_")


def _slug(value: Any) -> str:
    if isinstance(value, Mapping):  # e.g. a whole strategy section: its values name it
        text = "-".join(str(v) for v in value.values())
    else:
        text = value if isinstance(value, str) else repr(value)
    return _clean(text)


def _clean(text: str, keep: str = "") -> str:
    """Letters, digits, ``.+-`` and ``keep`` only, no leading dot, at most 40 characters."""
    slug = re.sub(f"[^A-Za-z0-9.+{re.escape(keep)}-]+", "-", text).strip("-").lstrip(".")
    return slug[:40] or "x"
