"""Partitioners: how the training set is spread over nodes (IID or non-IID).

- `iid`: shuffle and deal out equal shares;
- `dirichlet`: per class, shares ~ Dirichlet(alpha) (label skew, Hsu et al. 2019);
- `shards`: sort by label, cut into shards, k shards of k different classes per node
  (the pathological non-IID split of McMahan et al. 2017);
- `quantity_skew`: IID labels, node sizes ~ lognormal(0, sigma) (quantity skew);
- `by_source`: whole sources (files or documents of a text set) per node, the labels
  being source ids (feature and vocabulary skew).

Each returns one array of training-sample indices per node; every sample is assigned
to exactly one node. Randomness comes from the generator passed in (the run's
``partition`` stream).
"""

from __future__ import annotations

import numpy as np

from snakesim.errors import ConfigurationError


def iid(labels: np.ndarray, n_nodes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Shuffle and deal the samples out in near-equal shares."""
    order = rng.permutation(len(labels))
    return [np.sort(part) for part in np.array_split(order, n_nodes)]


def dirichlet(labels: np.ndarray, n_nodes: int, alpha: float, rng: np.random.Generator,
              min_samples: int = 10, max_tries: int = 1000) -> list[np.ndarray]:
    """Split each class among nodes by proportions drawn from Dirichlet(alpha).

    Small ``alpha`` gives each node few classes (strongly non-IID); large ``alpha``
    approaches IID. Each class is shuffled once and cut into consecutive chunks whose
    sizes are its shares apportioned by largest remainder (`apportion`), so every sample
    of every class goes to exactly one node. Draws are repeated (new shares, same
    shuffle) until every node holds ``min_samples``; all randomness is ``rng``'s.

    Raises
    ------
    ConfigurationError
        If no draw in ``max_tries`` gives every node ``min_samples`` samples.
    """
    if n_nodes * min_samples > len(labels):
        raise ConfigurationError(
            f"data.partition.min_samples: {n_nodes} nodes x {min_samples} samples exceeds "
            f"the {len(labels)} training samples")
    classes = np.unique(labels)
    by_class = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    for _ in range(max_tries):
        parts: list[list[np.ndarray]] = [[] for _ in range(n_nodes)]
        for idx in by_class:
            shares = rng.dirichlet(np.full(n_nodes, alpha))
            cuts = np.cumsum(apportion(shares, len(idx)))[:-1]
            for node, chunk in enumerate(np.split(idx, cuts)):
                parts[node].append(chunk)
        result = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(r) for r in result) >= min_samples:
            return result
    raise ConfigurationError(
        f"data.partition: no Dirichlet(alpha={alpha}) draw gave every one of {n_nodes} "
        f"nodes {min_samples} samples; raise alpha or lower min_samples")


def apportion(shares: np.ndarray, total: int) -> np.ndarray:
    """Integer counts summing to ``total`` in proportion to ``shares`` (largest remainder).

    Each count is ``floor(share * total)`` or one more; the leftover samples go to the
    largest fractional parts (ties to the earlier node). Rounding every cut point down
    instead, as the split did before, gives the last node every class's remainder and
    the first nodes nothing from a class with fewer samples than nodes.
    """
    exact = np.asarray(shares, dtype=np.float64) / float(shares.sum()) * total
    counts: np.ndarray = np.floor(exact).astype(np.int64)
    rest = total - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:rest]] += 1
    return counts


def shards(labels: np.ndarray, n_nodes: int, k: int,
           rng: np.random.Generator) -> list[np.ndarray]:
    """Give every node exactly ``k`` classes: McMahan et al.'s sort-and-shard split.

    The samples are sorted by label (shuffled within each class) and cut into
    ``n_nodes * k`` shards; each class gets a near-equal number of shards (so shards
    never straddle two classes) and its samples are cut into that many near-equal
    pieces. With the shards laid out class after class, node ``j`` takes shards
    ``j, j + n, j + 2n, ...``: no class has more than ``n_nodes`` shards, so those are
    ``k`` different classes. Class order and node order are shuffled from ``rng``.

    Raises
    ------
    ConfigurationError
        If ``k`` exceeds the number of classes, ``n_nodes * k`` shards cannot cover
        every class, or a class has fewer samples than shards.
    """
    classes = np.unique(labels)
    c = len(classes)
    total = n_nodes * k
    if k > c or total < c:
        raise ConfigurationError(
            f"data.partition.k: needs k <= {c} classes and nodes x k >= {c}, so that "
            f"every sample is dealt out (got k = {k} with {n_nodes} nodes)")
    order = rng.permutation(classes)
    counts = np.full(c, total // c)
    counts[: total % c] += 1  # the first classes in the shuffled order get one more
    pieces: list[np.ndarray] = []
    for cls, count in zip(order, counts, strict=True):
        idx = rng.permutation(np.flatnonzero(labels == cls))
        if len(idx) < count:
            raise ConfigurationError(
                f"data.partition.k: class {cls} has {len(idx)} samples for {count} shards; "
                "lower k or use fewer nodes")
        pieces.extend(np.array_split(idx, count))
    nodes = rng.permutation(n_nodes)
    parts: list[list[np.ndarray]] = [[] for _ in range(n_nodes)]
    for i, piece in enumerate(pieces):
        parts[nodes[i % n_nodes]].append(piece)
    return [np.sort(np.concatenate(p)) for p in parts]


def quantity_skew(labels: np.ndarray, n_nodes: int, sigma: float, rng: np.random.Generator,
                  min_samples: int = 10) -> list[np.ndarray]:
    """IID labels, unequal sizes: node shares proportional to lognormal(0, sigma) draws.

    Each node first gets ``min_samples``; the rest is shared in proportion to the
    draws (largest remainder), then the shuffled samples are dealt out in those sizes.

    Raises
    ------
    ConfigurationError
        If ``n_nodes * min_samples`` exceeds the training set.
    """
    n = len(labels)
    if n_nodes * min_samples > n:
        raise ConfigurationError(
            f"data.partition.min_samples: {n_nodes} nodes x {min_samples} samples exceeds "
            f"the {n} training samples")
    weights = rng.lognormal(0.0, sigma, n_nodes)
    spare = n - n_nodes * min_samples
    exact = weights / weights.sum() * spare
    sizes = np.floor(exact).astype(int)
    rest = spare - int(sizes.sum())
    sizes[np.argsort(-(exact - sizes), kind="stable")[:rest]] += 1
    sizes += min_samples
    order = rng.permutation(n)
    return [np.sort(p) for p in np.split(order, np.cumsum(sizes)[:-1])]


def by_source(labels: np.ndarray, n_nodes: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Give every node whole sources: a text set's non-IID split by file or document.

    ``labels`` are source ids (a causal-LM data set's ``y``). The distinct sources are
    shuffled and dealt out round-robin, so node sizes follow the sources' sizes and no
    source is shared between nodes.

    Raises
    ------
    ConfigurationError
        If there are fewer distinct sources than nodes (some node would get nothing).
    """
    sources = np.unique(labels)
    if len(sources) < n_nodes:
        raise ConfigurationError(
            f"data.partition: by_source needs at least as many sources ({len(sources)}) "
            f"as learning nodes ({n_nodes})")
    order = rng.permutation(sources)
    return [np.flatnonzero(np.isin(labels, order[node::n_nodes])) for node in range(n_nodes)]
