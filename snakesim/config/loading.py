"""Load scenario files: YAML -> validated, frozen `Scenario`, or one located error each.

Errors name the file, the key path as the user wrote it (pydantic's internal union
tags removed), the offending value as written, and the rule::

    scenarios/x.yaml: links.bandwidth: must be > 0 (got -5 Mbps)
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from snakesim.config.checks import check_scenario
from snakesim.config.schema import Scenario
from snakesim.config.textfile import FileTooLarge, read_bounded
from snakesim.config.yamlfile import parse_yaml
from snakesim.errors import ConfigurationError, Problem, ScenarioError


def load_scenario(path: str | Path, *, seed: int | None = None,
                  execution: dict[str, Any] | None = None) -> Scenario:
    """Read, validate and cross-check a scenario YAML file.

    Parameters
    ----------
    path
        The scenario file.
    seed
        Replaces the file's ``seed`` when given (the CLI's ``--seed``).
    execution
        Keys that replace the file's ``execution`` keys (the CLI's ``--device`` and
        ``--batch-clients``), validated as if the file held them.

    Raises
    ------
    ScenarioError
        If the file is missing, unreadable, not YAML, or not a valid scenario.
    """
    source = str(path)
    data = read_yaml(path)
    if seed is not None:
        data = {**data, "seed": seed}
    data = with_execution(data, execution)
    return validate_scenario(data, source)


def with_execution(data: dict[str, Any], execution: dict[str, Any] | None) -> dict[str, Any]:
    """``data`` with its ``execution`` keys replaced by ``execution``'s (when given)."""
    if not execution:
        return data
    current = data.get("execution")
    merged = {**current, **execution} if isinstance(current, dict) else dict(execution)
    return {**data, "execution": merged}


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Parse a YAML file whose top level must be a mapping.

    The file goes through `snakesim.config.yamlfile`: at most ``SNAKESIM_MAX_FILE_MB``,
    the YAML 1.2 core schema, no duplicate keys, bounded nesting and alias expansion.

    Raises
    ------
    ScenarioError
        One located problem if the file is missing, too large, unreadable, not YAML, or
        its top level is not a mapping.
    """
    source = str(path)
    file = Path(path)
    if not file.exists():
        raise ScenarioError(source, [Problem("", "no such file", None, False)])
    if not file.is_file():
        raise ScenarioError(source, [Problem("", "not a file", None, False)])
    try:
        raw = read_bounded(file)
    except FileTooLarge as err:
        raise ScenarioError(source, [Problem("", str(err), None, False)]) from None
    except OSError as err:
        raise ScenarioError(source, [Problem("", f"cannot read: {err}", None, False)]) from err
    data = parse_yaml(raw, source)
    if not isinstance(data, dict):
        raise ScenarioError(source, [Problem("", "must be a mapping of keys to values "
                                             "(name:, strategy:, ...)", type(data).__name__)])
    return data


def validate_scenario(data: Mapping[str, Any], source: str = "<scenario>") -> Scenario:
    """Validate a scenario given as plain data (e.g. parsed YAML); see `load_scenario`."""
    try:
        scenario = Scenario.model_validate(dict(data))
    except ValidationError as err:
        raise ScenarioError(source, problems_from(err, data)) from None
    try:
        problems = check_scenario(scenario)
    except ConfigurationError as err:  # e.g. a topology file that cannot be read
        raise ScenarioError(source, [Problem("", str(err), None, False)]) from None
    if problems:
        raise ScenarioError(source, problems)
    return scenario


def problems_from(err: ValidationError, data: Mapping[str, Any]) -> list[Problem]:
    """Turn pydantic's errors into `Problem`s with user-facing key paths and values."""
    problems = []
    for item in _drop_union_type_misses(err.errors()):
        where, value, found = _locate(item["loc"], data)
        rule = _rule(item)
        if item["type"] == "missing":
            problems.append(Problem(where, "is required", None, False))
        elif item["type"] == "extra_forbidden":
            problems.append(Problem(where, "unknown key", _key(item["loc"][-1])))
        else:
            problems.append(Problem(where, rule, value if found else item.get("input")))
    return problems


def _locate(loc: tuple[int | str, ...], data: object) -> tuple[str, object, bool]:
    """Follow ``loc`` through the input, skipping pydantic's union/validator tags."""
    keys: list[str] = []
    current: object = data
    found = True
    for part in loc:
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        elif isinstance(current, (list, tuple)) and isinstance(part, int):
            if 0 <= part < len(current):
                current = current[part]
            else:
                found = False  # an item missing from a list that is too short
        elif isinstance(part, int) or _is_tag(part):
            continue
        else:
            found = False  # a key that is missing from the input (required field)
        keys.append(_key(part))
    return ".".join(keys), current, found


def _key(part: int | str) -> str:
    # Keys go into a one-line message: quote empty ones and ones with control characters.
    text = str(part)
    return text if text and text.isprintable() else repr(text)


def _is_tag(part: str) -> bool:
    # pydantic adds entries such as 'function-after[...]', 'tagged-union[...]', a
    # discriminator value ('uniform') or our '<spread>' tag; none is a key the user wrote.
    return ("[" in part or part.startswith(("<", "constrained-"))
            or part in _discriminator_values())


def _drop_union_type_misses(errors: list[Any]) -> list[Any]:
    """Drop "not of this type" errors of union members the input was not meant for.

    For ``nodes: 2`` against ``int >= 3 | list[str]`` pydantic reports both members;
    when another member of the same union got further (its error is not a bare type
    mismatch), the bare type mismatches only add noise: one problem, one line.
    """

    def is_type_miss(loc: tuple[int | str, ...], kind: str) -> bool:
        return bool(loc) and isinstance(loc[-1], str) and _is_tag(loc[-1]) and (
            kind.endswith("_type"))

    def dropped(item: Any) -> bool:
        loc = item["loc"]
        if not is_type_miss(loc, item["type"]):
            return False
        at = len(loc) - 1
        return any(
            other["loc"][:at] == loc[:at] and len(other["loc"]) > at
            and other["loc"][at] != loc[at] and isinstance(other["loc"][at], str)
            and _is_tag(other["loc"][at]) and not is_type_miss(other["loc"], other["type"])
            for other in errors
        )

    return [item for item in errors if not dropped(item)]


@functools.cache
def _discriminator_values() -> frozenset[str]:
    """Every value a discriminated union is chosen by (``kind``, ``name``, ``dist``).

    Read from the schema itself, so a new topology kind or strategy never shows up as
    a spurious key in error paths.
    """
    values = {"int", "str", "float", "list[str]", "bool"}
    for definition in Scenario.model_json_schema().get("$defs", {}).values():
        for key in ("kind", "name", "dist"):
            prop = definition.get("properties", {}).get(key, {})
            values.update(str(v) for v in [prop.get("const"), *prop.get("enum", [])] if v)
    return frozenset(values)


def _rule(item: Mapping[str, Any]) -> str:
    msg = str(item["msg"])
    for prefix in ("Value error, ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix):]
    return msg[0].lower() + msg[1:] if msg else msg
