"""Tests of `snakesim.learning.models.lm` and `.lm_models`: causal LMs as stacks.

The layer stack must compute what the Hugging Face model computes, keep tied embeddings
one tensor (stored, counted, sent and trained once), build every preset, read configs
and pretrained weights, initialise deterministically, checkpoint exactly and train only
LoRA adapters when asked to.
"""

from __future__ import annotations

import copy
import json
import sys
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from snakesim.config.strategies import LoraSpec
from snakesim.errors import ConfigurationError, MissingDependencyError
from snakesim.learning.costs.breakdown import tensor_bytes
from snakesim.learning.costs.model import CostModel
from snakesim.learning.models.lm import (
    DecoderBlock,
    require_transformers,
    set_checkpointing,
    stack_causal_lm,
)
from snakesim.learning.models.lm_models import (
    PRESETS,
    lm_factory,
    load_lm_config,
    preset_config,
)
from snakesim.learning.models.stack import LayerStack, ModelFactory
from snakesim.learning.objective import CAUSAL_LM
from snakesim.learning.training import TrainConfig, train_slice

transformers = pytest.importorskip("transformers")

VOCAB = 300
SEQ = 12
EMBED_KEY = "groups.0.embed_tokens.weight"
HEAD_KEY = "groups.3.lm_head.weight"  # two blocks: embed, block0, block1, head


def _hf_config(name: str) -> Any:
    """A tiny config (hidden 32, 2 layers, vocabulary 300) of a family variant."""
    opt = {"hidden_size": 32, "num_hidden_layers": 2, "ffn_dim": 64, "num_attention_heads": 4,
           "vocab_size": VOCAB, "word_embed_proj_dim": 32, "max_position_embeddings": 64,
           "bos_token_id": None, "eos_token_id": None, "pad_token_id": None}
    configs: dict[str, tuple[str, dict[str, Any]]] = {
        "opt": ("opt", opt),
        "opt-project": ("opt", {**opt, "word_embed_proj_dim": 16}),
        "opt-post-norm": ("opt", {**opt, "do_layer_norm_before": False}),
        "llama": ("llama", {"hidden_size": 32, "num_hidden_layers": 2, "intermediate_size": 64,
                            "num_attention_heads": 4, "num_key_value_heads": 2,
                            "vocab_size": VOCAB, "max_position_embeddings": 64,
                            "bos_token_id": None, "eos_token_id": None}),
        "gpt2": ("gpt2", {"n_embd": 32, "n_layer": 2, "n_head": 4, "vocab_size": VOCAB,
                          "n_positions": 64, "bos_token_id": None, "eos_token_id": None}),
    }
    model_type, kwargs = configs[name]
    return transformers.AutoConfig.for_model(model_type, **kwargs)


def _tiny(family: str, seed: int = 0) -> ModelFactory:
    """The factory of a 2-block ``tiny-<family>`` preset."""
    key = "n_layer" if family == "gpt2" else "num_hidden_layers"
    return lm_factory(load_lm_config(preset=f"tiny-{family}", overrides={key: 2}), seed=seed)


def _tokens(batch: int = 2, length: int = SEQ, vocab: int = VOCAB, seed: int = 1) -> torch.Tensor:
    return torch.randint(0, vocab, (batch, length), generator=torch.Generator().manual_seed(seed))


