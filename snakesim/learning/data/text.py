"""Text data for causal-LM fine-tuning: reading sources, tokenising, packing, splitting.

A *source* is one file (or one generated document, `snakesim.learning.data.corpus`). Each
source is tokenised on its own and packed into fixed-length sequences that never mix
two sources, so every sequence carries its source index: the label that non-IID
partitioners (`snakesim.learning.partition.by_source`) split by.

Tokenizers: `ByteTokenizer` (UTF-8 bytes, for models built from a config alone) and
`HFTokenizer` (a model's own tokenizer through ``transformers``); `load_tokenizer`
picks one from the scenario's ``data.text.tokenizer``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch

from snakesim.errors import ConfigurationError, MissingDependencyError
from snakesim.learning.data.datasets import Dataset

TEXT_SUFFIXES = (".txt", ".md", ".text", ".rst")
"""Suffixes of the files read from a folder (case-insensitive)."""


def read_sources(path: str | Path) -> list[tuple[str, str]]:
    """Read a file, or every text file under a folder, as ``(name, text)`` sources.

    Parameters
    ----------
    path
        A file (one source, named by its file name) or a folder: every regular file
        under it, recursively, whose suffix is in `TEXT_SUFFIXES`, sorted and named
        by its path relative to the folder (posix form). Text is decoded as UTF-8,
        undecodable bytes replaced.

    Raises
    ------
    ConfigurationError
        At ``data.text.path`` if the path does not exist, a folder holds no text
        file, a file cannot be read, or every source is empty.
    """
    root = Path(path).expanduser()
    if root.is_file():
        files = [(root.name, root)]
    elif root.is_dir():
        files = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*")
                       if p.suffix.lower() in TEXT_SUFFIXES and p.is_file())
        if not files:
            raise ConfigurationError(
                f"data.text.path: no text files (suffixes {' '.join(TEXT_SUFFIXES)}) "
                f"in folder {root}")
    else:
        what = "not a regular file or folder" if root.exists() else "no such file or folder"
        raise ConfigurationError(f"data.text.path: {what}: {root}")
    sources = []
    for name, file in files:
        try:
            sources.append((name, file.read_text(encoding="utf-8", errors="replace")))
        except OSError as err:
            raise ConfigurationError(f"data.text.path: cannot read {file}: {err}") from err
    if not any(text for _, text in sources):
        raise ConfigurationError(
            f"data.text.path: every source is empty ({len(sources)} file(s) in {root})")
    return sources


class Tokenizer(Protocol):
    """What the text pipeline needs of a tokenizer."""

    @property
    def vocab_size(self) -> int:
        """Number of token ids (every id is below it)."""
        ...

    @property
    def eos_token_id(self) -> int | None:
        """Id appended after each source when packing, or ``None`` for none."""
        ...

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        ...

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``."""
        ...


class ByteTokenizer:
    """UTF-8 bytes as tokens (ids 0..255): no vocabulary file, nothing to download.

    ``decode(encode(text)) == text`` for every string that is valid Unicode (lone
    surrogates, which UTF-8 cannot encode, become ``?``); bytes that do not form
    UTF-8 decode to U+FFFD.
    """

    vocab_size: int = 256
    eos_token_id: int | None = None

    def encode(self, text: str) -> list[int]:
        """The UTF-8 bytes of ``text``."""
        return list(text.encode("utf-8", errors="replace"))

    def decode(self, ids: Sequence[int]) -> str:
        """The text whose UTF-8 bytes are ``ids``."""
        return bytes(ids).decode("utf-8", errors="replace")


class HFTokenizer:
    """A ``transformers`` tokenizer (``AutoTokenizer.from_pretrained(name_or_path)``).

    Parameters
    ----------
    name_or_path
        A local folder holding a saved tokenizer, or a Hugging Face hub id.

    Raises
    ------
    MissingDependencyError
        If ``transformers`` is not installed.
    ConfigurationError
        At ``data.text.tokenizer`` if the tokenizer cannot be loaded.
    """

    def __init__(self, name_or_path: str) -> None:
        try:
            import transformers
        except ImportError as err:
            raise MissingDependencyError(
                "transformers", "llm", "tokenising text with a model's tokenizer") from err
        try:
            # Local files only, and never a tokenizer's own Python code (auto_map).
            tok: Any = transformers.AutoTokenizer.from_pretrained(
                name_or_path, local_files_only=True, trust_remote_code=False)
        except Exception as err:  # any failure of a user-given path is a located error
            detail = " ".join(f"{type(err).__name__}: {err}".split())
            raise ConfigurationError(
                f"data.text.tokenizer: cannot load a tokenizer from {name_or_path}: "
                f"{detail[:400]}") from err
        # Sources are tokenised whole and cut by `pack`: the model's length limit does
        # not apply here, so silence the warning about texts longer than it.
        tok.model_max_length = 2**62
        self._tok = tok
        self.name_or_path = name_or_path
        self.eos_token_id: int | None = tok.eos_token_id
        self.vocab_size: int = len(tok)

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text``, without special tokens."""
        return [int(i) for i in self._tok.encode(text, add_special_tokens=False)]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids``."""
        return str(self._tok.decode([int(i) for i in ids]))


def load_tokenizer(spec: str) -> Tokenizer:
    """``"bytes"`` gives a `ByteTokenizer`; anything else a folder or hub id for `HFTokenizer`."""
    if spec == "bytes":
        return ByteTokenizer()
    local = Path(spec).expanduser()
    if not local.exists() and looks_like_path(spec):
        raise ConfigurationError(f"data.text.tokenizer: no such folder: {local} (give a "
                                 "tokenizer folder, a hub id, or bytes)")
    return HFTokenizer(str(local) if local.exists() else spec)


