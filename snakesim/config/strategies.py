"""Strategy sections of a scenario: one frozen model per scheme, chosen by ``name``.

Each scheme's options live in its own class; `Strategy` is the discriminated union the
scenario's ``strategy`` key accepts. Cross-references (server, route) are checked in
`snakesim.config.checks`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Frozen(BaseModel):
    """Base of every schema model: immutable, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


def _on_off(value: object) -> object:
    # YAML 1.1 reads a bare on/off as a boolean; accept what the user meant.
    return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


class SnakeStrategy(Frozen):
    """Snake Learning (Yu et al., arXiv 2405.03372): see `snakesim.strategies.snake`."""

    name: Literal["snake"]
    mode: Literal["p2p", "cs"] = "p2p"
    server: str | None = None
    route: list[str] | None = None
    head_trainable: bool = True
    distill: Annotated[Literal["off", "on"], BeforeValidator(_on_off)] = "off"
    distill_weight: float = Field(default=1.0, gt=0)
    distill_temperature: float = Field(default=2.0, gt=0)


class FedAvgStrategy(Frozen):
    """Federated averaging (McMahan et al. 2017) through a server node."""

    name: Literal["fedavg"]
    server: str | None = None


Strategy = Annotated[SnakeStrategy | FedAvgStrategy, Field(discriminator="name")]
