"""CIFAR-10 from the standard "python version" pickle batches in a local folder.

The folder (as unpacked from ``cifar-10-python.tar.gz``, usually named
``cifar-10-batches-py``) holds ``data_batch_1`` .. ``data_batch_5``, ``test_batch`` and
``batches.meta``. Each batch is a pickled dict with ``b'data'`` (N x 3072 uint8, the
1024 red, then green, then blue values of a 32 x 32 image, row-major) and ``b'labels'``;
``batches.meta`` has ``b'label_names'``. Nothing is downloaded.

The batches are pickles, read by `BatchUnpickler`: it builds only what such a batch holds
(dicts, lists, bytes, str, numbers and numpy arrays), so a pickle that asks for any other
callable (``os.system``, ``eval``, ...) is refused before it runs.
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


def _latin1_encode(text: str, encoding: str = "latin1") -> bytes:
    """``_codecs.encode`` as protocol-2 pickles use it for bytes, and for nothing else."""
    if not isinstance(text, str) or encoding not in ("latin1", "latin-1"):
        raise pickle.UnpicklingError(f"_codecs.encode with {type(text).__name__} and "
                                     f"{encoding!r}, not latin1 text")
    return text.encode("latin1")


# What numpy arrays, dtypes and scalars pickle to, under numpy 1 and 2 names; protocol 5
# pickles arrays through `_frombuffer`.
_NUMPY = {(module, name)
          for core in ("numpy.core", "numpy._core")
          for module, name in [(f"{core}.multiarray", "_reconstruct"),
                               (f"{core}.multiarray", "scalar"),
                               (f"{core}.numeric", "_frombuffer")]}
_NUMPY |= {("numpy", "ndarray"), ("numpy", "dtype")}


class BatchUnpickler(pickle.Unpickler):
    """An unpickler that builds only what a CIFAR-10 python batch holds.

    Dicts, lists, tuples, bytes, str and numbers need no class lookup; of the globals a
    pickle can name, only numpy's array, dtype and scalar reconstructors and the latin-1
    ``_codecs.encode`` are admitted. Anything else raises `Refused` before it is called.
    """

    class Refused(pickle.UnpicklingError):
        """The pickle names a global outside the allowlist."""

        def __init__(self, module: str, name: str) -> None:
            super().__init__(f"{module}.{name}")
            self.qualified = f"{module}.{name}"

    def find_class(self, module: str, name: str) -> Any:
        """The allowed global ``module.name``; any other raises `Refused`."""
        if (module, name) in _NUMPY:
            return super().find_class(module, name)
        if (module, name) == ("_codecs", "encode"):
            return _latin1_encode
        raise BatchUnpickler.Refused(module, name)


def _unpickle(path: Path) -> dict[bytes, Any]:
    try:
        with path.open("rb") as stream:
            data = BatchUnpickler(stream, encoding="bytes").load()
    except BatchUnpickler.Refused as err:
        raise ConfigurationError(
            f"data.path: {path}: refusing to load: the pickle asks for {err.qualified}; a "
            "CIFAR batch holds only arrays, lists and bytes") from None
    except Exception as err:  # a malformed pickle raises many types; all are the file's
        detail = " ".join(f"{type(err).__name__}: {err}".split())[:300]
        raise ConfigurationError(f"data.path: {path}: cannot read a CIFAR batch: "
                                 f"{detail}") from None
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
