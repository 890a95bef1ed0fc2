"""Tests of the file loaders: CIFAR-10 pickle batches and IDX files in their real formats."""

from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest
import torch

from snakesim.errors import ConfigurationError
from snakesim.learning.data.cifar import FILES as CIFAR_FILES
from snakesim.learning.data.datasets import load_dataset
from snakesim.learning.data.idx import FILES as IDX_FILES
from snakesim.learning.data.idx import read_idx
from snakesim.learning.data.synthetic import SyntheticConfig

NAMES = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse",
         b"ship", b"truck"]


# --------------------------------------------------------------------------- writers
def write_cifar(folder: Path, per_batch: int = 4, test: int = 6) -> dict[str, np.ndarray]:
    """Write a tiny CIFAR-10 python-version folder; return the raw arrays written."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    written: dict[str, np.ndarray] = {}
    for name, n in [*((f"data_batch_{i}", per_batch) for i in range(1, 6)),
                    ("test_batch", test)]:
        data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
        labels = [int(v) for v in rng.integers(0, 10, size=n)]
        with (folder / name).open("wb") as f:
            pickle.dump({b"batch_label": name.encode(), b"labels": labels, b"data": data,
                         b"filenames": [b"x.png"] * n}, f)
        written[name] = data
        written[name + "/labels"] = np.array(labels)
    with (folder / "batches.meta").open("wb") as f:
        pickle.dump({b"num_cases_per_batch": per_batch, b"label_names": NAMES,
                     b"num_vis": 3072}, f)
    return written


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file: 0, 0, type 0x08 (ubyte), ndim, big-endian dims, then the data."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_idx(folder: Path, n_train: int = 12, n_test: int = 5,
              packed: bool = False) -> dict[str, np.ndarray]:
    """Write the four MNIST IDX files (optionally gzipped); return the arrays."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(1)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    for name, array in arrays.items():
        raw = idx_bytes(array)
        if packed:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / name).write_bytes(raw)
    return arrays


# ----------------------------------------------------------------------------- CIFAR
def test_cifar10_loads_the_python_batches(tmp_path: Path) -> None:
    raw = write_cifar(tmp_path / "cifar")
    data = load_dataset("cifar10", test_fraction=0.25, split_seed=0, path=tmp_path / "cifar")
    assert data.x_train.shape == (20, 3, 32, 32) and data.x_test.shape == (6, 3, 32, 32)
    assert data.input_shape == (3, 32, 32) and data.num_classes == 10
    assert data.x_train.dtype == torch.float32 and data.y_train.dtype == torch.int64
    expected = np.concatenate([raw[f"data_batch_{i}/labels"] for i in range(1, 6)])
    assert np.array_equal(data.y_train.numpy(), expected)
    assert np.array_equal(data.y_test.numpy(), raw["test_batch/labels"])
    # Channel-major layout: pixel (c, 0, 0) of image 0 is byte c * 1024; standardised
    # per channel, the order of values within a channel is kept.
    first = raw["data_batch_1"][0].reshape(3, 32, 32).astype(np.float32)
    got = data.x_train[0].numpy()
    for c in range(3):
        assert np.corrcoef(first[c].ravel(), got[c].ravel())[0, 1] > 0.999
    channel_means = data.x_train.mean(dim=(0, 2, 3))
    assert torch.allclose(channel_means, torch.zeros(3), atol=1e-4)


def test_cifar10_missing_folder_names_the_expected_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as err:
        load_dataset("cifar10", test_fraction=0.25, split_seed=0, path=tmp_path / "nope")
    text = str(err.value)
    assert text.startswith(f"data.path: {tmp_path / 'nope'}: no such folder")
    assert "data_batch_1..5, test_batch" in text and "\n" not in text


