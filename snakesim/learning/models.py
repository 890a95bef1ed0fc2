"""Models as ordered stacks of layer groups, the unit of slicing in every scheme.

A `LayerStack` runs its groups in order; a strategy trains a subset of groups (a
"slice") and freezes the rest. A transformer fits the same shape: embeddings as the
input group, each decoder block a group, final norm + LM head as the output group.

Parameters are initialised from an explicit `torch.Generator`, never the global RNG,
so the same seed gives the same initial model on any host.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from snakesim.errors import ConfigurationError


class LayerStack(nn.Module):
    """An ordered stack of layer groups; the output of group i feeds group i + 1.

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

    def __len__(self) -> int:
        return len(self.groups)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run every group in order."""
        return self.forward_range(x, 0, len(self.groups))

    def forward_range(self, x: torch.Tensor, start: int, stop: int) -> torch.Tensor:
        """Run groups ``start .. stop - 1`` on ``x`` (the output of group ``start - 1``)."""
        for group in self.groups[start:stop]:
            x = group(x)
        return x

    def group_keys(self, index: int) -> list[str]:
        """State-dict keys (parameters and buffers) that belong to group ``index``."""
        prefix = f"groups.{index}."
        return [k for k in self.state_dict() if k.startswith(prefix)]

    def group_of(self, key: str) -> int:
        """The group index of a state-dict key."""
        return int(key.split(".", 2)[1])


def init_parameters(module: nn.Module, generator: torch.Generator) -> None:
    """He-initialise conv and linear layers from ``generator`` (biases zero).

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


def digits_cnn(num_classes: int = 10, width: int = 16) -> LayerStack:
    """A small CNN for 1 x 8 x 8 digit images, as 5 layer groups.

    Groups: ``conv1`` (8x8), ``conv2`` (+pool, 4x4), ``conv3`` (+pool, 2x2, flatten),
    ``fc`` (hidden layer) and ``head`` (class logits).
    """
    w = width
    groups: list[nn.Module] = [
        nn.Sequential(nn.Conv2d(1, w, 3, padding=1), nn.ReLU()),
        nn.Sequential(nn.Conv2d(w, 2 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2)),
        nn.Sequential(nn.Conv2d(2 * w, 4 * w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                      nn.Flatten()),
        nn.Sequential(nn.Linear(16 * w, 4 * w), nn.ReLU()),
        nn.Linear(4 * w, num_classes),
    ]
    return LayerStack(groups, ["conv1", "conv2", "conv3", "fc", "head"])


ModelFactory = Callable[[], LayerStack]


def model_factory(name: str, *, num_classes: int, width: int) -> ModelFactory:
    """Return a zero-argument constructor of the named model (parameters uninitialised).

    Raises
    ------
    ConfigurationError
        If the model name is unknown.
    """
    if name == "digits_cnn":
        return lambda: digits_cnn(num_classes=num_classes, width=width)
    raise ConfigurationError(f"model.name: unknown model '{name}' (known: digits_cnn)")
