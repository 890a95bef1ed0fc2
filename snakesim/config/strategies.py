"""Strategy sections of a scenario: one frozen model per scheme, chosen by ``name``.

Each scheme describes itself once, in its class here (a `SchemeSpec`): its options, its
display name, the module that implements it, whether it needs a server and which nodes
it names. `SCHEMES` lists them; `Strategy` is the discriminated union the scenario's
``strategy`` key accepts (a test checks that it holds exactly `SCHEMES`), and the
strategy registry, the cross-reference checks (`snakesim.config.checks`) and the run's
learner list all read the descriptions instead of keeping lists of their own.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator


class Frozen(BaseModel):
    """Base of every schema model: immutable, unknown keys are errors, types are strict.

    Strict: a boolean is never a number (``rounds: true`` is an error, not 1), a float
    is never an integer (``clients: 1e9`` is an error, not a billion clients) and a
    numeric string is never a number; quantities with units (`snakesim.config.quantities`)
    parse their own strings. Numbers must be finite (``lr: .inf`` is an error).
    """

    # A docstring under a field is its description (JSON Schema, docs/scenario-keys.md).
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False,
                              use_attribute_docstrings=True)


def _on_off(value: object) -> object:
    # YAML 1.1 reads a bare on/off as a boolean; accept what the user meant.
    return {True: "on", False: "off"}.get(value, value) if isinstance(value, bool) else value


def _kind(value: object) -> object:
    # `assignment: even` is shorthand for `assignment: {kind: even}`.
    return {"kind": value} if isinstance(value, str) else value


class SchemeSpec(Frozen):
    """What every scheme's section tells the rest of snakesim about itself.

    Attributes
    ----------
    display
        The scheme's name in messages and tables.
    implementation
        The module that implements it; it defines ``build(spec, topology)``.
    """

    display: ClassVar[str]
    implementation: ClassVar[str]

    def named_server(self) -> str | None:
        """The server node this section names (None: none, or the topology's)."""
        return None

    def needs_server(self) -> bool:
        """Whether the scheme cannot run without a server node."""
        return False

    def title(self) -> str:
        """The scheme as this section configures it, for messages."""
        return self.display

    def node_options(self) -> dict[str, str | None]:
        """The options that name a node, by key (each must be a node of the topology)."""
        return {}

    def route_nodes(self) -> list[str] | None:
        """The learners this section lists explicitly, in order (None: every client but
        the server)."""
        return None

    def lora_spec(self) -> LoraSpec | None:
        """The LoRA adapters it trains instead of the weights (None: none)."""
        return None


class WithServer(SchemeSpec):
    """A scheme with a ``server`` option (default: ``topology.server``)."""

    server: str | None = None
    """The server node this scheme uses (not a learner). null: the topology's server
    (``topology.server``)."""

    def named_server(self) -> str | None:
        return self.server

    def needs_server(self) -> bool:
        return True

    def node_options(self) -> dict[str, str | None]:
        return {"server": self.server}


class SnakeAssignment(Frozen):
    """How Snake Learning splits the body groups into windows along the route."""

    kind: Literal["proportional", "even", "memory_aware", "explicit"] = "proportional"
    """How the body groups are dealt into each route node's fixed window: ``proportional`` (in
    proportion to compute, at least one group each), ``even``, ``memory_aware`` (the largest
    window that fits the node's memory) or ``explicit`` (exactly ``map``)."""
    map: dict[str, list[Annotated[int, Field(ge=0, le=100_000)]]] | None = None
    """With kind ``explicit`` only (and required there): ``{node: [group indices]}``, the
    groups each route node trains; a node absent from it trains nothing."""

    @model_validator(mode="after")
    def _map_iff_explicit(self) -> SnakeAssignment:
        if (self.kind == "explicit") != (self.map is not None):
            raise ValueError("map (node -> list of group indices) is required with kind "
                             "explicit and only allowed there")
        return self


class SnakeWindow(Frozen):
    """A fixed window per node, or a sliding window of ``width`` groups."""

    kind: Literal["fixed", "sliding"] = "fixed"
    """``fixed``: each node trains its assigned window every pass; ``sliding``: at hop h every
    node trains ``width`` contiguous body groups, one group further per hop."""
    width: int | None = Field(default=None, ge=1, le=100_000)
    """With kind ``sliding`` only: groups per window, 1 to 100,000 and at most the body's
    groups. null: 1."""

    @model_validator(mode="after")
    def _width_if_sliding(self) -> SnakeWindow:
        if self.kind == "fixed" and self.width is not None:
            raise ValueError("width applies to kind sliding only")
        return self

    @property
    def groups(self) -> int:
        """Width of a sliding window (default 1)."""
        return self.width or 1


class SnakeStrategy(WithServer):
    """Snake Learning (Yu et al., arXiv 2405.03372): see `snakesim.strategies.snake`."""

    display: ClassVar[str] = "Snake Learning"
    implementation: ClassVar[str] = "snakesim.strategies.snake"

    name: Literal["snake"]
    mode: Literal["p2p", "cs"] = "p2p"
    route: list[str] | None = None
    order: Literal["given", "shortest_tour", "by_compute"] = "given"
    assignment: Annotated[SnakeAssignment, BeforeValidator(_kind)] = SnakeAssignment()
    head_trainable: bool = True
    input_trainable: bool = False
    direction: Literal["same", "alternate"] = "same"
    window: Annotated[SnakeWindow, BeforeValidator(_kind)] = SnakeWindow()
    send: Literal["changed", "trainable", "whole"] = "changed"
    frozen_dtype: Literal["fp32", "fp16", "bf16", "int8"] = "fp32"
    distill: Annotated[Literal["off", "on", "auto"], BeforeValidator(_on_off)] = "off"
    distill_weight: float = Field(default=1.0, gt=0, le=1e6)
    distill_temperature: float = Field(default=2.0, ge=0.01, le=1000)
    distill_threshold: float = Field(default=0.3, ge=0, le=1)
    target_accuracy: float | None = Field(default=None, gt=0, le=1)

    def needs_server(self) -> bool:
        return self.mode == "cs"

    def title(self) -> str:
        return f"{self.display} in CS mode" if self.mode == "cs" else self.display

    def route_nodes(self) -> list[str] | None:
        return self.route


class LoraSpec(Frozen):
    """LoRA adapters (Hu et al., ICLR 2022, via ``peft``): train and exchange only them.

    ``targets`` names the linear layers that get adapters (module name suffixes, e.g.
    ``q_proj``, ``v_proj``); the base weights stay frozen and are never sent.
    """

    rank: int = Field(default=8, ge=1, le=4096)
    """Rank r of each adapter's low-rank update (1 to 4096)."""
    alpha: int = Field(default=16, ge=1, le=1_000_000)
    """LoRA's scale numerator: the update is scaled by ``alpha / rank`` (1 to 1,000,000)."""
    dropout: float = Field(default=0.0, ge=0, lt=1)
    """Dropout on the adapters' input in training, in [0, 1); 0: none."""
    targets: list[Annotated[str, Field(min_length=1)]] = Field(
        default=["q_proj", "v_proj"], min_length=1)
    """Module name suffixes of the linear layers that get adapters (e.g. ``q_proj``,
    ``v_proj``); at least one, and they must match a linear layer of the model."""


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
