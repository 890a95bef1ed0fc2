"""Composed per-group probes equal a probe of the whole chain (`snakesim.learning.costs.probe`).

The reference below probes one whole training step at once, as the cost model did
before it composed groups: FLOPs and every storage autograd saves, parameters and the
batch excluded. Composition must give the same FLOPs and the same saved bytes for every
slice of classifiers and of causal LMs (whose identical blocks are probed once).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from itertools import combinations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

from snakesim.learning.costs.attention import FusedAttention
from snakesim.learning.costs.probe import GroupProber, probe_copy, saved_storages
from snakesim.learning.models.stack import LayerStack, digits_cnn
from snakesim.learning.models.vgg import mlp, vgg11
from snakesim.learning.objective import CAUSAL_LM, CLASSIFICATION, Objective

# Slow (real training, subprocesses or many examples): `pytest -m "not slow"` skips it.
pytestmark = pytest.mark.slow


def whole_chain(model: LayerStack, objective: Objective, shape: Sequence[int],
                trainable: Sequence[int], batch: int) -> tuple[float, int]:
    """FLOPs and saved bytes of one step probed in one piece (the reference)."""
    model.set_trainable(trainable)
    x, y = objective.example(batch, shape)
    first = min(trainable) if trainable else len(model)
    with FlopCounterMode(display=False) as counter, FusedAttention(), \
            saved_storages((*model.parameters(), x, y)) as saved:
        with torch.no_grad():
            h = model.forward_range(x, 0, first)
        loss = objective.loss(model.forward_range(h, first, len(model)), x, y)
        if trainable:
            loss.backward()  # type: ignore[no-untyped-call]
    for p in model.parameters():
        p.grad = None
    return float(counter.get_total_flops()), sum(saved.values())


def _tiny_lm(family: str) -> LayerStack:
    pytest.importorskip("transformers")
    from snakesim.learning.models.lm_models import lm_factory, load_lm_config

    return lm_factory(load_lm_config(preset=f"tiny-{family}",
                                     overrides={"num_hidden_layers": 3}), seed=0)()


CASES: list[tuple[str, Callable[[], LayerStack], Objective, tuple[int, ...]]] = [
    ("digits_cnn", lambda: digits_cnn(width=4), CLASSIFICATION, (1, 8, 8)),
    ("mlp", lambda: mlp(10, (1, 8, 8), (16, 8)), CLASSIFICATION, (1, 8, 8)),
    ("vgg11", lambda: vgg11(10, 3, (32, 32), width_mult=0.125), CLASSIFICATION, (3, 32, 32)),
    ("tiny-opt", lambda: _tiny_lm("opt"), CAUSAL_LM, (16,)),
    ("tiny-llama", lambda: _tiny_lm("llama"), CAUSAL_LM, (16,)),
    ("tiny-gpt2", lambda: _tiny_lm("gpt2"), CAUSAL_LM, (16,)),
]


@pytest.mark.parametrize(("name", "build", "objective", "shape"), CASES,
                         ids=[c[0] for c in CASES])
def test_composed_steps_equal_the_whole_chain(
        name: str, build: Callable[[], LayerStack], objective: Objective,
        shape: tuple[int, ...]) -> None:
    with torch.device("meta"):
        model = build()
    prober = GroupProber(model, objective, shape)
    n = len(model)
    slices = [tuple(range(n)), (n - 1,), (0,), (1, n - 1)]
    slices += [c for c in combinations(range(n), 2)][:6]
    for trainable in slices:
        for batch in (3, 4):
            composed = prober.step(trainable, batch)
            flops, saved = whole_chain(model, objective, shape, trainable, batch)
            assert composed.flops == flops, (name, trainable)
            assert composed.saved == saved, (name, trainable)
            assert sum(composed.group_saved) == composed.saved


def test_identical_blocks_are_probed_once() -> None:
    with torch.device("meta"):
        model = _tiny_lm("opt")
    prober = GroupProber(model, CAUSAL_LM, (16,))
    prober.step(range(len(model)), 2)
    assert len(prober._costs) == 3  # embeddings, head, and one probe for all 3 blocks
    prober.step([1, 2], 2)
    # block 1 as the first trained group (no input gradient), block 2 trained behind
    # it (as before) and block 3 frozen behind it, and the head untrained.
    assert len(prober._costs) == 6


@pytest.mark.parametrize(("name", "build", "objective", "shape"), CASES,
                         ids=[c[0] for c in CASES])
def test_small_classifiers_probe_on_the_cpu_with_the_meta_figures(
        name: str, build: Callable[[], LayerStack], objective: Objective,
        shape: tuple[int, ...]) -> None:
    with torch.device("meta"):
        model = build()
    copy_ = probe_copy(model, objective, shape)
    on_cpu = next(copy_.parameters()).device.type == "cpu"
    assert on_cpu == (objective is CLASSIFICATION), name
    if not on_cpu:
        assert copy_ is model
        return
    state = torch.random.get_rng_state()
    meta, cpu = GroupProber(model, objective, shape), GroupProber(copy_, objective, shape)
    n = len(model)
    for trainable in [tuple(range(n)), (n - 1,), (0,), (1, n - 1)]:
        a, b = meta.step(trainable, 3), cpu.step(trainable, 3)
        assert (a.flops, a.saved, a.group_saved, a.group_output) == \
            (b.flops, b.saved, b.group_saved, b.group_output), (name, trainable)
        assert a.forward.flops == b.forward.flops and a.backward.flops == b.backward.flops
        assert b.forward.bytes > 0 and b.backward.kernels > 0
    # Dropout on real tensors must not consume the global generator.
    assert torch.equal(torch.random.get_rng_state(), state)


def test_a_small_classifier_probe_does_not_import_dynamo() -> None:
    # FlopCounterMode and meta operators import TorchDynamo (a second per process).
    code = ("import sys\n"
            "from snakesim.learning.costs.model import CostModel\n"
            "from snakesim.learning.models.stack import digits_cnn\n"
            "c = CostModel(lambda: digits_cnn(width=8), (1, 8, 8), 'sgd', 0.9)\n"
            "assert c.step(range(c.n_groups), 32).flops > 0\n"
            "assert c.memory([1], 32).total > 0\n"
            "print('torch._dynamo' in sys.modules)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"
