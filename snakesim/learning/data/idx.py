"""MNIST and Fashion-MNIST from their IDX files in a local folder (plain or ``.gz``).

The IDX format (LeCun et al.): two zero bytes, a type code (``0x08`` = unsigned byte),
the number of dimensions, then each dimension as a big-endian 32-bit integer, then the
data in row-major order. Image files have 3 dimensions (count, rows, columns), label
files 1. Nothing is downloaded: the folder must already hold the four files.
"""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np

from snakesim.errors import ConfigurationError

FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
"""The four files of an IDX data set; each may also be present gzipped (``.gz``)."""

_DTYPES: dict[int, np.dtype[Any]] = {
    0x08: np.dtype(np.uint8), 0x09: np.dtype(np.int8), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def find_files(folder: Path, key: str = "data.path") -> list[Path]:
    """The four IDX files in ``folder`` (plain preferred over ``.gz``), in `FILES` order.

    Raises
    ------
    ConfigurationError
        Naming every missing file and the expected layout.
    """
    if not folder.is_dir():
        raise ConfigurationError(
            f"{key}: {folder}: no such folder (expected the IDX files {', '.join(FILES)}, "
            "each optionally .gz)")
    found: list[Path] = []
    missing: list[str] = []
    for name in FILES:
        plain, packed = folder / name, folder / f"{name}.gz"
        if plain.is_file():
            found.append(plain)
        elif packed.is_file():
            found.append(packed)
        else:
            missing.append(name)
    if missing:
        raise ConfigurationError(
            f"{key}: {folder}: missing {', '.join(missing)} (expected the IDX files "
            f"{', '.join(FILES)}, each optionally .gz)")
    return found


def read_idx(path: Path) -> np.ndarray:
    """Read one IDX file (plain or gzipped) into an array of its stored type and shape.

    Raises
    ------
    ConfigurationError
        If the header is not an IDX header or the data are truncated.
    """
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as err:
        raise ConfigurationError(f"data.path: {path}: cannot read: {err}") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ConfigurationError(
            f"data.path: {path}: not an IDX file (magic number {raw[:4].hex() or 'empty'})")
    dtype, ndim = _DTYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int(d) for d in np.frombuffer(raw[4:header], dtype=">u4"))
    count = int(np.prod(dims)) if dims else 0
    if len(dims) != ndim or len(raw) < header + count * dtype.itemsize:
        raise ConfigurationError(
            f"data.path: {path}: truncated IDX file (header says {list(dims)})")
    data = np.frombuffer(raw, dtype=dtype, count=count, offset=header)
    out: np.ndarray = data.reshape(dims).astype(dtype.newbyteorder("="))
    return out


def load_idx_folder(folder: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train, y_train, x_test, y_test)``: images as N x 1 x H x W floats in [0, 1]."""
    paths = find_files(folder)
    arrays = [read_idx(p) for p in paths]
    images = []
    for path, array in zip(paths[::2], arrays[::2], strict=True):
        if array.ndim != 3:
            raise ConfigurationError(
                f"data.path: {path}: expected 3 dimensions (count, rows, columns), "
                f"got {list(array.shape)}")
        images.append((array.astype(np.float32) / 255.0)[:, None])
    labels = [a.astype(np.int64).reshape(-1) for a in arrays[1::2]]
    for x, y, path in zip(images, labels, paths[1::2], strict=True):
        if len(x) != len(y):
            raise ConfigurationError(
                f"data.path: {path}: {len(y)} labels for {len(x)} images")
    return images[0], labels[0], images[1], labels[1]