def looks_like_path(spec: str) -> bool:
    """Whether ``spec`` is meant as a local path rather than a hub id (``org/name``)."""
    return spec.startswith(("/", ".", "~")) or "\\" in spec or spec.count("/") > 1


def pack(token_lists: Sequence[Sequence[int]], seq_len: int,
         eos_token_id: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cut each source's tokens into consecutive sequences of exactly ``seq_len``.

    Parameters
    ----------
    token_lists
        Token ids of each source, in order.
    seq_len
        Tokens per sequence (at least 2: a causal LM predicts token t + 1 from t).
    eos_token_id
        Appended after each source's tokens before cutting, when given.

    Returns
    -------
    tokens, source
        ``int64`` arrays of shapes (N, seq_len) and (N,): row ``k`` of a source is its
        tokens ``[k * seq_len, (k + 1) * seq_len)``; ``source`` is the index into
        ``token_lists``. A source's final partial sequence is dropped, so no sequence
        mixes two sources and a split by source stays clean.

    Raises
    ------
    ValueError
        If ``seq_len < 2``.
    """
    if seq_len < 2:
        raise ValueError(f"pack needs seq_len >= 2 (got {seq_len})")
    rows: list[np.ndarray] = [np.empty((0, seq_len), dtype=np.int64)]
    owners: list[np.ndarray] = [np.empty(0, dtype=np.int64)]
    for index, tokens in enumerate(token_lists):
        arr = np.asarray(tokens, dtype=np.int64)
        if eos_token_id is not None:
            arr = np.append(arr, np.int64(eos_token_id))
        count = len(arr) // seq_len
        rows.append(arr[: count * seq_len].reshape(count, seq_len))
        owners.append(np.full(count, index, dtype=np.int64))
    return np.concatenate(rows), np.concatenate(owners)


def load_text_dataset(sources: list[tuple[str, str]], tokenizer: Tokenizer, seq_len: int,
                      test_fraction: float, split_seed: int,
                      max_sequences: int | None = None, name: str = "text") -> Dataset:
    """Tokenise, pack and split text sources into a ``causal_lm`` `Dataset`.

    Parameters
    ----------
    sources
        ``(name, text)`` pairs (`read_sources`, `snakesim.learning.data.corpus`).
    tokenizer
        Tokenises each source; its ``eos_token_id`` (if any) ends each source.
    seq_len
        Tokens per sequence (`pack`).
    test_fraction
        Share of the sequences held out as the test set: stratified by source when
        every source with sequences has at least two and both sets can hold one of
        each source, otherwise a plain random split.
    split_seed
        Seed of the subset (``max_sequences``) and of the train/test split.
    max_sequences
        Keep at most this many sequences: a seeded random subset, kept in order.
    name
        The data set's name.

    Returns
    -------
    Dataset
        ``x`` int64 token sequences (N, seq_len), ``y`` int64 source indices,
        ``num_classes`` the number of sources, ``vocab_size`` the tokenizer's.

    Raises
    ------
    ConfigurationError
        At ``data.text.seq_len`` if the text gives fewer than two sequences, at
        ``data.text.max_sequences`` if it is below two, at ``data.test_fraction`` if
        the train or the test set would be empty.
    """
    from sklearn.model_selection import train_test_split

    if seq_len < 2:
        raise ConfigurationError(f"data.text.seq_len: must be at least 2 (got {seq_len})")
    if max_sequences is not None and max_sequences < 2:
        raise ConfigurationError(
            f"data.text.max_sequences: must be at least 2 (got {max_sequences})")
    if not 0.0 < test_fraction < 1.0:
        raise ConfigurationError(
            f"data.test_fraction: must be between 0 and 1 (got {test_fraction})")
    tokens, owner = pack([tokenizer.encode(text) for _, text in sources], seq_len,
                         tokenizer.eos_token_id)
    if len(tokens) < 2:
        raise ConfigurationError(
            f"data.text.seq_len: the text gives only {len(tokens)} sequences of {seq_len} "
            "tokens; shorten seq_len or add text")
    if max_sequences is not None and max_sequences < len(tokens):
        keep = np.sort(np.random.default_rng(split_seed).choice(
            len(tokens), size=max_sequences, replace=False))
        tokens, owner = tokens[keep], owner[keep]
    n = len(tokens)
    # sklearn's own rule for a float test_size, checked here to give a located error.
    n_test = math.ceil(test_fraction * n)
    if n_test >= n:
        raise ConfigurationError(
            f"data.test_fraction: holding out {test_fraction} of {n} sequences leaves no "
            "training sequence; lower it or add text")
    counts = np.bincount(owner)
    present = counts[counts > 0]
    stratify = (owner if present.min() >= 2 and min(n_test, n - n_test) >= len(present)
                else None)
    train, test = train_test_split(np.arange(n), test_size=n_test, random_state=split_seed,
                                   stratify=stratify)
    return Dataset(
        name, torch.from_numpy(tokens[train]), torch.from_numpy(owner[train]),
        torch.from_numpy(tokens[test]), torch.from_numpy(owner[test]),
        num_classes=len(sources), kind="causal_lm", vocab_size=tokenizer.vocab_size,
        sources=tuple(source for source, _ in sources))


def check_vocab(dataset_vocab: int, model_vocab: int) -> None:
    """Check that the model can embed every token id of the data set.

    Raises
    ------
    ConfigurationError
        At ``model.lm`` if ``model_vocab < dataset_vocab``.
    """
    if model_vocab < dataset_vocab:
        raise ConfigurationError(
            f"model.lm: the model's vocabulary ({model_vocab} tokens) is smaller than the "
            f"tokenizer's ({dataset_vocab}); use the model's own tokenizer or a model with "
            "a larger vocabulary")
