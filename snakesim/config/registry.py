"""Adding a scheme or a link technology without editing snakesim.

A scheme is one module: its section's class (a `SchemeSpec` subclass with a one-value
``name`` literal, ``display`` and ``implementation``, the module itself) and a
``build(spec, topology)`` that returns its `snakesim.strategies.Strategy`; the module
calls `register_scheme` once, on import. A link technology is a name and a
`LinkTechnology`. Either is then accepted by the scenario schema (with located errors
for its options, as the shipped ones), checked, run and listed by ``snakesim schema``.
"""

from __future__ import annotations

import functools
import operator
from typing import Any, Literal

from snakesim.config.network import Tier, TieredTopology
from snakesim.config.presets import LINKS, LinkTechnology
from snakesim.config.schema import Scenario
from snakesim.config.strategies import SCHEMES, SchemeSpec, scheme_name


def register_scheme(spec: type[SchemeSpec]) -> None:
    """Accept scenarios whose ``strategy.name`` is ``spec``'s name from now on.

    Raises
    ------
    ValueError
        If a scheme of that name exists, or ``spec`` lacks ``display`` or
        ``implementation``.
    """
    name = scheme_name(spec)
    if name in {scheme_name(s) for s in SCHEMES}:
        raise ValueError(f"a scheme named {name!r} is already registered")
    for attribute in ("display", "implementation"):
        if not isinstance(getattr(spec, attribute, None), str):
            raise ValueError(f"scheme {name!r}: {attribute} must be a class-level string")
    SCHEMES.append(spec)
    # The discriminator (``name``) stays on the field; only the members change.
    _retype(Scenario, "strategy", functools.reduce(operator.or_, SCHEMES))


def register_link_technology(name: str, technology: LinkTechnology) -> None:
    """Accept ``name`` as a tier's ``link`` (and in its ``links`` map) from now on.

    Raises
    ------
    ValueError
        If a technology of that name exists.
    """
    if name in LINKS:
        raise ValueError(f"a link technology named {name!r} is already registered")
    LINKS[name] = technology  # type: ignore[index]  # the literal grows below
    names: Any = Literal[tuple(LINKS)]
    _retype(Tier, "link", names | None, rebuild=False)
    _retype(Tier, "links", dict[str, names], rebuild=False)
    for model in (Tier, TieredTopology, Scenario):  # the models that hold a tier
        model.model_rebuild(force=True)


def _retype(model: type[Any], field: str, annotation: Any, rebuild: bool = True) -> None:
    model.model_fields[field].annotation = annotation
    if rebuild:
        model.model_rebuild(force=True)
