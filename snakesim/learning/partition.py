"""Partitioners: how the training set is spread over nodes (IID or non-IID).

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
    approaches IID. Draws are repeated until every node holds ``min_samples``.

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
            cuts = (np.cumsum(shares)[:-1] * len(idx)).astype(int)
            for node, chunk in enumerate(np.split(idx, cuts)):
                parts[node].append(chunk)
        result = [np.sort(np.concatenate(p)) for p in parts]
        if min(len(r) for r in result) >= min_samples:
            return result
    raise ConfigurationError(
        f"data.partition: no Dirichlet(alpha={alpha}) draw gave every one of {n_nodes} "
        f"nodes {min_samples} samples; raise alpha or lower min_samples")
