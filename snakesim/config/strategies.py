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

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True, allow_inf_nan=False)


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

    def named_server(self) -> str | None:
        return self.server

    def needs_server(self) -> bool:
        return True

    def node_options(self) -> dict[str, str | None]:
        return {"server": self.server}


class SnakeAssignment(Frozen):
    """How Snake Learning splits the body groups into windows along the route."""

    kind: Literal["proportional", "even", "memory_aware", "explicit"] = "proportional"
    map: dict[str, list[Annotated[int, Field(ge=0, le=100_000)]]] | None = None

    @model_validator(mode="after")
    def _map_iff_explicit(self) -> SnakeAssignment:
        if (self.kind == "explicit") != (self.map is not None):
            raise ValueError("map (node -> list of group indices) is required with kind "
                             "explicit and only allowed there")
        return self


class SnakeWindow(Frozen):
    """A fixed window per node, or a sliding window of ``width`` groups."""

    kind: Literal["fixed", "sliding"] = "fixed"
    width: int | None = Field(default=None, ge=1, le=100_000)

    @model_validator(mode="after")
    def _width_if_sliding(self) -> SnakeWindow:
        if self.kind == "fixed" and self.width is not None:
            raise ValueError("width applies to kind sliding only")
        return self

    @property
    def groups(self) -> int:
        """Width of a sliding window (default 1)."""
        return self.width or 1


class Schedule(Frozen):
    """A factor over the passes of the route: the option's value at pass ``r`` of ``R``
    is its base value times the factor (`snakesim.learning.schedules.schedule_factor`).

    ``constant``: 1 · ``step``: ``gamma ** ((r - 1) // every)`` · ``cosine``: from 1 at
    the first pass to ``final`` at the last, ``final + (1 - final) (1 + cos(pi (r - 1) /
    (R - 1))) / 2``.
    """

    kind: Literal["constant", "step", "cosine"] = "constant"
    every: int = Field(default=1, ge=1, le=1_000_000)
    gamma: float = Field(default=0.5, gt=0, le=1e6)
    final: float = Field(default=0.0, ge=0, le=1e6)

    @model_validator(mode="after")
    def _options_of_the_kind(self) -> Schedule:
        # A resolved scenario lists every key with its default: only a changed value of
        # another kind's key is a mistake.
        wrong = sorted(k for k in {"every", "gamma", "final"} - _SCHEDULE_KEYS[self.kind]
                       if getattr(self, k) != type(self).model_fields[k].default)
        if wrong:
            raise ValueError(f"{', '.join(wrong)} does not apply to kind {self.kind}")
        return self


_SCHEDULE_KEYS = {"constant": set(), "step": {"every", "gamma"}, "cosine": {"final"}}


class SnakeHead(Frozen):
    """Who trains the output head, and with which loss, under label skew.

    ``everywhere`` (default): every node trains it with plain cross-entropy.
    ``designated``: only the route nodes in ``nodes`` train the head; elsewhere it is
    frozen. ``restricted_softmax``: FedRS's restricted softmax (Li & Zhan, KDD 2021): in
    the loss the logits of classes the node holds no sample of are scaled by ``alpha``
    (default 0: held at 0, so no gradient of the node's cross-entropy reaches them).
    ``logit_adjusted``: the logit-adjusted loss (Menon et al., ICLR 2021; FedLC, Zhang
    et al., ICML 2022): ``tau * log(prior_c)`` of the node's label distribution is added
    to logit ``c`` in training (not at evaluation); a class the node lacks counts as
    half a sample, so its offset stays finite.
    """

    policy: Literal["everywhere", "designated", "restricted_softmax",
                    "logit_adjusted"] = "everywhere"
    nodes: list[str] | None = None
    alpha: float = Field(default=0.0, ge=0, le=1)
    tau: float = Field(default=1.0, ge=0, le=1e3)

    @model_validator(mode="after")
    def _keys_of_the_policy(self) -> SnakeHead:
        if (self.policy == "designated") != (self.nodes is not None):
            raise ValueError("nodes (the route nodes that train the head) is required with "
                             "policy designated and only allowed there")
        if self.nodes is not None and not self.nodes:
            raise ValueError("nodes: name at least one route node")
        for key, policy in (("alpha", "restricted_softmax"), ("tau", "logit_adjusted")):
            changed = getattr(self, key) != type(self).model_fields[key].default
            if changed and self.policy != policy:
                raise ValueError(f"{key} applies to policy {policy} only")
        return self


def _policy(value: object) -> object:
    # `head: designated` cannot stand alone (it needs nodes), the others can.
    return {"policy": value} if isinstance(value, str) else value


