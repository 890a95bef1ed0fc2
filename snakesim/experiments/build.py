"""Build a scenario's data set, model constructor and cost model.

Classifiers (digits CNN, VGG-11, MLP) and causal LMs (`snakesim.learning.models.lm`) come out
the same shape: a `Dataset`, a zero-argument `ModelFactory` and the `CostModel` that
charges every job, so schemes never ask which kind of model they move.
"""

from __future__ import annotations

from typing import Any

import torch

from snakesim.config.schema import LMSpec, Scenario
from snakesim.config.strategies import LoraSpec
from snakesim.errors import ConfigurationError
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.data.datasets import Dataset, load_dataset
from snakesim.learning.data.synthetic import SyntheticConfig
from snakesim.learning.models.stack import LayerStack, ModelFactory, model_factory
from snakesim.learning.objective import objective_for


def load_data(scenario: Scenario) -> Dataset:
    """The scenario's data set (file-based sets are checked here, when a run starts)."""
    d = scenario.data
    if d.dataset == "text":
        return load_text(scenario)
    synthetic = None
    if d.synthetic is not None:
        s = d.synthetic
        synthetic = SyntheticConfig(s.samples, s.classes, tuple(s.shape), s.noise, s.seed)
    return load_dataset(d.dataset, test_fraction=d.test_fraction, split_seed=d.split_seed,
                        path=d.path, synthetic=synthetic)


def load_text(scenario: Scenario) -> Dataset:
    """Text sources (files or the generated corpus), tokenised and packed."""
    from snakesim.learning.data.corpus import generate_corpus
    from snakesim.learning.data.text import load_text_dataset, load_tokenizer, read_sources

    d = scenario.data
    t = d.text
    assert t is not None  # the schema fills it in for dataset text
    if t.path:
        sources = read_sources(t.path)
    else:
        sources = generate_corpus(t.corpus.sources, t.corpus.words_per_source, t.corpus.seed)
    spec = t.tokenizer
    if spec == "auto":
        lm = scenario.model.lm
        spec = lm.pretrained if lm is not None and lm.pretrained else "bytes"
    return load_text_dataset(sources, load_tokenizer(spec), t.seq_len, d.test_fraction,
                             d.split_seed, t.max_sequences, name="text")


def scenario_model(scenario: Scenario, data: Dataset, seed: int = 0) -> ModelFactory:
    """The model constructor of a scenario, shaped by its data set.

    ``seed`` initialises a causal LM built from a config (classifiers are initialised
    by `snakesim.learning.models.init_parameters` from the run's generator instead).
    """
    m = scenario.model
    if m.name == "causal_lm":
        assert m.lm is not None  # checked by the schema
        factory = lm_model(m.lm, data, seed)
        lora = scenario.strategy.lora_spec()
        return with_lora(factory, lora, seed) if lora is not None else factory
    return model_factory(m.name, num_classes=data.num_classes, width=m.width,
                         input_shape=data.input_shape, width_mult=m.width_mult,
                         hidden=tuple(m.hidden))


def lm_model(spec: LMSpec, data: Dataset, seed: int) -> ModelFactory:
    """A causal LM's constructor, checked against the tokenised data."""
    from snakesim.learning.data.text import check_vocab
    from snakesim.learning.models.lm_models import lm_factory, load_lm_config, max_positions

    config = load_lm_config(preset=spec.preset, config=spec.config,
                            pretrained=spec.pretrained, overrides=spec.overrides)
    check_vocab(data.vocab_size, int(config.vocab_size))
    limit = max_positions(config)
    seq_len = int(data.input_shape[0])
    if limit is not None and seq_len > limit:
        raise ConfigurationError(f"data.text.seq_len: {seq_len} tokens is longer than the "
                                 f"model's {limit} positions")
    return lm_factory(config, seed=seed, pretrained=spec.pretrained)


def with_lora(factory: ModelFactory, spec: LoraSpec, seed: int) -> ModelFactory:
    """Wrap ``factory`` with the scenario's LoRA adapters (`snakesim.learning.models.lora`)."""
    from snakesim.learning.models.lora import with_lora as add_lora

    return add_lora(factory, rank=spec.rank, alpha=spec.alpha, dropout=spec.dropout,
                    targets=spec.targets, seed=seed)


def precision_of(scenario: Scenario) -> Precision:
    """The training number formats of a scenario."""
    t = scenario.training
    return Precision(t.dtype, t.master_weights)


def cost_model(scenario: Scenario, factory: ModelFactory, data: Dataset) -> CostModel:
    """The cost model that charges every job of the run."""
    t = scenario.training
    lm = scenario.model.lm
    return CostModel(factory, data.input_shape, t.optimizer, t.momentum,
                     weight_decay=t.weight_decay, objective=objective_for(data.kind),
                     precision=precision_of(scenario),
                     checkpointing=bool(lm and lm.gradient_checkpointing),
                     loss_fp32=t.loss_dtype == "fp32", hold_logits=t.hold_logits)


def build_model(scenario: Scenario, factory: ModelFactory) -> LayerStack:
    """The workspace model: on the meta device in cost-only mode (no memory, no values)."""
    from snakesim.learning.models.lm import set_checkpointing

    if scenario.mode == "cost_only":
        with torch.device("meta"):
            model = factory()
    else:
        model = factory()
    precision = precision_of(scenario)
    if not precision.master_weights:  # pure half: parameters stored in the half format
        model.to(precision.param_dtype)
    lm = scenario.model.lm
    set_checkpointing(model, bool(lm and lm.gradient_checkpointing))
    return model


def describe(data: Dataset) -> dict[str, Any]:
    """Summary entries about the data set and metric."""
    return {"task": data.kind, "metric": objective_for(data.kind).metric}
