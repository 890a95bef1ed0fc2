"""Checks that need the model's layer-group count, the data's size or the scenario's size.

Both are known from the spec without building anything (`snakesim.config.groups`,
`snakesim.config.network.size_of`), so `validate` reports what a run would otherwise
only find after loading data and models: a Snake window naming group 99 of a 5-group
model, a split cut past the last group, a mesh of 1e8 nodes.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from snakesim.config.groups import LAYER_KEYS, group_count
from snakesim.config.limits import current_limits, variable_of
from snakesim.config.network import size_of
from snakesim.config.schema import Scenario, client_names
from snakesim.config.strategies import SnakeStrategy, SplitFedStrategy, SplitStrategy
from snakesim.errors import Problem

SIZE_KEYS = (*LAYER_KEYS, "hidden_size", "n_embd", "num_attention_heads", "n_head",
             "num_key_value_heads", "intermediate_size", "ffn_dim", "vocab_size",
             "max_position_embeddings", "n_positions", "word_embed_proj_dim", "n_inner")
"""Causal-LM config fields that are sizes: positive integers when overridden."""


def scale_problems(s: Scenario) -> Iterator[Problem]:
    """Nodes, links and training jobs over the limits of `snakesim.config.limits`."""
    limits = current_limits()
    nodes, links = size_of(s.topology)
    if nodes > limits.max_nodes:
        yield Problem("topology", f"has {nodes:,} nodes, over the limit of "
                      f"{limits.max_nodes:,} (raise it with {variable_of('max_nodes')})",
                      None, False)
        return
    if links > limits.max_links:
        yield Problem("topology", f"has {links:,.0f} links, over the limit of "
                      f"{limits.max_links:,} (raise it with {variable_of('max_links')})",
                      None, False)
        return
    route = s.strategy.route_nodes()
    learners = len(route) if route else max(nodes - 1, 1)
    jobs = s.training.rounds * learners
    if jobs > limits.max_jobs:
        yield Problem("training.rounds", f"{s.training.rounds:,} rounds x {learners:,} "
                      f"learners is {jobs:,} training jobs, over the limit of "
                      f"{limits.max_jobs:,} (raise it with {variable_of('max_jobs')})",
                      s.training.rounds)


DIGITS_SAMPLES, DIGITS_CLASSES = 1797, 10
"""scikit-learn's digits: 1,797 images of 10 classes (fixed by the data set)."""


def training_size(s: Scenario) -> tuple[int, int] | None:
    """``(training samples, classes)`` where the spec decides them (digits, synthetic).

    The test split is stratified by scikit-learn, which takes ``ceil(fraction * n)``
    samples for the test set.
    """
    if s.data.dataset == "digits":
        n, classes = DIGITS_SAMPLES, DIGITS_CLASSES
    elif s.data.dataset == "synthetic" and s.data.synthetic is not None:
        n, classes = s.data.synthetic.samples, s.data.synthetic.classes
    else:
        return None
    return n - math.ceil(s.data.test_fraction * n), classes


def learner_count(s: Scenario) -> int:
    """The nodes that hold data: the route, or every client but a named server."""
    route = s.strategy.route_nodes()
    if route:
        return len(route)
    server = s.strategy.named_server()
    return sum(1 for name in client_names(s.topology) if name != server)


def partition_problems(s: Scenario) -> Iterator[Problem]:
    """A partition that cannot give every learner data, decided from the data's size."""
    size = training_size(s)
    if size is None:
        return
    learners = learner_count(s)
    n, classes = size
    spec = s.data.partition
    minimum = getattr(spec, "min_samples", 1)
    if learners * minimum > n:
        key = "data.partition.min_samples" if hasattr(spec, "min_samples") else "data"
        yield Problem(key, f"{learners} learners x {minimum} samples exceeds the {n} "
                      f"training samples of {s.data.dataset}", minimum)
    k = getattr(spec, "k", None)
    if spec.kind == "shards" and k is not None and (k > classes or learners * k < classes):
        yield Problem("data.partition.k", f"needs k <= {classes} classes and learners x k "
                      f">= {classes}, so that every sample is dealt out ({learners} "
                      "learners)", k)


def model_problems(s: Scenario) -> Iterator[Problem]:
    """Group indices, cuts and windows that the model's group count rules out."""
    yield from _lm_overrides(s)
    n = group_count(s.model)
    if n is None:
        return
    if n < 3 and s.model.name == "causal_lm":
        return  # reported by _lm_overrides: no decoder block
    strategy = s.strategy
    if isinstance(strategy, (SplitStrategy, SplitFedStrategy)) and strategy.cut > n - 1:
        yield Problem("strategy.cut", f"must be between 1 and {n - 1} for a model of {n} "
                      "layer groups", strategy.cut)
    if isinstance(strategy, SnakeStrategy):
        yield from _snake_groups(strategy, n)


def _snake_groups(strategy: SnakeStrategy, n: int) -> Iterator[Problem]:
    for node, groups in (strategy.assignment.map or {}).items():
        for i, g in enumerate(groups):
            if g >= n:
                yield Problem(f"strategy.assignment.map.{node}.{i}", f"the model has {n} "
                              f"layer groups, 0..{n - 1}", g)
    if strategy.window.kind == "sliding":
        extras = int(strategy.input_trainable) + int(strategy.head_trainable and n > 1)
        body = n - extras
        if strategy.window.groups > max(body, 1) and not strategy.preset_window():
            yield Problem("strategy.window.width", f"must be at most the number of body "
                          f"groups ({body} of the model's {n})", strategy.window.width)


def _lm_overrides(s: Scenario) -> Iterator[Problem]:
    lm = s.model.lm
    if lm is None:
        return
    for key, value in lm.overrides.items():
        if key in SIZE_KEYS and (not isinstance(value, int) or isinstance(value, bool)
                                 or not 1 <= value <= 10_000_000):
            yield Problem(f"model.lm.overrides.{key}", "must be a whole number from 1 to "
                          "10,000,000", value)
    n = group_count(s.model)
    if n is not None and n < 3 and not any(k in lm.overrides for k in LAYER_KEYS):
        yield Problem("model.lm", "the model config has no decoder block", n - 2)