def _unique_bytes(model: torch.nn.Module) -> int:
    """Bytes of the distinct storages of a model's parameters and buffers."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes()
                for t in (*model.parameters(), *model.buffers())}
    return sum(storages.values())


# ------------------------------------------------------------------ exact forward pass
@pytest.mark.parametrize("name", ["opt", "opt-project", "opt-post-norm", "llama", "gpt2"])
def test_stack_computes_the_hugging_face_logits(name: str) -> None:
    """The cut model's logits equal the Hugging Face model's on the same tokens."""
    torch.manual_seed(0)
    model = transformers.AutoModelForCausalLM.from_config(_hf_config(name),
                                                          attn_implementation="sdpa")
    model.eval()
    ids = _tokens()
    with torch.no_grad():
        expected = model(input_ids=ids).logits
    stack = stack_causal_lm(model)
    stack.eval()
    with torch.no_grad():
        logits = stack(ids)
        # Running the groups one range at a time is the same computation.
        h = stack.forward_range(ids, 0, 2)
        split = stack.forward_range(h, 2, len(stack))
    assert logits.shape == (2, SEQ, VOCAB)
    torch.testing.assert_close(logits, expected)
    torch.testing.assert_close(split, expected)
    assert stack.group_names == ["embed", "block0", "block1", "head"]
    assert stack.block_groups == (1, 2)
    assert all(isinstance(stack.groups[i], DecoderBlock) for i in stack.block_groups)


def test_opt_projections_and_post_norm_are_cut_into_the_right_groups() -> None:
    """project_in sits in the input group, project_out in the head; no final norm post-LN."""
    proj = stack_causal_lm(transformers.AutoModelForCausalLM.from_config(
        _hf_config("opt-project"), attn_implementation="sdpa"))
    assert proj.groups[0].project_in is not None
    assert proj.groups[-1].project_out is not None
    assert any(k.startswith("groups.0.project_in.") for k in proj.state_dict())
    post = stack_causal_lm(transformers.AutoModelForCausalLM.from_config(
        _hf_config("opt-post-norm"), attn_implementation="sdpa"))
    assert post.groups[-1].norm is None
    assert post.groups[0].project_in is None


def test_unknown_family_cannot_be_cut() -> None:
    """A model type outside the known families is a configuration error naming them."""
    fake = SimpleNamespace(config=SimpleNamespace(model_type="bert"))
    with pytest.raises(ConfigurationError, match=r"model\.lm") as err:
        stack_causal_lm(fake)
    assert "'bert'" in str(err.value) and "llama" in str(err.value)


# ------------------------------------------------------------------- tied embeddings
@pytest.mark.parametrize("family", ["opt", "gpt2"])
def test_tied_embeddings_stay_one_tensor(family: str) -> None:
    """The head's weight is the embedding tensor through state dicts, loading and copies."""
    stack = _tiny(family)()
    embed = stack.groups[0].embed_tokens.weight
    assert stack.groups[-1].lm_head.weight is embed
    assert stack.aliases == {HEAD_KEY: EMBED_KEY}
    state = stack.state_dict()
    assert HEAD_KEY not in state and EMBED_KEY in state
    assert HEAD_KEY not in stack.group_keys(3)

    changed = {k: v.clone() for k, v in state.items()}
    changed[EMBED_KEY] += 1.0
    stack.load_state_dict(changed)  # strict: the alias is restored from its owner
    assert stack.groups[-1].lm_head.weight is stack.groups[0].embed_tokens.weight
    torch.testing.assert_close(stack.groups[-1].lm_head.weight.detach(), changed[EMBED_KEY])

    clone = copy.deepcopy(stack)
    assert clone.groups[-1].lm_head.weight is clone.groups[0].embed_tokens.weight
    assert clone.groups[0].embed_tokens.weight is not embed
    assert clone.aliases == stack.aliases


