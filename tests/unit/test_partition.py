"""Tests of `snakesim.learning.data.partition`: IID, Dirichlet, shards and quantity-skew splits."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.errors import ConfigurationError
from snakesim.learning.data.partition import apportion, dirichlet, iid, quantity_skew, shards

FAST = settings(max_examples=50, deadline=None)


def _labels(n: int, n_classes: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n_classes, size=n)


def _assert_exact_cover(parts: list[np.ndarray], n: int) -> None:
    """Every sample index appears in exactly one part."""
    joined = np.concatenate(parts) if parts else np.array([], dtype=int)
    assert np.array_equal(np.sort(joined), np.arange(n))


def _same(a: list[np.ndarray], b: list[np.ndarray]) -> bool:
    return len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def _max_class_share(labels: np.ndarray, parts: list[np.ndarray]) -> float:
    """Mean over nodes of the share of the node's most common class (1.0 = one class)."""
    shares = [np.bincount(labels[p]).max() / len(p) for p in parts if len(p)]
    return float(np.mean(shares))


# ------------------------------------------------------------------------------ iid
@FAST
@given(n=st.integers(1, 300), n_nodes=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_iid_is_a_near_equal_exact_cover(n: int, n_nodes: int, seed: int) -> None:
    labels = _labels(n, 10, seed % 1000)
    parts = iid(labels, n_nodes, np.random.default_rng(seed))
    assert len(parts) == n_nodes
    _assert_exact_cover(parts, n)
    sizes = [len(p) for p in parts]
    assert max(sizes) - min(sizes) <= 1


def test_iid_same_seed_same_parts_different_seed_different() -> None:
    labels = _labels(200, 10)
    a = iid(labels, 5, np.random.default_rng(7))
    b = iid(labels, 5, np.random.default_rng(7))
    c = iid(labels, 5, np.random.default_rng(8))
    assert _same(a, b)
    assert not _same(a, c)


# ------------------------------------------------------------------------ dirichlet
@FAST
@given(n=st.integers(50, 400), n_classes=st.integers(1, 10), n_nodes=st.integers(1, 8),
       alpha=st.floats(0.1, 100.0), min_samples=st.integers(0, 5),
       seed=st.integers(0, 2**32 - 1))
def test_dirichlet_is_an_exact_cover_with_min_samples(n: int, n_classes: int, n_nodes: int,
                                                      alpha: float, min_samples: int,
                                                      seed: int) -> None:
    labels = _labels(n, n_classes, seed % 1000)
    try:
        parts = dirichlet(labels, n_nodes, alpha, np.random.default_rng(seed),
                          min_samples=min_samples)
    except ConfigurationError:
        # Only an unlucky streak of draws may fail; the inputs themselves are feasible.
        assert alpha < 1.0
        return
    assert len(parts) == n_nodes
    _assert_exact_cover(parts, n)
    assert min(len(p) for p in parts) >= min_samples


def test_dirichlet_respects_min_samples() -> None:
    labels = _labels(500, 10)
    for seed in range(5):
        parts = dirichlet(labels, 10, 0.3, np.random.default_rng(seed), min_samples=20)
        assert min(len(p) for p in parts) >= 20
        _assert_exact_cover(parts, 500)


def test_dirichlet_same_seed_same_parts_different_seed_different() -> None:
    labels = _labels(300, 10)
    a = dirichlet(labels, 4, 0.5, np.random.default_rng(3))
    b = dirichlet(labels, 4, 0.5, np.random.default_rng(3))
    c = dirichlet(labels, 4, 0.5, np.random.default_rng(4))
    assert _same(a, b)
    assert not _same(a, c)


def test_small_alpha_gives_more_label_skew_than_large_alpha() -> None:
    labels = _labels(1000, 10)

    def skew(alpha: float) -> float:
        return float(np.mean([
            _max_class_share(labels, dirichlet(labels, 8, alpha, np.random.default_rng(s),
                                               min_samples=5))
            for s in range(5)]))

    low, high = skew(0.1), skew(100.0)
    assert low > high + 0.2
    # Large alpha approaches IID: the top class holds little more than its 1/10 share.
    assert high < 0.25


def test_impossible_min_samples_raises() -> None:
    labels = _labels(50, 10)
    with pytest.raises(ConfigurationError, match="min_samples"):
        dirichlet(labels, 6, 1.0, np.random.default_rng(0), min_samples=10)


def test_no_successful_draw_raises() -> None:
    # Feasible in total, but a 1-class data set with alpha tiny essentially never gives
    # every node 10 of the 20 samples.
    labels = np.zeros(20, dtype=int)
    with pytest.raises(ConfigurationError, match="alpha"):
        dirichlet(labels, 2, 0.01, np.random.default_rng(0), min_samples=10, max_tries=20)


# --------------------------------------------------------------------------- shards
@FAST
@given(n_nodes=st.integers(1, 20), k=st.integers(1, 10), n_classes=st.integers(1, 10),
       seed=st.integers(0, 2**32 - 1))
def test_shards_give_exactly_k_classes_per_node_and_cover_every_sample(
        n_nodes: int, k: int, n_classes: int, seed: int) -> None:
    labels = np.repeat(np.arange(n_classes), 40)[np.random.default_rng(seed % 97)
                                                  .permutation(40 * n_classes)]
    if k > n_classes or n_nodes * k < n_classes:
        with pytest.raises(ConfigurationError, match=r"data\.partition\.k"):
            shards(labels, n_nodes, k, np.random.default_rng(seed))
        return
    parts = shards(labels, n_nodes, k, np.random.default_rng(seed))
    assert len(parts) == n_nodes
    _assert_exact_cover(parts, len(labels))
    assert all(len(np.unique(labels[p])) == k for p in parts)


def test_shards_on_digits_like_data_are_balanced_and_seeded() -> None:
    labels = _labels(1000, 10)
    a = shards(labels, 10, 2, np.random.default_rng(1))
    b = shards(labels, 10, 2, np.random.default_rng(1))
    c = shards(labels, 10, 2, np.random.default_rng(2))
    assert _same(a, b) and not _same(a, c)
    # Every class is cut into n * k / C = 2 shards: node sizes are about 1000 / 10.
    sizes = [len(p) for p in a]
    assert min(sizes) > 70 and max(sizes) < 130


def test_shards_need_enough_samples_per_shard() -> None:
    labels = np.array([0, 0, 0, 1])  # class 1 has 1 sample but must give 2 shards
    with pytest.raises(ConfigurationError, match="class 1 has 1 samples"):
        shards(labels, 4, 1, np.random.default_rng(0))


# -------------------------------------------------------------------- quantity skew
@FAST
@given(n=st.integers(20, 400), n_nodes=st.integers(1, 10), sigma=st.floats(0.1, 3.0),
       min_samples=st.integers(0, 2), seed=st.integers(0, 2**32 - 1))
def test_quantity_skew_is_an_exact_cover_with_min_samples(n: int, n_nodes: int, sigma: float,
                                                          min_samples: int, seed: int) -> None:
    parts = quantity_skew(_labels(n, 10, seed % 1000), n_nodes, sigma,
                          np.random.default_rng(seed), min_samples=min_samples)
    assert len(parts) == n_nodes
    _assert_exact_cover(parts, n)
    assert min(len(p) for p in parts) >= min_samples


def test_quantity_skew_sizes_vary_more_with_sigma_and_are_seeded() -> None:
    labels = _labels(2000, 10)

    def spread(sigma: float, seed: int) -> float:
        sizes = [len(p) for p in quantity_skew(labels, 10, sigma, np.random.default_rng(seed))]
        return float(np.std(sizes) / np.mean(sizes))

    assert _same(quantity_skew(labels, 6, 1.0, np.random.default_rng(5)),
                 quantity_skew(labels, 6, 1.0, np.random.default_rng(5)))
    assert not _same(quantity_skew(labels, 6, 1.0, np.random.default_rng(5)),
                     quantity_skew(labels, 6, 1.0, np.random.default_rng(6)))
    low = np.mean([spread(0.1, s) for s in range(5)])
    high = np.mean([spread(1.5, s) for s in range(5)])
    assert low < 0.2 < high


def test_quantity_skew_impossible_min_samples_raises() -> None:
    with pytest.raises(ConfigurationError, match="min_samples"):
        quantity_skew(_labels(50, 10), 6, 1.0, np.random.default_rng(0), min_samples=10)


def test_dirichlet_with_large_alpha_never_starves_a_node_of_small_classes() -> None:
    """50 samples of 10 classes over 8 nodes, alpha 25 (near IID), 5 samples each
    (8 x 5 <= 50): feasible, yet no draw in 1,000 gives every node 5 samples."""
    parts = dirichlet(_labels(50, 10), 8, 25.0, np.random.default_rng(0), min_samples=5)
    assert min(len(p) for p in parts) >= 5


@FAST
@given(shares=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=12),
       total=st.integers(0, 10_000))
