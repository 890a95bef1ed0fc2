"""Tests of the text-data layer: corpus, reading, tokenisers, packing, splitting."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.errors import ConfigurationError, MissingDependencyError
from snakesim.learning.data.corpus import TOPICS, generate_corpus
from snakesim.learning.data.partition import by_source
from snakesim.learning.data.text import (
    ByteTokenizer,
    HFTokenizer,
    Tokenizer,
    check_vocab,
    load_text_dataset,
    load_tokenizer,
    pack,
    read_sources,
)

FAST = settings(max_examples=60, deadline=None)
CORPUS = generate_corpus(n_sources=4, words_per_source=400, seed=3)


# --------------------------------------------------------------------------- corpus
def test_corpus_is_deterministic_named_and_ascii() -> None:
    again = generate_corpus(n_sources=4, words_per_source=400, seed=3)
    assert again == CORPUS
    assert generate_corpus(n_sources=4, words_per_source=400, seed=4) != CORPUS
    assert [name for name, _ in CORPUS] == [f"topic-{i:02d}.txt" for i in range(4)]
    for _, text in CORPUS:
        assert text.isascii() and text.endswith("\n")
        assert len(text.split()) >= 400
        assert "\n\n" in text  # paragraphs


def test_corpus_source_does_not_depend_on_the_number_of_sources() -> None:
    assert generate_corpus(n_sources=2, words_per_source=400, seed=3) == CORPUS[:2]


def test_corpus_sources_differ_in_vocabulary() -> None:
    content = {w for nouns, verbs, adjectives in TOPICS.values()
               for w in f"{nouns} {verbs} {adjectives}".split()}
    words = [{w.strip(".,?").lower() for w in text.split()} & content for _, text in CORPUS]
    for i in range(len(words)):
        for j in range(i + 1, len(words)):
            overlap = len(words[i] & words[j]) / len(words[i] | words[j])
            assert overlap < 0.2, (i, j, words[i] & words[j])


def test_corpus_rejects_empty_requests() -> None:
    with pytest.raises(ValueError, match="n_sources"):
        generate_corpus(n_sources=0)


# ------------------------------------------------------------------------ tokenizers
@FAST
@given(text=st.text())
def test_byte_tokenizer_round_trips_any_text(text: str) -> None:
    tok = ByteTokenizer()
    ids = tok.encode(text)
    assert all(0 <= i < tok.vocab_size for i in ids)
    assert tok.decode(ids) == text


def test_byte_tokenizer_interface() -> None:
    tok: Tokenizer = load_tokenizer("bytes")
    assert isinstance(tok, ByteTokenizer)
    assert (tok.vocab_size, tok.eos_token_id) == (256, None)
    assert tok.encode("é") == [0xC3, 0xA9]
    assert tok.decode([0xFF, 0x41]) == "\ufffdA"  # invalid UTF-8 is replaced, not raised


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A byte-level BPE tokenizer trained on the generated corpus and saved locally."""
    pytest.importorskip("transformers")
    from tokenizers import Tokenizer as RawTokenizer
    from tokenizers import decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    raw = RawTokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|eos|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    raw.train_from_iterator([text for _, text in CORPUS], trainer)
    folder = tmp_path_factory.mktemp("tokenizer")
    fast = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=raw, eos_token="<|eos|>")
    fast.save_pretrained(folder)
    return folder


def test_hf_tokenizer_loads_a_local_folder(hf_folder: Path) -> None:
    tok = load_tokenizer(str(hf_folder))
    assert isinstance(tok, HFTokenizer)
    assert tok.vocab_size == 400 and tok.eos_token_id == 0
    text = CORPUS[0][1][:300]
    ids = tok.encode(text)
    assert len(ids) < len(text.encode())  # merges learnt from the corpus compress it
    assert tok.eos_token_id not in ids  # no special tokens added
    assert tok.decode(ids) == text
    assert tok.decode(tok.encode("héllo ✓")) == "héllo ✓"


