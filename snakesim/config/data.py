"""The ``data`` section of a scenario: the data set, its split and its partition.

Image and synthetic classification sets, and text for causal-LM fine-tuning (a text
file, a folder of them or the generated corpus). `snakesim.config.schema` re-exports
everything here, so ``from snakesim.config.schema import DataSpec`` keeps working.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from snakesim.config.strategies import Frozen


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
    validated on a machine without the data.
    """

    dataset: Literal["digits", "cifar10", "mnist", "fashion_mnist", "synthetic",
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