class SnakeStrategy(WithServer):
    """Snake Learning (Yu et al., arXiv 2405.03372): see `snakesim.strategies.snake`."""

    display: ClassVar[str] = "Snake Learning"
    implementation: ClassVar[str] = "snakesim.strategies.snake"

    name: Literal["snake"]
    mode: Literal["p2p", "cs"] = "p2p"
    route: list[str] | None = None
    order: Literal["given", "shortest_tour", "by_compute", "label_diversity"] = Field(
        default="given", description="route order; label_diversity: greedily the node "
        "whose label distribution is farthest (total variation) from the previous one's")
    assignment: Annotated[SnakeAssignment, BeforeValidator(_kind)] = SnakeAssignment()
    head_trainable: bool = True
    head: Annotated[SnakeHead, BeforeValidator(_policy)] = SnakeHead()
    input_trainable: bool = False
    direction: Literal["same", "alternate"] = "same"
    window: Annotated[SnakeWindow, BeforeValidator(_kind)] = SnakeWindow()
    send: Literal["changed", "trainable", "whole"] = "changed"
    frozen_dtype: Literal["fp32", "fp16", "bf16", "int8"] = "fp32"
    distill: Annotated[Literal["off", "on", "auto"], BeforeValidator(_on_off)] = "off"
    distill_weight: float = Field(default=1.0, gt=0, le=1e6)
    distill_temperature: float = Field(default=2.0, ge=0.01, le=1000)
    distill_threshold: float = Field(default=0.3, ge=0, le=1)
    distill_teacher: Literal["received", "pass"] = Field(
        default="received", description="KD teacher: the model as the node received it, "
        "or as it was at the start of the pass (sent with the pass's later hand-offs)")
    distill_target: Literal["logits", "features"] = Field(
        default="logits", description="KD on the logits, or mean squared error on the "
        "output of the last body group the node trains")
    distill_weight_schedule: Annotated[Schedule, BeforeValidator(_kind)] = Field(
        default=Schedule(), description="per-pass factor on distill_weight")
    distill_temperature_schedule: Annotated[Schedule, BeforeValidator(_kind)] = Field(
        default=Schedule(), description="per-pass factor on distill_temperature")
    lr_schedule: Annotated[Schedule, BeforeValidator(_kind)] = Field(
        default=Schedule(), description="per-pass factor on training.lr")
    local_epochs: int | None = Field(default=None, ge=1, le=10_000, description=(
        "epochs per hop (null: training.local_epochs)"))
    target_accuracy: float | None = Field(default=None, gt=0, le=1)

    @model_validator(mode="after")
    def _designated_head_is_trainable(self) -> SnakeStrategy:
        if self.head.policy == "designated" and not self.head_trainable:
            raise ValueError("head: policy designated needs head_trainable true (the head "
                             "is then trained by the designated nodes only)")
        return self

    def needs_server(self) -> bool:
        return self.mode == "cs"

    def node_options(self) -> dict[str, str | None]:
        return {**super().node_options(),
                **{f"head.nodes.{i}": n for i, n in enumerate(self.head.nodes or [])}}

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
    alpha: int = Field(default=16, ge=1, le=1_000_000)
    dropout: float = Field(default=0.0, ge=0, lt=1)
    targets: list[Annotated[str, Field(min_length=1)]] = Field(
        default=["q_proj", "v_proj"], min_length=1)


class FedAvgStrategy(WithServer):
    """Federated averaging (McMahan et al. 2017) through a server node.

    ``fraction`` of the clients (at least one) is sampled each round; ``lora`` makes it
    parameter-efficient FL (clients train and send LoRA adapters only).
    """

    display: ClassVar[str] = "FedAvg"
    implementation: ClassVar[str] = "snakesim.strategies.fedavg"

    name: Literal["fedavg"]
    fraction: float = Field(default=1.0, gt=0, le=1)
    lora: LoraSpec | None = None

    def lora_spec(self) -> LoraSpec | None:
        return self.lora


class FedProxStrategy(WithServer):
    """FedProx (Li et al., MLSys 2020): FedAvg plus ``mu / 2 * ||w - w_global||^2``."""

    display: ClassVar[str] = "FedProx"
    implementation: ClassVar[str] = "snakesim.strategies.fedavg"

    name: Literal["fedprox"]
    fraction: float = Field(default=1.0, gt=0, le=1)
    mu: float = Field(default=0.01, ge=0, le=1e6)


class CentralStrategy(SchemeSpec):
    """Centralised baseline: every client uploads its data once to ``node``, which trains.

    ``node`` defaults to the server (``topology.server``); it may be any node.
    """

    display: ClassVar[str] = "centralised"
    implementation: ClassVar[str] = "snakesim.strategies.central"

    name: Literal["central"]
    node: str | None = None

    def node_options(self) -> dict[str, str | None]:
        return {"node": self.node}


class LocalStrategy(SchemeSpec):
    """Local-only baseline: every client trains alone on its own data."""

    display: ClassVar[str] = "local-only"
    implementation: ClassVar[str] = "snakesim.strategies.local"

    name: Literal["local"]


class SplitStrategy(WithServer):
    """Vanilla split learning (Gupta & Raskar 2018): see `snakesim.strategies.split`."""

    display: ClassVar[str] = "Split Learning"
    implementation: ClassVar[str] = "snakesim.strategies.split"

    name: Literal["split"]
    cut: int = Field(default=1, ge=1, le=100_000)
    handoff: Literal["server", "p2p"] = "server"


class SplitFedStrategy(WithServer):
    """SplitFed v1 (Thapa et al., AAAI 2022): see `snakesim.strategies.splitfed`."""

    display: ClassVar[str] = "SplitFed"
    implementation: ClassVar[str] = "snakesim.strategies.splitfed"

    name: Literal["splitfed"]
    fed_server: str | None = None
    cut: int = Field(default=1, ge=1, le=100_000)

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