@pytest.mark.parametrize("family", ["opt", "gpt2", "llama"])
def test_tied_tensor_is_counted_once(family: str) -> None:
    """Model bytes are the unique parameters and buffers; the head excludes a tied matrix."""
    factory = _tiny(family)
    costs = CostModel(factory, (16,), "adamw", 0.0, objective=CAUSAL_LM)
    model = factory()
    head = model.groups[-1]
    matrix = model.groups[0].embed_tokens.weight
    matrix_bytes = matrix.numel() * matrix.element_size()
    assert costs.model_bytes() == tensor_bytes(model.state_dict())
    if family == "llama":
        assert model.aliases == {}
        assert head.lm_head.weight is not matrix
        assert costs.group_bytes(3) == tensor_bytes(list(head.parameters()))
        # Llama's rotary frequencies are non-persistent buffers (see test_lm_memory).
        params = {p.data_ptr(): p.numel() * p.element_size() for p in model.parameters()}
        assert costs.model_bytes() == sum(params.values())
    else:
        assert costs.model_bytes() == _unique_bytes(model)
        own = [p for p in head.parameters() if p is not matrix]
        assert costs.group_bytes(3) == tensor_bytes(own) < matrix_bytes
        assert costs.group_bytes(0) >= matrix_bytes
        assert costs.model_bytes() == sum(costs.group_bytes(i) for i in range(costs.n_groups))


@pytest.mark.parametrize("family", ["opt", "gpt2"])
def test_tied_matrix_is_trained_with_its_owner_only(family: str) -> None:
    """Training the head leaves the tied matrix as it was; training the embeddings moves it."""
    model = _tiny(family)()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    x = _tokens(4, 16, 256)
    y = torch.zeros(4, dtype=torch.long)
    cfg = TrainConfig(optimizer="sgd", lr=0.5, momentum=0.0, batch_size=4,
                      objective=CAUSAL_LM)

    params = model.set_trainable([3])
    assert all(p is not model.groups[0].embed_tokens.weight for p in params)
    assert not model.groups[-1].lm_head.weight.requires_grad
    head = train_slice(model, state, [3], x, y, cfg, torch.Generator().manual_seed(0))
    assert EMBED_KEY not in head.state and HEAD_KEY not in head.state
    assert torch.equal(model.groups[0].embed_tokens.weight, state[EMBED_KEY])
    assert any(not torch.equal(v, state[k]) for k, v in head.state.items())

    params = model.set_trainable([0])
    assert any(p is model.groups[-1].lm_head.weight for p in params)
    embed = train_slice(model, state, [0], x, y, cfg, torch.Generator().manual_seed(0))
    assert not torch.equal(embed.state[EMBED_KEY], state[EMBED_KEY])
    assert torch.equal(model.groups[-1].lm_head.weight, embed.state[EMBED_KEY])
    assert HEAD_KEY not in embed.state


# ----------------------------------------------------------------------------- presets
PARAMETERS = {"opt-1.3b": 1_315_758_080, "llama-3-8b": 8_030_261_248, "gpt2": 124_439_808,
              "opt-125m": 125_239_296}


@pytest.mark.parametrize("name", PRESETS)
def test_every_preset_builds_on_the_meta_device(name: str) -> None:
    """Presets build shapes only (no memory); the published models have their sizes."""
    config = load_lm_config(preset=name)
    with torch.device("meta"):
        stack = lm_factory(config, seed=0)()
    assert all(p.is_meta for p in stack.parameters())
    layers = getattr(config, "num_hidden_layers", None) or config.n_layer
    assert len(stack) == layers + 2
    assert stack.group_names[0] == "embed" and stack.group_names[-1] == "head"
    if name in PARAMETERS:
        assert sum(p.numel() for p in stack.parameters()) == PARAMETERS[name]


def test_all_published_presets_are_shipped() -> None:
    """The four published architectures and the three tiny shapes are presets."""
    assert set(PARAMETERS) | {"tiny-opt", "tiny-llama", "tiny-gpt2"} == set(PRESETS)


def test_unknown_preset_names_the_known_ones() -> None:
    """An unknown preset is a configuration error under model.lm.preset listing them all."""
    with pytest.raises(ConfigurationError, match=r"model\.lm\.preset") as err:
        load_lm_config(preset="opt-175b")
    assert all(name in str(err.value) for name in PRESETS)