def test_cifar10_incomplete_folder_lists_what_is_missing(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    (tmp_path / "data_batch_3").unlink()
    (tmp_path / "test_batch").unlink()
    with pytest.raises(ConfigurationError) as err:
        load_dataset("cifar10", test_fraction=0.25, split_seed=0, path=tmp_path)
    assert str(err.value) == (
        f"data.path: {tmp_path}: missing data_batch_3, test_batch (expected the CIFAR-10 "
        "python version: data_batch_1..5, test_batch, batches.meta)")


def test_cifar10_wrong_contents_is_a_located_error(tmp_path: Path) -> None:
    write_cifar(tmp_path)
    with (tmp_path / "data_batch_2").open("wb") as f:
        pickle.dump({b"data": np.zeros((2, 10), dtype=np.uint8), b"labels": [0, 1]}, f)
    with pytest.raises(ConfigurationError, match="data_batch_2: expected N x 3072"):
        load_dataset("cifar10", test_fraction=0.25, split_seed=0, path=tmp_path)
    (tmp_path / "data_batch_2").write_bytes(b"not a pickle")
    with pytest.raises(ConfigurationError, match="data_batch_2: cannot read"):
        load_dataset("cifar10", test_fraction=0.25, split_seed=0, path=tmp_path)


def test_cifar_files_are_the_standard_names() -> None:
    assert CIFAR_FILES == ("data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4",
                           "data_batch_5", "test_batch", "batches.meta")


# ------------------------------------------------------------------------------- IDX
@pytest.mark.parametrize("packed", [False, True])
@pytest.mark.parametrize("name", ["mnist", "fashion_mnist"])
def test_idx_sets_load_plain_and_gzipped(tmp_path: Path, packed: bool, name: str) -> None:
    arrays = write_idx(tmp_path, packed=packed)
    data = load_dataset(name, test_fraction=0.25, split_seed=0, path=tmp_path)
    assert data.name == name and data.num_classes == 10
    assert data.x_train.shape == (12, 1, 28, 28) and data.x_test.shape == (5, 1, 28, 28)
    assert torch.equal(data.x_train[:, 0],
                       torch.from_numpy(arrays["train-images-idx3-ubyte"] / 255.0).float())
    assert np.array_equal(data.y_test.numpy(), arrays["t10k-labels-idx1-ubyte"])
    assert float(data.x_train.max()) <= 1.0 and float(data.x_train.min()) >= 0.0


def test_read_idx_checks_magic_and_length(tmp_path: Path) -> None:
    good = tmp_path / "a-idx1-ubyte"
    good.write_bytes(idx_bytes(np.arange(7, dtype=np.uint8)))
    assert read_idx(good).tolist() == list(range(7))
    bad = tmp_path / "b"
    bad.write_bytes(b"\x12\x34\x08\x01" + b"\x00" * 8)
    with pytest.raises(ConfigurationError, match="not an IDX file"):
        read_idx(bad)
    short = tmp_path / "c"
    short.write_bytes(idx_bytes(np.arange(7, dtype=np.uint8))[:-2])
    with pytest.raises(ConfigurationError, match="truncated"):
        read_idx(short)


def test_idx_incomplete_folder_lists_what_is_missing(tmp_path: Path) -> None:
    write_idx(tmp_path, packed=True)
    (tmp_path / "t10k-images-idx3-ubyte.gz").unlink()
    with pytest.raises(ConfigurationError) as err:
        load_dataset("mnist", test_fraction=0.25, split_seed=0, path=tmp_path)
    text = str(err.value)
    assert text.startswith(f"data.path: {tmp_path}: missing t10k-images-idx3-ubyte (")
    assert all(name in text for name in IDX_FILES)
    with pytest.raises(ConfigurationError, match="no such folder"):
        load_dataset("fashion_mnist", test_fraction=0.25, split_seed=0,
                     path=tmp_path / "absent")


def test_file_based_set_without_path_is_an_error() -> None:
    with pytest.raises(ConfigurationError, match=r"data\.path"):
        load_dataset("mnist", test_fraction=0.25, split_seed=0)


# ------------------------------------------------------------------------- synthetic
def test_synthetic_is_seeded_shaped_and_balanced() -> None:
    cfg = SyntheticConfig(samples=200, classes=4, shape=(3, 5, 5), noise=0.5, seed=2)
    a = load_dataset("synthetic", test_fraction=0.25, split_seed=0, synthetic=cfg)
    b = load_dataset("synthetic", test_fraction=0.25, split_seed=0, synthetic=cfg)
    c = load_dataset("synthetic", test_fraction=0.25, split_seed=0,
                     synthetic=SyntheticConfig(200, 4, (3, 5, 5), 0.5, seed=3))
    assert a.input_shape == (3, 5, 5) and a.num_classes == 4
    assert len(a.x_train) + len(a.x_test) == 200
    assert torch.equal(a.x_train, b.x_train) and not torch.equal(a.x_train, c.x_train)
    counts = np.bincount(np.concatenate([a.y_train.numpy(), a.y_test.numpy()]))
    assert counts.tolist() == [50, 50, 50, 50]