def test_apportion_sums_to_total_and_stays_within_one_of_the_exact_share(
        shares: list[float], total: int) -> None:
    w = np.asarray(shares) + 1e-9  # Dirichlet shares are positive
    counts = apportion(w, total)
    exact = w / w.sum() * total
    assert counts.sum() == total
    assert np.all(counts >= np.floor(exact)) and np.all(counts <= np.floor(exact) + 1)


def test_dirichlet_assigns_every_sample_of_every_class_once() -> None:
    labels = _labels(997, 7, 5)
    parts = dirichlet(labels, 6, 0.3, np.random.default_rng(11), min_samples=0)
    _assert_exact_cover(parts, 997)
    for c in range(7):
        held = sum(int((labels[p] == c).sum()) for p in parts)
        assert held == int((labels == c).sum())


def test_dirichlet_depends_only_on_the_generator() -> None:
    labels = _labels(400, 10)
    runs = [dirichlet(labels, 5, 0.3, np.random.default_rng(7)) for _ in range(2)]
    assert _same(*runs)


def test_dirichlet_with_large_alpha_does_not_starve_a_node_of_small_classes() -> None:
    """50 samples of 10 classes over 8 nodes, alpha 25 (near IID), 5 samples each: with
    cut points rounded down the first nodes got nothing from any class (no draw in
    1,000 succeeded); largest-remainder shares make it feasible."""
    parts = dirichlet(_labels(50, 10), 8, 25.0, np.random.default_rng(0), min_samples=5)
    assert min(len(p) for p in parts) >= 5
    _assert_exact_cover(parts, 50)
