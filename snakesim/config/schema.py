"""The scenario schema: frozen pydantic models, unknown keys rejected.

A scenario says what to train (data: `snakesim.config.data`; model, training), on which
network (topology and links: `snakesim.config.network`; nodes:
`snakesim.config.node_budgets`; all re-exported here) and how (strategy).
Quantities accept units (see `snakesim.units`).
Cross-references between sections (node names in overrides, routes, servers) are
checked by `snakesim.config.checks`, which reports them with key paths.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator, model_validator

from snakesim.config.data import (
    FILE_DATASETS,
    BySourcePartition,
    CorpusSpec,
    DataSpec,
    DirichletPartition,
    IIDPartition,
    Partition,
    QuantitySkewPartition,
    ShardsPartition,
    SyntheticSpec,
    TextSpec,
)
from snakesim.config.execution import ExecutionSpec
from snakesim.config.file_topology import (
    FileAttribute,
    FileLatency,
    FileTopology,
    NodeCoordinates,
    NodeLabels,
    NodeMatch,
)
from snakesim.config.network import (
    ExplicitTopology,
    GeometricTopology,
    LineTopology,
    LinksSpec,
    LinkValues,
    LossRate,
    MeshTopology,
    NetworkSpec,
    NodeCount,
    RingTopology,
    StarTopology,
    Tier,
    TieredTopology,
    Topology,
    client_names,
    node_names,
    tier_names,
)
from snakesim.config.node_budgets import (
    ComputeSpread,
    Fixed,
    Listed,
    LogNormal,
    NodesSpec,
    NodeValues,
    SizeSpread,
    Spread,
    Uniform,
)
from snakesim.config.outages import OutagesSpec
from snakesim.config.strategies import Frozen, Strategy
from snakesim.learning.models.lm_presets import PRESETS
from snakesim.learning.models.stack import CLASSIFIERS, ClassifierName

__all__ = [  # the data and network sections are re-exported: they are part of the schema
    "FILE_DATASETS",
    "BySourcePartition",
    "ComputeSpread",
    "CorpusSpec",
    "DataSpec",
    "DirichletPartition",
    "ExplicitTopology",
    "FileAttribute",
    "FileLatency",
    "FileTopology",
    "Fixed",
    "GeometricTopology",
    "IIDPartition",
    "LMSpec",
    "LineTopology",
    "LinkValues",
    "LinksSpec",
    "Listed",
    "LogNormal",
    "LossRate",
    "MeshTopology",
    "ModelSpec",
    "NetworkSpec",
    "NodeCoordinates",
    "NodeCount",
    "NodeLabels",
    "NodeMatch",
    "NodeValues",
    "NodesSpec",
    "Partition",
    "QuantitySkewPartition",
    "RingTopology",
    "Scenario",
    "ShardsPartition",
    "SizeSpread",
    "Spread",
    "StarTopology",
    "SyntheticSpec",
    "TextSpec",
    "Tier",
    "TieredTopology",
    "Topology",
    "TrainingSpec",
    "Uniform",
    "client_names",
    "node_names",
    "tier_names",
]


class LMSpec(Frozen):
    """A Hugging Face causal LM (OPT, Llama or GPT-2 family): exactly one source.

    ``preset`` is a shipped config (`snakesim.learning.models.lm_models.PRESETS`), ``config`` a
    ``config.json`` (or its folder), ``pretrained`` a local folder or hub id with
    weights; ``overrides`` changes config fields (e.g. ``num_hidden_layers``).
    """

    preset: str | None = None
    """A shipped model config: ``opt-125m``, ``opt-1.3b``, ``llama-3-8b``, ``gpt2``, or the
    tiny 4-block, 256-token-vocabulary ``tiny-opt``, ``tiny-llama``, ``tiny-gpt2``;
    initialised from the run seed."""
    config: str | None = None
    """A Hugging Face ``config.json`` file, or a folder holding one (OPT, Llama or GPT-2
    family); the model is initialised from the run seed."""
    pretrained: str | None = None
    """A local model folder, or a hub id the Hugging Face cache holds, whose weights are loaded
    (nothing is downloaded; the model's own code never runs)."""
    overrides: dict[str, int | float | str | bool | None] = Field(default_factory=dict)
    """Config fields to change, by name (e.g. ``num_hidden_layers: 2``), applied to whichever
    source is given; ``validate`` checks size fields from the spec."""
    gradient_checkpointing: bool = False
    """Recompute each decoder block in backward: only block inputs are kept (plus one block's
    activations while it is recomputed), and the recompute FLOPs are charged."""

    @field_validator("preset")
    @classmethod
    def _known_preset(cls, value: str | None) -> str | None:
        if value is not None and value not in PRESETS:
            raise ValueError(f"unknown preset (known: {', '.join(PRESETS)})")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> LMSpec:
        given = [k for k in ("preset", "config", "pretrained") if getattr(self, k)]
        if len(given) != 1:
            raise ValueError("give exactly one of preset, config and pretrained"
                             + (f" (got {', '.join(given)})" if given else ""))
        return self


class ModelSpec(Frozen):
    """Which model to train; its layer groups are the unit of Snake Learning's slices.

    ``width`` is digits_cnn's base channel count, ``width_mult`` scales VGG-11's
    channels, ``hidden`` lists the MLP's hidden layer sizes; each only for its model.
    """

    name: Literal[ClassifierName, "causal_lm"] = "digits_cnn"
    """The model: ``digits_cnn`` (3 conv + dense + head, 5 layer groups), ``vgg11`` (VGG-11
    with BatchNorm, 9 groups), ``mlp`` (one group per linear layer) or ``causal_lm`` (a
    Hugging Face LM, needs ``lm`` and dataset ``text``). Inputs and classes come from the
    data set."""
    width: int = Field(default=16, ge=1, le=512)
    """digits_cnn only: channels of its first convolution (the next have 2x and 4x), 1 to 512."""
    width_mult: float = Field(default=1.0, gt=0, le=4)
    """vgg11 only: factor on VGG-11's channel counts, in (0, 4]; 1 is the standard 9.23
    M-parameter model."""
    hidden: list[Annotated[int, Field(ge=1, le=65_536)]] = Field(default=[256, 128],
                                                                max_length=32)
    """mlp only: the hidden layer sizes, in order (at most 32 layers, each 1 to 65,536); [] is
    a linear classifier."""
    lm: LMSpec | None = None
    """The causal LM's source (model ``causal_lm`` only, and required there): exactly one of
    ``preset``, ``config`` and ``pretrained``."""

    @model_validator(mode="after")
    def _options_of_the_model(self) -> ModelSpec:
        # A resolved scenario lists every key with its default: only a changed value
        # of another model's option is a mistake.
        owner = {c.option: name for name, c in CLASSIFIERS.items()}
        for key in sorted(self.model_fields_set & set(owner)):
            default = type(self).model_fields[key].get_default(call_default_factory=True)
            if owner[key] != self.name and getattr(self, key) != default:
                raise ValueError(f"{key} applies to model {owner[key]} only "
                                 f"(model is {self.name})")
        if self.name == "causal_lm" and self.lm is None:
            raise ValueError("model causal_lm needs an lm section (preset, config or "
                             "pretrained)")
        if self.name != "causal_lm" and self.lm is not None:
            raise ValueError(f"lm applies to model causal_lm only (model is {self.name})")
        return self


class TrainingSpec(Frozen):
    """Local training settings shared by all strategies."""

    optimizer: Literal["sgd", "adam", "adamw"] = "sgd"
    """The local optimizer (PyTorch's own): ``sgd``, ``adam`` or ``adamw``."""
    lr: float = Field(default=0.05, gt=0, le=1e6)
    """Learning rate, in (0, 1e6]."""
    momentum: float = Field(default=0.9, ge=0, lt=1)
    """SGD momentum, in [0, 1) (0: plain SGD); ignored by adam and adamw."""
    weight_decay: float = Field(default=0.0, ge=0, le=1e6)
    """Weight decay, >= 0: L2 added to the gradient for sgd and adam, decoupled for adamw."""
    batch_size: int = Field(default=32, ge=1, le=10_000_000)
    """Samples (or sequences) per training step, >= 1; a node's last batch may be smaller."""
    local_epochs: int = Field(default=1, ge=1, le=10_000)
    """Epochs over the node's own data per local training job (a FedAvg client's round, a Snake
    hop, a Split Learning turn, central's round), >= 1."""
    rounds: int = Field(default=10, ge=0, le=1_000_000)  # 0: only round 0's evaluation
    """FedAvg/FedProx/SplitFed rounds, Snake passes over the route, Split Learning rounds of
    one turn per client, or baseline rounds, after round 0 (the initial model's evaluation);
    0 runs only that evaluation."""
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Compute precision of training: ``fp32``, or ``bf16`` / ``fp16`` (mixed with
    ``master_weights``, else pure half; fp16 adds loss scaling)."""
    master_weights: bool = True
    """With dtype bf16/fp16: keep fp32 master weights, gradients and optimizer state
    (mixed precision); false trains purely in the half format."""
    grad_clip: float = Field(default=0.0, ge=0, le=1e9)
    """Clip each step's gradient norm to this (unscaled gradients); 0 (the default) does not
    clip."""
    loss_dtype: Literal["compute", "fp32"] = "compute"
    """The loss on the logits in the compute dtype (default), or upcast to fp32 first
    (what a Hugging Face-style loss does); trained and charged alike."""
    hold_logits: bool = False
    """Keep the logits until the optimizer step is done (a loop that holds them in a
    variable); default: released with the loss's graph, as snakesim's loop does."""

    @model_validator(mode="after")
    def _adam_state_fits_the_format(self) -> TrainingSpec:
        # Pure fp16 keeps Adam's state in fp16: its epsilon (1e-8) and any second moment
        # of a gradient below ~5e-3 round to 0, so the first step divides by zero.
        if self.dtype == "fp16" and not self.master_weights and self.optimizer != "sgd":
            raise ValueError(f"optimizer {self.optimizer} cannot train in pure fp16 (its "
                             "state underflows to 0 and the first step is NaN): use sgd, "
                             "dtype bf16, or master_weights: true")
        return self


# ------------------------------------------------------------------------ scenario
class Scenario(Frozen):
    """One simulated experiment: data, model, training, network and strategy."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    """The scenario's name (letters, digits, ``_ . -``, at most 100 characters, starting with a
    letter or digit): the default results folder ``results/<name>`` and the run id
    ``<name>-s<seed>``."""
    description: str = ""
    """Free text for people (``snakesim examples`` shows it); it changes nothing simulated."""
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    """The run seed (0 to 2**63 - 1): every random draw (node budgets, partition, model
    initialisation, data order, topology and outage draws) comes from named streams derived
    from it."""
    data: DataSpec = DataSpec()
    """The data set, its train/test split and its partition over the learners."""
    model: ModelSpec = ModelSpec()
    """The model that is trained; its layer groups are what Snake Learning and Split Learning
    cut."""
    training: TrainingSpec = TrainingSpec()
    """Local training settings shared by every strategy."""
    topology: Topology = StarTopology(kind="star")
    """The network's nodes and links, chosen by ``kind`` (a table per kind below): generated
    (star, line, ring, mesh, tiered, geometric), listed (explicit) or read from a file."""
    nodes: NodesSpec = NodesSpec()
    """Compute, memory, storage and energy budgets of the nodes (client defaults, the server,
    per-node overrides)."""
    links: LinksSpec = LinksSpec()
    """Default latency, bandwidth, energy and loss of every link, and per-link overrides."""
    network: NetworkSpec = NetworkSpec()
    """How transfers use the links: the flow model with TCP (default) or store-and-forward."""
    outages: OutagesSpec = OutagesSpec()
    """Scheduled and stochastic outages of links and nodes, and what happens to the work they
    hit; {} (default): none."""
    strategy: Strategy
    """The training scheme, chosen by ``name`` (a table per scheme below): snake, fedavg,
    fedprox, split, splitfed, central or local."""
    execution: ExecutionSpec = ExecutionSpec()
    """Where the real training runs and whether client jobs are batched; changes nothing
    simulated."""
    mode: Literal["train", "cost_only"] = "train"
    """``cost_only``: build the model on the meta device and run no real step; every
    cost is charged exactly as in training, quality columns stay empty."""

    @model_validator(mode="after")
    def _text_with_lm(self) -> Scenario:
        lm_model, text = self.model.name == "causal_lm", self.data.dataset == "text"
        if lm_model != text:
            raise ValueError("model causal_lm and dataset text go together (model is "
                             f"{self.model.name}, dataset is {self.data.dataset})")
        if self.strategy.lora_spec() is not None and not lm_model:
            raise ValueError("strategy.lora needs model causal_lm")
        return self
