"""CIFAR-10 from the standard "python version" pickle batches in a local folder.

The folder (as unpacked from ``cifar-10-python.tar.gz``, usually named
``cifar-10-batches-py``) holds ``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and
``batches.meta``. Each batch is a pickled dict with ``b'data'`` (N x 3072 uint8, the
1024 red, then green, then blue values of a 32 x 32 image, row-major) and ``b'labels'``;
``batches.meta`` has ``b'label_names'``. Nothing is downloaded.

The batches are pickles: only load a folder you trust (as with any pickle file).
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from snakesim.errors import ConfigurationError

TRAIN = tuple(f"data_batch_{i}" for i in range(1, 6))
FILES = (*TRAIN, "test_batch", "batches.meta")
_EXPECTED = ("expected the CIFAR-10 python version: data_batch_1..5, test_batch, "
             "batches.meta")


def check_folder(folder: Path, key: str = "data.path") -> None:
    """Raise a located `ConfigurationError` naming what is missing from ``folder``."""
    if not folder.is_dir():
        raise ConfigurationError(f"{key}: {folder}: no such folder ({_EXPECTED})")
    missing = [name for name in FILES if not (folder / name).is_file()]
    if missing:
        raise ConfigurationError(f"{key}: {folder}: missing {', '.join(missing)} ({_EXPECTED})")


def _unpickle(path: Path) -> dict[bytes, Any]:
    try:
        with path.open("rb") as stream:
            data = pickle.load(stream, encoding="bytes")
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as err:
        raise ConfigurationError(f"data.path: {path}: cannot read a CIFAR batch: {err}") from None
    if not isinstance(data, dict):
        raise ConfigurationError(f"data.path: {path}: not a CIFAR batch (a {type(data).__name__})")
    return data


def _batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    data = _unpickle(path)
    if b"data" not in data or b"labels" not in data:
        raise ConfigurationError(f"data.path: {path}: a CIFAR batch needs b'data' and b'labels'")
    x = np.asarray(data[b"data"], dtype=np.uint8)
    y = np.asarray(data[b"labels"], dtype=np.int64)
    if x.ndim != 2 or x.shape[1] != 3 * 32 * 32 or len(x) != len(y):
        raise ConfigurationError(
            f"data.path: {path}: expected N x 3072 images and N labels "
            f"(got {list(x.shape)} and {len(y)})")
    return x.reshape(-1, 3, 32, 32), y


def load_cifar10_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                                list[str]]:
    """``(x_train, y_train, x_test, y_test, label_names)``; images as N x 3 x 32 x 32 uint8."""
    check_folder(folder)
    parts = [_batch(folder / name) for name in TRAIN]
    x_test, y_test = _batch(folder / "test_batch")
    meta = _unpickle(folder / "batches.meta")
    names = [n.decode() if isinstance(n, bytes) else str(n)
             for n in meta.get(b"label_names", [])]
    return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
            x_test, y_test, names)
