"""The scenario schema: frozen pydantic models, unknown keys rejected.

A scenario says what to train (data, model, training), on which network (topology,
nodes, links: `snakesim.config.network`, re-exported here) and how (strategy).
Quantities accept units (see `snakesim.units`).
Cross-references between sections (node names in overrides, routes, servers) are
checked by `snakesim.config.checks`, which reports them with key paths.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import (
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from snakesim.config.network import (
    ComputeSpread,
    ExplicitTopology,
    FileAttribute,
    FileTopology,
    Fixed,
    GeometricTopology,
    LineTopology,
    LinksSpec,
    LinkValues,
    Listed,
    LogNormal,
    LossRate,
    MeshTopology,
    NodeCount,
    NodesSpec,
    NodeValues,
    RingTopology,
    SizeSpread,
    Spread,
    StarTopology,
    Tier,
    TieredTopology,
    Topology,
    Uniform,
    client_names,
    node_names,
    tier_names,
)
from snakesim.config.outages import OutagesSpec
from snakesim.config.strategies import Frozen, Strategy

__all__ = [  # the network sections are re-exported: they are part of the schema
    "FILE_DATASETS",
    "ComputeSpread",
    "DataSpec",
    "DirichletPartition",
    "ExplicitTopology",
    "FileAttribute",
    "FileTopology",
    "Fixed",
    "GeometricTopology",
    "IIDPartition",
    "LineTopology",
    "LinkValues",
    "LinksSpec",
    "Listed",
    "LogNormal",
    "LossRate",
    "MeshTopology",
    "ModelSpec",
    "NodeCount",
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
    sigma: float = Field(default=1.0, gt=0)
    min_samples: int = Field(default=10, ge=1)


Partition = Annotated[
    IIDPartition | DirichletPartition | ShardsPartition | QuantitySkewPartition,
    Field(discriminator="kind"),
]

FILE_DATASETS = ("cifar10", "mnist", "fashion_mnist")
"""Data sets read from a local folder (``data.path``)."""


class SyntheticSpec(Frozen):
    """A seeded synthetic set: class prototypes plus Gaussian noise."""

    samples: int = Field(default=2000, ge=2)
    classes: int = Field(default=10, ge=2)
    shape: list[Annotated[int, Field(ge=1)]] = Field(default=[1, 8, 8], min_length=1,
                                                      max_length=3)
    noise: float = Field(default=1.0, ge=0)
    seed: int = Field(default=0, ge=0)


class DataSpec(Frozen):
    """The data set, its train/test split and how training data is spread over nodes.

    File-based sets (`FILE_DATASETS`) need ``path``, a local folder; that it exists and
    holds the expected files is checked when a run starts, so a scenario can be
    validated on a machine without the data.
    """

    dataset: Literal["digits", "cifar10", "mnist", "fashion_mnist", "synthetic"] = "digits"
    path: str | None = Field(default=None, validate_default=True)
    synthetic: SyntheticSpec | None = Field(default=None, validate_default=True)
    test_fraction: float = Field(default=0.25, gt=0, lt=1)
    split_seed: int = Field(default=0, ge=0)
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


class ModelSpec(Frozen):
    """Which model to train; its layer groups are the unit of Snake Learning's slices.

    ``width`` is digits_cnn's base channel count, ``width_mult`` scales VGG-11's
    channels, ``hidden`` lists the MLP's hidden layer sizes; each only for its model.
    """

    name: Literal["digits_cnn", "vgg11", "mlp"] = "digits_cnn"
    width: int = Field(default=16, ge=1, le=512)
    width_mult: float = Field(default=1.0, gt=0, le=4)
    hidden: list[Annotated[int, Field(ge=1)]] = Field(default=[256, 128], max_length=32)

    @model_validator(mode="after")
    def _options_of_the_model(self) -> ModelSpec:
        # A resolved scenario lists every key with its default: only a changed value
        # of another model's option is a mistake.
        owner = {"width": "digits_cnn", "width_mult": "vgg11", "hidden": "mlp"}
        for key in sorted(self.model_fields_set & set(owner)):
            default = type(self).model_fields[key].get_default(call_default_factory=True)
            if owner[key] != self.name and getattr(self, key) != default:
                raise ValueError(f"{key} applies to model {owner[key]} only "
                                 f"(model is {self.name})")
        return self


class TrainingSpec(Frozen):
    """Local training settings shared by all strategies."""

    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(default=0.05, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    batch_size: int = Field(default=32, ge=1)
    local_epochs: int = Field(default=1, ge=1)
    rounds: int = Field(default=10, ge=1)


# ------------------------------------------------------------------------ scenario
class Scenario(Frozen):
    """One simulated experiment: data, model, training, network and strategy."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    description: str = ""
    seed: int = Field(default=0, ge=0)
    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    training: TrainingSpec = TrainingSpec()
    topology: Topology = StarTopology(kind="star")
    nodes: NodesSpec = NodesSpec()
    links: LinksSpec = LinksSpec()
    outages: OutagesSpec = OutagesSpec()
    strategy: Strategy