# ---------------------------------------------------------------------- config sources
def test_config_file_and_folder_with_overrides(tmp_path: Path) -> None:
    """A config.json, or its folder, is read; overrides replace its values."""
    (tmp_path / "config.json").write_text(json.dumps(preset_config("tiny-llama")))
    for source in (tmp_path / "config.json", tmp_path):
        cfg = load_lm_config(config=str(source))
        assert cfg.model_type == "llama"
        assert cfg.hidden_size == 64 and cfg.num_hidden_layers == 4
    cfg = load_lm_config(config=str(tmp_path), overrides={"num_hidden_layers": 2})
    assert cfg.num_hidden_layers == 2
    assert len(lm_factory(cfg, seed=0)()) == 4


def test_bad_config_files_are_configuration_errors(tmp_path: Path) -> None:
    """No model_type, no file, or not JSON: errors under model.lm.config."""
    data = preset_config("tiny-opt")
    del data["model_type"]
    (tmp_path / "config.json").write_text(json.dumps(data))
    with pytest.raises(ConfigurationError, match=r"model\.lm\.config.*model_type"):
        load_lm_config(config=str(tmp_path / "config.json"))
    with pytest.raises(ConfigurationError, match=r"model\.lm\.config"):
        load_lm_config(config=str(tmp_path / "missing.json"))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ConfigurationError, match=r"model\.lm\.config"):
        load_lm_config(config=str(tmp_path / "bad.json"))


def test_pretrained_weights_are_loaded(tmp_path: Path) -> None:
    """A saved model loads through its folder with exactly its weights (ties kept)."""
    torch.manual_seed(3)
    saved = transformers.AutoModelForCausalLM.from_config(_hf_config("opt"),
                                                          attn_implementation="sdpa")
    saved.save_pretrained(tmp_path)
    expected = stack_causal_lm(saved).state_dict()
    stack = lm_factory(load_lm_config(pretrained=str(tmp_path)), seed=0,
                       pretrained=str(tmp_path))()
    state = stack.state_dict()
    assert state.keys() == expected.keys()
    for key, value in expected.items():
        assert torch.equal(state[key], value), key
    assert stack.groups[-1].lm_head.weight is stack.groups[0].embed_tokens.weight
    # The seed does not matter for pretrained weights.
    other = lm_factory(load_lm_config(pretrained=str(tmp_path)), seed=9,
                       pretrained=str(tmp_path))()
    assert all(torch.equal(v, other.state_dict()[k]) for k, v in state.items())


def test_missing_pretrained_folder_is_a_configuration_error(tmp_path: Path) -> None:
    """A pretrained source that does not exist fails as configuration, config or weights."""
    missing = str(tmp_path / "no-model")
    with pytest.raises(ConfigurationError, match=r"model\.lm\.pretrained"):
        load_lm_config(pretrained=missing)
    factory = lm_factory(load_lm_config(preset="tiny-opt"), seed=0, pretrained=missing)
    with pytest.raises(ConfigurationError, match=r"model\.lm\.pretrained"):
        factory()


# -------------------------------------------------------------------------- determinism
def test_same_seed_same_model_and_global_rng_untouched() -> None:
    """Seeded builds are reproducible, differ across seeds and leave the global RNG alone."""
    cfg = load_lm_config(preset="tiny-llama", overrides={"num_hidden_layers": 2})
    before = torch.random.get_rng_state()
    a = lm_factory(cfg, seed=5)().state_dict()
    b = lm_factory(cfg, seed=5)().state_dict()
    c = lm_factory(cfg, seed=6)().state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    assert a.keys() == b.keys() == c.keys()
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


# ------------------------------------------------------------------ gradient checkpointing
def _step(stack: LayerStack, ids: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor],
                                                          int]:
    """Loss, gradients and bytes saved for backward (outside checkpoints) of a full step."""
    stack.train()
    stack.set_trainable(range(len(stack)))
    saved: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        saved[t.untyped_storage()._cdata] = t.untyped_storage().nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        loss = CAUSAL_LM.loss(stack(ids), ids, torch.zeros(len(ids), dtype=torch.long))
        loss.backward()  # type: ignore[no-untyped-call]
    grads = {k: p.grad.clone() for k, p in stack.named_parameters() if p.grad is not None}
    return loss.detach(), grads, sum(saved.values())


