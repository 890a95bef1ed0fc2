"""The reference of every scenario key, generated from the schema as Markdown.

``snakesim schema --markdown`` prints it; ``docs/scenario-keys.md`` is this text, checked
in, and a test fails when the two differ. Each row is a dotted key path, its type, its
default, its unit (for quantities, which also accept a string with a unit) and its
description (the docstring under the field in its model). Sections that come in kinds
(``topology``, ``strategy``, ``data.partition``, distributions) get one table per kind.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from snakesim.units import BASE_UNIT, Dimension

HEADER = """# Scenario keys

Generated from the scenario schema (`snakesim/config/schema.py` and the models it uses)
by `snakesim schema --markdown > docs/scenario-keys.md`; do not edit by hand. Units:
a quantity takes a number in the unit shown or a string with any unit of its kind
(`"5 ms"`, `"1.2 MB"`, `"100 Mbps"`).
"""

_TAGS = ("kind", "name", "dist")  # the keys that say which kind a section is


def key_reference(root: type[BaseModel]) -> str:
    """The Markdown reference of every key of ``root`` and the models it nests.

    Parameters
    ----------
    root
        A pydantic model, e.g. `snakesim.config.Scenario`.
    """
    lines = [HEADER]
    for title, rows in _sections(root, ""):
        lines += [f"\n## `{title}`\n" if title else "\n## Top level\n",
                  "| key | type | default | unit | description |",
                  "|---|---|---|---|---|"]
        lines += [f"| `{path}` | {kind} | {default} | {unit} | {text} |"
                  for path, kind, default, unit, text in rows]
    return "\n".join(lines) + "\n"


Row = tuple[str, str, str, str, str]


def _sections(model: type[BaseModel], prefix: str) -> Iterator[tuple[str, list[Row]]]:
    rows: list[Row] = []
    nested: list[tuple[str, type[BaseModel]]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        models = _models(field.annotation)
        rows.append((path, _type(field.annotation, models), _default(field),
                     _unit(field), _describe(field)))
        listed = path + ("[]" if _is_list(field.annotation) else "")
        for sub in models:
            tag = _tag(sub)
            nested.append((f"{listed} ({tag})" if tag and len(models) > 1 else listed, sub))
    yield prefix.rstrip("."), rows
    for path, sub in nested:
        yield from _sections(sub, f"{path}.")


def _is_list(annotation: Any) -> bool:
    """Whether a field holds a list of sections (its keys are shown as ``key[].sub``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_list(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_list(a) for a in typing.get_args(annotation))
    return origin is list


def _models(annotation: Any) -> list[type[BaseModel]]:
    """The models a field's value may be, in declaration order, once each."""
    found: list[type[BaseModel]] = []
    stack = [annotation]
    while stack:
        item = stack.pop(0)
        if isinstance(item, type) and issubclass(item, BaseModel):
            if item not in found:
                found.append(item)
            continue
        stack.extend(typing.get_args(item))
    return found


def _tag(model: type[BaseModel]) -> str:
    for key in _TAGS:
        field = model.model_fields.get(key)
        if field is not None and typing.get_origin(field.annotation) is Literal:
            return f"{key}: " + " | ".join(map(str, typing.get_args(field.annotation)))
    return model.__name__


def _type(annotation: Any, models: list[type[BaseModel]]) -> str:
    if models:
        return "section"
    return _name(annotation).replace("|", "\\|")


def _name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _name(args[0])
    if origin is Literal:
        return " | ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_name(a) for a in args)
    if origin in (list, tuple, dict):
        inner = ", ".join(_name(a) for a in args if a is not Ellipsis)
        return f"{origin.__name__}[{inner}]"
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "required"
    value = field.get_default(call_default_factory=True)
    if isinstance(value, BaseModel):
        return "see below" if type(value).model_fields else "{}"
    text = json.dumps(value, default=str)
    return f"`{text}`".replace("|", "\\|") if len(text) <= 40 else "see description"


def _unit(field: FieldInfo) -> str:
    for item in [*field.metadata, *_metadata(field.annotation)]:
        # Quantity validators carry their dimension (`snakesim.config.quantities`).
        dimension = getattr(getattr(item, "func", None), "snakesim_dimension", None)
        if isinstance(dimension, Dimension):
            return BASE_UNIT[dimension]
    return ""


def _metadata(annotation: Any) -> list[Any]:
    found = []
    for arg in [annotation, *typing.get_args(annotation)]:
        if typing.get_origin(arg) is typing.Annotated:
            found += list(getattr(arg, "__metadata__", ()))
    return found


def _describe(field: FieldInfo) -> str:
    text = " ".join((field.description or "").split()).replace("``", "`")
    return text.replace("|", "\\|") or "—"
