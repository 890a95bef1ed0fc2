"""Models as ordered stacks of layer groups, the unit of slicing in every scheme.

A `LayerStack` runs its groups in order; a strategy trains a subset of groups (a
"slice") and freezes the rest. A transformer fits the same shape: embeddings as the
input group, each decoder block a group, final norm + LM head as the output group.

Parameters are initialised from an explicit `torch.Generator`, never the global RNG,
so the same seed gives the same initial model on any host.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, get_args

import torch
from torch import nn

from snakesim.errors import ConfigurationError


class LayerStack(nn.Module):
    """An ordered stack of layer groups; the output of group i feeds group i + 1.

    A parameter shared by two groups (tied input and output embeddings of a language
    model) belongs to the first group that holds it: it is one tensor, listed once in
    the state dict (under its owner's key; the alias is restored on loading), counted
    once in every size, sent with its owner, and trained when its owner is trained.

    Parameters
    ----------
    groups
        The groups, input first; the last group is the output head.
    names
        One short name per group (used in result tables).
    """

    def __init__(self, groups: Sequence[nn.Module], names: Sequence[str]) -> None:
        super().__init__()
        if len(groups) != len(names):
            raise ValueError("one name per group is required")
        self.groups = nn.ModuleList(groups)
        self.group_names = list(names)
        self.adapter_only = False
        """When true (LoRA), training changes only adapter parameters (names with
        ``lora_``); the base weights stay as loaded and are never exchanged."""
        self.block_groups: tuple[int, ...] = ()
        """Groups that gradient checkpointing may recompute (a transformer's blocks)."""
        self.refresh_aliases()
        self.register_state_dict_post_hook(_drop_aliases)  # type: ignore[no-untyped-call]
        self.register_load_state_dict_pre_hook(_restore_aliases)  # type: ignore[no-untyped-call]

    def refresh_aliases(self) -> None:
        """Find tied parameters and each group's keys again (after adding adapters).

        The keys are looked up on every training job, so they are listed once here
        rather than by walking the state dict each time.
        """
        owner: dict[int, str] = {}
        self._aliases: dict[str, str] = {}
        for name, param in self.named_parameters(remove_duplicate=False):
            if id(param) in owner:
                self._aliases[name] = owner[id(param)]
            else:
                owner[id(param)] = name
        keys = [k for k in nn.Module.state_dict(self, keep_vars=True) if k not in self._aliases]
        self._group_keys = [[k for k in keys if self.group_of(k) == i]
                            for i in range(len(self.groups))]
        self._owned = [[k for k in owner.values() if self.group_of(k) == i]
                       for i in range(len(self.groups))]

    def meta_copy(self) -> LayerStack:
        """A copy on the ``meta`` device (shapes only), with tied parameters still tied.

        Moving a module across devices makes a new parameter per module that holds it,
        which would untie a shared weight: the copy re-ties it.
        """
        copy_ = copy.deepcopy(self).to("meta")
        for alias, owner in self._aliases.items():
            module, _, name = alias.rpartition(".")
            setattr(copy_.get_submodule(module), name, copy_.get_parameter(owner))
        copy_.refresh_aliases()
        return copy_

    @property
    def aliases(self) -> dict[str, str]:
        """Tied parameters: alias key -> the owner's key."""
        return dict(self._aliases)

    def __len__(self) -> int:
        return len(self.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run every group in order."""
        return self.forward_range(x, 0, len(self.groups))

    def forward_range(self, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Run groups ``start .. stop - 1`` on ``x`` (the output of group ``start - 1``).

        Floating inputs of the first group are cast to the parameters' dtype: a model
        held in a half format (pure half-precision training, the half-precision cost
        probe) takes the fp32 batches every node holds. Under fp32 parameters (also
        with autocast) this is a no-op.
        """
        if start == 0 and x.is_floating_point():
            dtype = next((p.dtype for p in self.parameters() if p.is_floating_point()),
                         x.dtype)
            x = x.to(dtype)
        for group in self.groups[start:stop]:
            x = group(x)
        return x

    def group_keys(self, index: int) -> list[str]:
        """State-dict keys (parameters and buffers) that belong to group ``index``."""
        return list(self._group_keys[index])

    def trained_keys(self, index: int) -> list[str]:
        """The keys of group ``index`` that training changes (and schemes exchange).

        All its keys (BatchNorm statistics too), or only its adapters when
        `adapter_only` is set.
        """
        keys = self.group_keys(index)
        return [k for k in keys if "lora_" in k] if self.adapter_only else keys

    def group_of(self, key: str) -> int:
        """The group index of a state-dict key."""
        return int(key.split(".", 2)[1])

    def owned_parameters(self, index: int) -> list[nn.Parameter]:
        """Parameters that belong to group ``index`` (tied ones only in their owner)."""
        # By name: moving the model to another device replaces the parameter objects.
        return [self.get_parameter(k) for k in self._owned[index]
                if not self.adapter_only or "lora_" in k]

    def set_trainable(self, groups: Sequence[int]) -> list[nn.Parameter]:
        """Make exactly the parameters of ``groups`` trainable; return them in order."""
        self.requires_grad_(False)
        params = [p for i in sorted(set(groups)) for p in self.owned_parameters(i)]
        for p in params:
            p.requires_grad_(True)
        return params


def _drop_aliases(module: nn.Module, state: dict[str, Any], prefix: str,
                  metadata: Any) -> None:
    for alias in getattr(module, "_aliases", {}):
        state.pop(prefix + alias, None)


def _restore_aliases(module: nn.Module, state: dict[str, Any], prefix: str, metadata: Any,
                     strict: bool, missing: list[str], unexpected: list[str],
                     errors: list[str]) -> None:
    # The alias is the same tensor as its owner: loading the owner's value under both
    # keys keeps them one.
    for alias, owner in getattr(module, "_aliases", {}).items():
        if prefix + owner in state:
            state[prefix + alias] = state[prefix + owner]


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """He-initialise conv and linear layers from ``generator`` (biases zero).

    BatchNorm layers start as the identity (weight 1, bias 0, running mean 0 and
    variance 1); their running statistics are buffers, part of the state that is sent
    and averaged like the weights.

    He (Kaiming-normal, fan-in, ReLU gain) initialisation keeps activations at a useful
    scale through the stack. That matters for slice training: a node that trains one
    group behind frozen random groups needs features that carry signal from the start
    (PyTorch's default uniform initialisation leaves them too small, and layer-wise
    training on non-IID data then stalls at chance). Drawing from ``generator`` instead
    of the global RNG makes the initial model depend only on the run seed.
    """
    for layer in module.modules():
        if isinstance(layer, (nn.Conv2d, nn.Linear)):
            with torch.no_grad():
                nn.init.kaiming_normal_(layer.weight, nonlinearity="relu", generator=generator)
                if layer.bias is not None:
                    layer.bias.zero_()
        elif isinstance(layer, nn.modules.batchnorm._BatchNorm):
            # Scale 1, shift 0 and fresh running statistics: the identity at the start.
            with torch.no_grad():
                if layer.affine:
                    layer.weight.fill_(1.0)
                    layer.bias.zero_()
            layer.reset_running_stats()


def digits_cnn(num_classes: int = 10, width: int = 16, in_channels: int = 1,
               image_size: Sequence[int] = (8, 8)) -> LayerStack:
    """A small CNN, made for 1 x 8 x 8 digit images, as 5 layer groups.

    Groups: ``conv1`` (8x8), ``conv2`` (+pool, 4x4), ``conv3`` (+pool, 2x2, flatten),
    ``fc`` (hidden layer) and ``head`` (class logits). Other input sizes work too (the
    feature map is then ``image_size / 4``, e.g. 7 x 7 for 28 x 28 MNIST).
    """
    w = width
    flat = 4 * w * (int(image_size[0]) // 4) * (int(image_size[1]) // 4)
    groups: list[nn.Module] = [
        nn.Sequential(nn.Conv2d(in_channels, w, 3, padding=1), nn.ReLU()),
        nn.Sequential(nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten()),
        nn.Sequential(nn.Linear(flat, 4 * w), nn.ReLU()),
        nn.Linear(4 * w, num_classes),
    ]
    return LayerStack(groups, ["conv1", "conv2", "conv3", "fc", "head"])


ModelFactory = Callable[[], LayerStack]


ClassifierName = Literal["digits_cnn", "vgg11", "mlp"]
"""The classifiers by name: the one list (the schema's ``model.name`` reads it; a causal
LM is ``causal_lm`` with an ``lm`` section)."""

MODELS: tuple[str, ...] = get_args(ClassifierName)
"""Names `model_factory` builds."""


@dataclass(frozen=True)
class Classifier:
    """What the schema and the checks know of a classifier before it is built.

    Attributes
    ----------
    option
        The ``model`` key that only this classifier reads.
    groups
        Its layer groups; None: one per hidden layer plus the head (the MLP).
    """

    option: str
    groups: int | None


CLASSIFIERS: dict[str, Classifier] = {
    "digits_cnn": Classifier("width", 5),  # 3 convolutions, a dense layer, the head
    "vgg11": Classifier("width_mult", 9),  # 8 convolutions, the head
    "mlp": Classifier("hidden", None),
}
"""Each classifier's description, keyed by `ClassifierName` (a test holds them equal)."""


def model_factory(name: str, *, num_classes: int, width: int = 16,
                  input_shape: Sequence[int] = (1, 8, 8), width_mult: float = 1.0,
                  hidden: Sequence[int] = (256, 128)) -> ModelFactory:
    """Return a zero-argument constructor of the named model (parameters uninitialised).

    Parameters
    ----------
    name
        One of `MODELS`.
    num_classes, input_shape
        From the data set (``input_shape`` is channels x height x width).
    width
        Base channel count of ``digits_cnn``.
    width_mult
        Channel multiplier of ``vgg11``.
    hidden
        Hidden layer sizes of ``mlp``.

    Raises
    ------
    ConfigurationError
        If the model name is unknown or the input is not an image where one is needed.
    """
    from snakesim.learning.models.vgg import mlp, vgg11

    shape = tuple(int(d) for d in input_shape)
    if name == "mlp":
        sizes = tuple(hidden)
        return lambda: mlp(num_classes=num_classes, input_shape=shape, hidden=sizes)
    if name not in MODELS:
        raise ConfigurationError(
            f"model.name: unknown model '{name}' (known: {', '.join(MODELS)})")
    if len(shape) != 3:
        raise ConfigurationError(
            f"model.name: {name} needs channels x height x width images (got input shape "
            f"{list(shape)})")
    channels, size = shape[0], shape[1:]
    if name == "vgg11":
        return lambda: vgg11(num_classes=num_classes, in_channels=channels, image_size=size,
                             width_mult=width_mult)
    return lambda: digits_cnn(num_classes=num_classes, width=width, in_channels=channels,
                              image_size=size)
