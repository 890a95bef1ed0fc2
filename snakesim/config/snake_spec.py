"""Snake Learning's section of a scenario (`SnakeStrategy`) and its option models: the
assignment of body groups, the window, the head policy under label skew and per-pass
schedules."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import BeforeValidator, Field, model_validator

from snakesim.config.scheme_base import Frozen, WithServer, _kind, _on_off


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


class Schedule(Frozen):
    """A factor over the passes of the route: the option's value at pass ``r`` of ``R``
    is its base value times the factor (`snakesim.learning.schedules.schedule_factor`).

    ``constant``: 1 · ``step``: ``gamma ** ((r - 1) // every)`` · ``cosine``: from 1 at
    the first pass to ``final`` at the last, ``final + (1 - final) (1 + cos(pi (r - 1) /
    (R - 1))) / 2``.
    """

    kind: Literal["constant", "step", "cosine"] = "constant"
    """The schedule's shape: ``constant`` (factor 1), ``step`` or ``cosine``."""
    every: int = Field(default=1, ge=1, le=1_000_000)
    """``step`` only: passes between two multiplications by ``gamma``."""
    gamma: float = Field(default=0.5, gt=0, le=1e6)
    """``step`` only: the factor applied every ``every`` passes (> 0)."""
    final: float = Field(default=0.0, ge=0, le=1e6)
    """``cosine`` only: the factor at the last pass (it starts at 1)."""

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
    """Who trains the head and with which loss: ``everywhere``, ``designated``,
    ``restricted_softmax`` or ``logit_adjusted`` (see the class docstring)."""
    nodes: list[str] | None = None
    """``designated`` only: the route nodes that train the head."""
    alpha: float = Field(default=0.0, ge=0, le=1)
    """``restricted_softmax`` only: the factor (0 to 1) on the logits of classes a node
    holds no sample of, in its training loss."""
    tau: float = Field(default=1.0, ge=0, le=1e3)
    """``logit_adjusted`` only: the weight of ``log(prior_c)`` added to logit ``c``."""

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


PRESETS: dict[str, dict[str, object]] = {
    # Chosen by benchmarks/snake_noniid_ablation.py: each option alone on digits at
    # Dirichlet 0.3, then the two that helped most combined with KD (the ablation's
    # snake_best), then with a sliding window of 2 groups, picked over width 1 on mnist5k
    # at Dirichlet 0.3 (snake_best_sliding2); it beat snake_best and FedAvg at every
    # other alpha and on digits (README, "Under non-IID data: the ablation").
    "noniid": {"distill": "on", "head": {"policy": "logit_adjusted"},
               "lr_schedule": {"kind": "cosine", "final": 0.1},
               "window": {"kind": "sliding", "width": 2}},
}
"""Option defaults by ``preset`` name (``none`` has no entry: the field defaults)."""


class SnakeStrategy(WithServer):
    """Snake Learning (Yu et al., arXiv 2405.03372): see `snakesim.strategies.snake`."""

    display: ClassVar[str] = "Snake Learning"
    implementation: ClassVar[str] = "snakesim.strategies.snake"

    name: Literal["snake"]
    """Selects Snake Learning: one model lineage trained node after node along a route."""
    preset: Literal["none", "noniid"] = "none"
    """A named set of option defaults; keys given explicitly always win. ``noniid``: the
    strongest variant of the non-IID ablation (README, "Under non-IID data: the
    ablation"): ``distill: on``, ``head: logit_adjusted``, ``lr_schedule: {kind: cosine,
    final: 0.1}``, ``window: {kind: sliding, width: 2}`` (the width capped to a body of
    fewer groups). ``none``: the defaults listed here."""
    mode: Literal["p2p", "cs"] = "p2p"
    """``p2p``: each node hands the model to the next (the first node of the route is the
    controller); ``cs``: every node downloads from and uploads to the server."""
    route: list[str] | None = None
    """The route's nodes (the learners), in order; null: every client, in topology order."""
    order: Literal["given", "shortest_tour", "by_compute", "label_diversity"] = "given"
    """How the route is ordered: as given; ``shortest_tour``: closed tour over path
    latency (nearest neighbour then 2-opt); ``by_compute``: fastest node first;
    ``label_diversity``: greedily the node whose label distribution is farthest (total
    variation) from the previous node's."""
    assignment: Annotated[SnakeAssignment, BeforeValidator(_kind)] = SnakeAssignment()
    """How the body groups are split into each node's fixed window: ``proportional`` (to
    compute), ``even``, ``memory_aware`` (the largest window that fits the node's
    memory) or ``explicit`` (``map``: node -> group indices)."""
    head_trainable: bool = True
    """Whether the output group (the head) is trained at every node on top of its window."""
    head: Annotated[SnakeHead, BeforeValidator(_policy)] = SnakeHead()
    """The output head under label skew: ``everywhere`` (each node trains it on its own
    labels), ``designated`` (only ``nodes`` train it), ``restricted_softmax`` (FedRS) or
    ``logit_adjusted`` (Menon et al., 2021); see the README's Snake Learning table."""
    input_trainable: bool = False
    """Whether the input group is trained at every node on top of its window."""
    direction: Literal["same", "alternate"] = "same"
    """``alternate`` reverses the route on even passes (boustrophedon)."""
    window: Annotated[SnakeWindow, BeforeValidator(_kind)] = SnakeWindow()
    """``fixed``: each node keeps its assigned window; ``sliding``: at hop h every node
    trains ``width`` contiguous groups starting one group further per hop."""
    send: Literal["changed", "trainable", "whole"] = "changed"
    """What a hand-off carries: every group the receiver holds an older version of,
    only the groups the sender trained, or the whole model."""
    frozen_dtype: Literal["fp32", "fp16", "bf16", "int8"] = "fp32"
    """Number format of the groups a node holds frozen: counted in memory, storage and
    bytes sent, and applied for real (rounded through it before training)."""
    distill: Annotated[Literal["off", "on", "auto"], BeforeValidator(_on_off)] = "off"
    """Knowledge distillation from the model as received (loss ``CE + weight * T^2 *
    KL``); ``auto``: on when the route's label heterogeneity exceeds
    ``distill_threshold``."""
    distill_weight: float = Field(default=1.0, gt=0, le=1e6)
    """The KD loss weight (lambda), > 0."""
    distill_temperature: float = Field(default=2.0, ge=0.01, le=1000)
    """The KD softmax temperature T (0.01 to 1000)."""
    distill_threshold: float = Field(default=0.3, ge=0, le=1)
    """With ``distill: auto``: the label heterogeneity (mean total-variation distance of
    the nodes' label mixes, 0 to 1; IID about 0.07) above which KD is switched on."""
    distill_teacher: Literal["received", "pass"] = "received"
    """The KD teacher: the model as the node received it, or as it was at the start of
    the pass (sent with the pass's later hand-offs as a full fp32 model)."""
    distill_target: Literal["logits", "features"] = "logits"
    """KD on the logits, or mean squared error on the output of the last body group the
    node trains (FitNets)."""
    distill_weight_schedule: Annotated[Schedule, BeforeValidator(_kind)] = Schedule()
    """A per-pass factor on ``distill_weight`` (``constant``, ``step``, ``cosine``)."""
    distill_temperature_schedule: Annotated[Schedule, BeforeValidator(_kind)] = Schedule()
    """A per-pass factor on ``distill_temperature`` (``constant``, ``step``, ``cosine``)."""
    lr_schedule: Annotated[Schedule, BeforeValidator(_kind)] = Schedule()
    """A per-pass factor on ``training.lr``: ``constant``; ``step`` (``gamma`` every
    ``every`` passes); ``cosine`` (from 1 at the first pass to ``final`` at the last)."""
    local_epochs: int | None = Field(default=None, ge=1, le=10_000)
    """Epochs over its own data per hop (1 to 10,000); null: ``training.local_epochs``."""
    target_accuracy: float | None = Field(default=None, gt=0, le=1)
    """Stop after the hop at which global test accuracy first reaches this fraction; null:
    run ``training.rounds`` passes."""

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: object) -> object:
        # Fill in the preset's options only where the file leaves them out, so that any
        # key the user writes overrides it (and a resolved scenario reloads the same).
        if isinstance(data, dict) and data.get("preset") in PRESETS:
            return {**PRESETS[data["preset"]], **data}
        return data

    def preset_window(self) -> bool:
        """Whether the window is the preset's (a default: its width is capped to a smaller
        body, where a width the file gives is an error)."""
        return self.window.model_dump(exclude_none=True) == \
            PRESETS.get(self.preset, {}).get("window")

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
