"""Data sets as in-memory tensors with a fixed, seeded train/test split.

The embedded default is scikit-learn's ``load_digits`` (1,797 real 8 x 8 images of
handwritten digits that ship inside scikit-learn), so nothing is downloaded at run time.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from snakesim.errors import ConfigurationError


@dataclass(frozen=True)
class Dataset:
    """Train and test tensors of a classification data set."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    num_classes: int

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one sample."""
        return tuple(self.x_train.shape[1:])


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
    from sklearn.model_selection import train_test_split

    bunch = sk_load_digits()
    x = (np.asarray(bunch.data, dtype=np.float32) / 16.0).reshape(-1, 1, 8, 8)
    y = np.asarray(bunch.target, dtype=np.int64)
    x_tr, x_te, y_tr, y_te = train_test_split(
        x, y, test_size=test_fraction, random_state=split_seed, stratify=y)
    return Dataset("digits", torch.from_numpy(x_tr), torch.from_numpy(y_tr),
                   torch.from_numpy(x_te), torch.from_numpy(y_te), num_classes=10)


def load_dataset(name: str, *, test_fraction: float, split_seed: int) -> Dataset:
    """Load a data set by its scenario name."""
    if name == "digits":
        return load_digits(test_fraction, split_seed)
    raise ConfigurationError(f"data.dataset: unknown data set '{name}' (known: digits)")
