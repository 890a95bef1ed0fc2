"""Strategy sections of a scenario: one frozen model per scheme, chosen by ``name``.

Each scheme describes itself once, in its class (a `SchemeSpec`; Snake Learning's is in
`snakesim.config.snake_spec`): its options, its display name, the module that
implements it, whether it needs a server and which nodes it names. `SCHEMES` lists
them; `Strategy` is the discriminated union the scenario's ``strategy`` key accepts (a
test checks that it holds exactly `SCHEMES`), and the strategy registry, the
cross-reference checks (`snakesim.config.checks`) and the run's learner list all read
the descriptions instead of keeping lists of their own.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field

from snakesim.config.scheme_base import Frozen, LoraSpec, SchemeSpec, WithServer
from snakesim.config.snake_spec import (
    Schedule,
    SnakeAssignment,
    SnakeHead,
    SnakeStrategy,
    SnakeWindow,
)

__all__ = ["SCHEMES", "CentralStrategy", "FedAvgStrategy", "FedProxStrategy", "Frozen",
           "LocalStrategy", "LoraSpec", "Schedule", "SchemeSpec", "SnakeAssignment",
           "SnakeHead", "SnakeStrategy", "SnakeWindow", "SplitFedStrategy", "SplitStrategy",
           "Strategy", "WithServer", "scheme_name"]


class FedAvgStrategy(WithServer):
    """Federated averaging (McMahan et al. 2017) through a server node.

    ``fraction`` of the clients (at least one) is sampled each round; ``lora`` makes it
    parameter-efficient FL (clients train and send LoRA adapters only).
    """

    display: ClassVar[str] = "FedAvg"
    implementation: ClassVar[str] = "snakesim.strategies.fedavg"

    name: Literal["fedavg"]
    """``fedavg``: federated averaging through the server."""
    fraction: float = Field(default=1.0, gt=0, le=1)
    """Share of the clients sampled each round, in (0, 1]:
    ``max(1, floor(fraction x clients))``, without replacement, from the run's
    ``client-sampling`` stream; 1: all."""
    lora: LoraSpec | None = None
    """Train, send and average only LoRA adapters on a frozen base model (model ``causal_lm``
    only; needs the ``llm`` extra). null: the whole model."""

    def lora_spec(self) -> LoraSpec | None:
        return self.lora


class FedProxStrategy(WithServer):
    """FedProx (Li et al., MLSys 2020): FedAvg plus ``mu / 2 * ||w - w_global||^2``."""

    display: ClassVar[str] = "FedProx"
    implementation: ClassVar[str] = "snakesim.strategies.fedavg"

    name: Literal["fedprox"]
    """``fedprox``: FedAvg with a proximal term in every client's local loss."""
    fraction: float = Field(default=1.0, gt=0, le=1)
    """Share of the clients sampled each round, in (0, 1], as in fedavg."""
    mu: float = Field(default=0.01, ge=0, le=1e6)
    """Proximal weight, >= 0: ``mu / 2 x ||w - w_global||^2`` is added to the local loss; 0 is
    exactly FedAvg."""


class CentralStrategy(SchemeSpec):
    """Centralised baseline: every client uploads its data once to ``node``, which trains.

    ``node`` defaults to the server (``topology.server``); it may be any node.
    """

    display: ClassVar[str] = "centralised"
    implementation: ClassVar[str] = "snakesim.strategies.central"

    name: Literal["central"]
    """``central``: the centralised baseline: every client uploads its training data once, one
    node trains on the pool."""
    node: str | None = None
    """The node that receives the data and trains (any node). null: the server
    (``topology.server``)."""

    def node_options(self) -> dict[str, str | None]:
        return {"node": self.node}


class LocalStrategy(SchemeSpec):
    """Local-only baseline: every client trains alone on its own data."""

    display: ClassVar[str] = "local-only"
    implementation: ClassVar[str] = "snakesim.strategies.local"

    name: Literal["local"]
    """``local``: the local-only baseline: every client trains alone on its own data, with no
    traffic."""


class SplitStrategy(WithServer):
    """Vanilla split learning (Gupta & Raskar 2018): see `snakesim.strategies.split`."""

    display: ClassVar[str] = "Split Learning"
    implementation: ClassVar[str] = "snakesim.strategies.split"

    name: Literal["split"]
    """``split``: vanilla (sequential) split learning through the server."""
    cut: int = Field(default=1, ge=1, le=100_000)
    """Clients hold the first ``cut`` layer groups, the server the rest; 1 to the model's
    groups - 1."""
    handoff: Literal["server", "p2p"] = "server"
    """How the client part passes to the next client: ``server`` (uploaded to the server, then
    sent on) or ``p2p`` (directly)."""


class SplitFedStrategy(WithServer):
    """SplitFed v1 (Thapa et al., AAAI 2022): see `snakesim.strategies.splitfed`."""

    display: ClassVar[str] = "SplitFed"
    implementation: ClassVar[str] = "snakesim.strategies.splitfed"

    name: Literal["splitfed"]
    """``splitfed``: SplitFed v1: clients split-train against the server in parallel; client
    parts are averaged each round."""
    fed_server: str | None = None
    """The node that averages the client parts. null: the server."""
    cut: int = Field(default=1, ge=1, le=100_000)
    """Clients hold the first ``cut`` layer groups, the server the rest; 1 to the model's
    groups - 1."""

    def node_options(self) -> dict[str, str | None]:
        return {"server": self.server, "fed_server": self.fed_server}


SCHEMES: list[type[SchemeSpec]] = [
    SnakeStrategy, FedAvgStrategy, FedProxStrategy, SplitStrategy, SplitFedStrategy,
    CentralStrategy, LocalStrategy]
"""Every scheme, in the order the docs list them: the shipped ones here, others added
with `snakesim.config.registry.register_scheme`."""

# The union is spelled out for the type checker; a test holds it equal to SCHEMES.
Strategy = Annotated[SnakeStrategy | FedAvgStrategy | SplitStrategy
                     | SplitFedStrategy | FedProxStrategy | CentralStrategy | LocalStrategy,
                     Field(discriminator="name")]


def scheme_name(spec: type[SchemeSpec]) -> str:
    """The ``name`` literal a scheme's class accepts."""
    (name,) = spec.model_fields["name"].annotation.__args__  # type: ignore[union-attr]
    return str(name)