def test_hf_tokenizer_ends_each_source_with_eos(hf_folder: Path) -> None:
    tok = load_tokenizer(str(hf_folder))
    ids = tok.encode("the cable")
    tokens, _ = pack([ids], len(ids) + 1, tok.eos_token_id)
    assert tokens.tolist() == [[*ids, tok.eos_token_id]]
    data = load_text_dataset(CORPUS, tok, 16, 0.25, 0)
    lists = [tok.encode(text) for _, text in CORPUS]
    assert len(data.x_train) + len(data.x_test) == sum((len(i) + 1) // 16 for i in lists)
    assert data.vocab_size == 400 and int(data.x_train.max()) < 400


def test_hf_tokenizer_load_failure_is_located(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        load_tokenizer(str(tmp_path))  # an empty folder: nothing to load
    message = str(info.value)
    assert message.startswith("data.text.tokenizer: ")
    assert str(tmp_path) in message and "\n" not in message


def test_hf_tokenizer_without_transformers(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "transformers", None)  # makes the import fail
    with pytest.raises(MissingDependencyError, match=r"snakesim\[llm\]"):
        HFTokenizer("anything")


# --------------------------------------------------------------------------- packing
token_lists = st.lists(st.lists(st.integers(0, 300), max_size=40), max_size=6)


@FAST
@given(lists=token_lists, seq_len=st.integers(2, 9),
       eos=st.one_of(st.none(), st.integers(301, 400)))
def test_pack_cuts_each_source_into_aligned_slices(
        lists: list[list[int]], seq_len: int, eos: int | None) -> None:
    tokens, source = pack(lists, seq_len, eos)
    full = [ids + ([eos] if eos is not None else []) for ids in lists]
    assert tokens.dtype == np.int64 and source.dtype == np.int64
    assert tokens.shape == (sum(len(f) // seq_len for f in full), seq_len)
    assert source.shape == (len(tokens),)
    assert list(source) == sorted(source)  # sources in input order
    offsets: dict[int, int] = {}
    for row, owner in zip(tokens, source, strict=True):
        k = offsets.get(int(owner), 0)
        assert list(row) == full[owner][k * seq_len:(k + 1) * seq_len]
        offsets[int(owner)] = k + 1


def test_pack_rejects_short_sequences_and_handles_nothing() -> None:
    with pytest.raises(ValueError, match="seq_len"):
        pack([[1, 2, 3]], 1)
    tokens, source = pack([], 4)
    assert tokens.shape == (0, 4) and source.shape == (0,)
    tokens, source = pack([[], [1]], 2, eos_token_id=9)
    assert tokens.tolist() == [[1, 9]] and source.tolist() == [1]


# --------------------------------------------------------------------------- reading
def test_read_sources_from_a_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "b.txt").write_text("bee", encoding="utf-8")
    (tmp_path / "a.md").write_text("ay", encoding="utf-8")
    (tmp_path / "sub" / "c.rst").write_text("sea ✓", encoding="utf-8")
    (tmp_path / "sub" / "d.TEXT").write_bytes(b"d\xff")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "notes.txt.bak").write_text("old", encoding="utf-8")
    sources = read_sources(tmp_path)
    assert sources == [("a.md", "ay"), ("b.txt", "bee"), ("sub/c.rst", "sea ✓"),
                       ("sub/d.TEXT", "d\ufffd")]
    assert read_sources(tmp_path / "b.txt") == [("b.txt", "bee")]


def test_read_sources_errors_are_located(tmp_path: Path) -> None:
    missing = tmp_path / "x" / "y"
    with pytest.raises(ConfigurationError,
                       match=r"^data\.text\.path: no such file or folder: .*y$"):
        read_sources(missing)
    (tmp_path / "data.bin").write_bytes(b"\0")
    with pytest.raises(ConfigurationError, match=r"^data\.text\.path: no text files.*\.md"):
        read_sources(tmp_path)
    (tmp_path / "empty.txt").write_text("", encoding="utf-8")
    with pytest.raises(ConfigurationError, match=r"^data\.text\.path: every source is empty"):
        read_sources(tmp_path)


# ------------------------------------------------------------------------- data sets
def _rows(x: torch.Tensor, y: torch.Tensor) -> set[tuple[int, ...]]:
    return {(int(s), *map(int, r)) for r, s in zip(x, y, strict=True)}


def test_load_text_dataset_shapes_and_disjoint_split() -> None:
    tok = ByteTokenizer()
    data = load_text_dataset(CORPUS, tok, seq_len=32, test_fraction=0.2, split_seed=1)
    tokens, source = pack([tok.encode(t) for _, t in CORPUS], 32)
    n = len(tokens)
    assert data.kind == "causal_lm" and data.name == "text"
    assert data.x_train.dtype == torch.int64 and data.y_train.dtype == torch.int64
    assert data.x_train.shape[1:] == (32,) and data.input_shape == (32,)
    assert len(data.x_train) + len(data.x_test) == n
    assert len(data.x_test) == int(np.ceil(0.2 * n))
    assert (data.num_classes, data.vocab_size) == (4, 256)
    assert data.sources == tuple(name for name, _ in CORPUS)
    train, test = _rows(data.x_train, data.y_train), _rows(data.x_test, data.y_test)
    assert not train & test
    assert train | test == _rows(torch.from_numpy(tokens), torch.from_numpy(source))
    assert set(data.y_test.tolist()) == set(range(4))  # stratified: every source tested


def test_load_text_dataset_is_deterministic_from_split_seed() -> None:
    tok = ByteTokenizer()
    a = load_text_dataset(CORPUS, tok, 32, 0.25, split_seed=5, max_sequences=50)
    b = load_text_dataset(CORPUS, tok, 32, 0.25, split_seed=5, max_sequences=50)
    c = load_text_dataset(CORPUS, tok, 32, 0.25, split_seed=6, max_sequences=50)
    assert torch.equal(a.x_train, b.x_train) and torch.equal(a.y_test, b.y_test)
    assert not torch.equal(a.x_test, c.x_test)
    assert len(a.x_train) + len(a.x_test) == 50


def test_load_text_dataset_unstratified_when_a_source_is_tiny() -> None:
    sources = [("long.txt", "x" * 400), ("short.txt", "abcd")]
    data = load_text_dataset(sources, ByteTokenizer(), 4, 0.5, 0)
    assert len(data.x_train) + len(data.x_test) == 101
    assert data.num_classes == 2


def test_load_text_dataset_errors_are_located() -> None:
    tok = ByteTokenizer()
    with pytest.raises(ConfigurationError,
                       match=r"^data\.text\.seq_len: the text gives only 1 sequences of 8 "):
        load_text_dataset([("a.txt", "abcdefghij")], tok, 8, 0.25, 0)
    with pytest.raises(ConfigurationError, match=r"^data\.text\.seq_len: "):
        load_text_dataset(CORPUS, tok, 1, 0.25, 0)
    with pytest.raises(ConfigurationError, match=r"^data\.test_fraction: "):
        load_text_dataset([("a.txt", "abcdefgh")], tok, 4, 0.9, 0)
    with pytest.raises(ConfigurationError, match=r"^data\.test_fraction: "):
        load_text_dataset(CORPUS, tok, 32, 0.0, 0)
    with pytest.raises(ConfigurationError, match=r"^data\.text\.max_sequences: "):
        load_text_dataset(CORPUS, tok, 32, 0.25, 0, max_sequences=1)


def test_check_vocab() -> None:
    check_vocab(256, 256)
    check_vocab(256, 50257)
    with pytest.raises(ConfigurationError, match=r"^model\.lm: .*\(100 tokens\).*\(256\)"):
        check_vocab(256, 100)


# ------------------------------------------------------------------------- by_source
@FAST
@given(n_sources=st.integers(1, 12), n_nodes=st.integers(1, 12), seed=st.integers(0, 999))
def test_by_source_deals_whole_sources(n_sources: int, n_nodes: int, seed: int) -> None:
    labels = np.random.default_rng(seed).integers(0, n_sources, size=200)
    distinct = len(np.unique(labels))
    if distinct < n_nodes:
        with pytest.raises(ConfigurationError, match=r"^data\.partition: by_source needs"):
            by_source(labels, n_nodes, np.random.default_rng(seed))
        return
    parts = by_source(labels, n_nodes, np.random.default_rng(seed))
    again = by_source(labels, n_nodes, np.random.default_rng(seed))
    assert all(np.array_equal(p, q) for p, q in zip(parts, again, strict=True))
    assert np.array_equal(np.sort(np.concatenate(parts)), np.arange(len(labels)))
    owned = [set(labels[p].tolist()) for p in parts]
    assert sum(len(o) for o in owned) == distinct  # no source split across nodes
    assert max(map(len, owned)) - min(map(len, owned)) <= 1  # round-robin


def test_by_source_error_names_both_counts() -> None:
    with pytest.raises(ConfigurationError, match=r"sources \(2\) as learning nodes \(3\)"):
        by_source(np.array([0, 1, 1, 0]), 3, np.random.default_rng(0))