@pytest.mark.parametrize("family", ["opt", "llama", "gpt2"])
def test_checkpointing_gives_the_same_loss_and_gradients(family: str) -> None:
    """Recomputing the blocks in backward changes memory, not the numbers."""
    factory = _tiny(family)
    ids = _tokens(3, 16, 256)
    plain = factory()
    loss, grads, saved = _step(plain, ids)
    checked = factory()
    set_checkpointing(checked, True)
    assert all(checked.groups[i].checkpointing for i in checked.block_groups)
    loss_c, grads_c, saved_c = _step(checked, ids)
    torch.testing.assert_close(loss_c, loss)
    assert grads_c.keys() == grads.keys() and len(grads) == len(list(plain.parameters()))
    for key, grad in grads.items():
        torch.testing.assert_close(grads_c[key], grad, msg=key)
    assert saved_c < saved  # the blocks' activations were not kept
    set_checkpointing(checked, False)
    assert not any(checked.groups[i].checkpointing for i in checked.block_groups)


# --------------------------------------------------------------------------------- LoRA
def _lora(targets: list[str]) -> ModelFactory:
    pytest.importorskip("peft")
    from snakesim.experiments.build import with_lora

    return with_lora(_tiny("opt"), LoraSpec(rank=4, alpha=8, targets=targets), seed=0)


def test_lora_trains_and_returns_only_adapters() -> None:
    """With adapters only they are trainable, trained and returned; base weights stay."""
    model = _lora(["q_proj", "v_proj"])()
    assert model.adapter_only
    lora_keys = [k for k in model.state_dict() if "lora_" in k]
    assert lora_keys and all(".self_attn.q_proj.lora_" in k or ".self_attn.v_proj.lora_" in k
                             for k in lora_keys)
    for block in model.block_groups:
        keys = model.trained_keys(block)
        assert keys and all("lora_" in k for k in keys)
        assert len(keys) < len(model.group_keys(block))
    assert model.trained_keys(0) == [] and model.trained_keys(3) == []

    params = model.set_trainable(range(len(model)))
    adapters = {id(p) for k, p in model.named_parameters() if "lora_" in k}
    assert {id(p) for p in params} == adapters
    assert all(p.requires_grad == (id(p) in adapters) for p in model.parameters())

    state = {k: v.clone() for k, v in model.state_dict().items()}
    cfg = TrainConfig(optimizer="sgd", lr=0.5, momentum=0.0, batch_size=4, objective=CAUSAL_LM)
    x = _tokens(4, 16, 256)
    result = train_slice(model, state, range(len(model)), x, torch.zeros(4, dtype=torch.long),
                         cfg, torch.Generator().manual_seed(0))
    assert sorted(result.state) == sorted(lora_keys)
    after = model.state_dict()
    for key, value in state.items():
        if "lora_" not in key:
            assert torch.equal(after[key], value), key
    # LoRA's B starts at zero, so the first step moves B (A's gradient is still zero).
    assert any(not torch.equal(result.state[k], state[k]) for k in lora_keys if "lora_B" in k)


def test_lora_target_matching_nothing_is_a_configuration_error() -> None:
    """Targets that name no module fail under strategy.lora.targets."""
    factory = _lora(["no_such_proj"])
    with pytest.raises(ConfigurationError, match=r"strategy\.lora\.targets"):
        factory()


# ---------------------------------------------------------------------- missing extra
def test_missing_transformers_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without transformers the error says to install snakesim[llm] and why."""
    monkeypatch.setitem(sys.modules, "transformers", None)
    with pytest.raises(MissingDependencyError, match=r"snakesim\[llm\]") as err:
        require_transformers("x")
    assert "transformers" in str(err.value) and str(err.value).startswith("x ")
