"""VGG-11 (CIFAR variant, with BatchNorm) and a multilayer perceptron, as layer stacks.

VGG-11: Simonyan and Zisserman, ICLR 2015, configuration A, with BatchNorm after each
convolution (Ioffe and Szegedy 2015) and the single linear classifier used for CIFAR-10
(512 features after five 2 x 2 max-pools of a 32 x 32 image). Each of the 8 conv blocks
(conv 3 x 3, BatchNorm, ReLU, then the stage's max-pool after the stage's last conv) is
one layer group; the classifier is the last. For smaller inputs a pool is left out when
it would shrink the feature map below 2 x 2 before the last stage, so BatchNorm always
normalises over more than one value per channel and any image of 4 x 4 or larger works.
"""

from __future__ import annotations

from collections.abc import Sequence

from torch import nn

from snakesim.learning.models.stack import LayerStack

VGG11 = ((64,), (128,), (256, 256), (512, 512), (512, 512))
"""Output channels of VGG-11's conv layers, by stage (a max-pool ends each stage)."""


def vgg11(num_classes: int = 10, in_channels: int = 3, image_size: Sequence[int] = (32, 32),
          width_mult: float = 1.0) -> LayerStack:
    """VGG-11 with BatchNorm as 9 layer groups: ``conv1`` .. ``conv8`` and ``head``.

    Parameters
    ----------
    num_classes, in_channels, image_size
        From the data set.
    width_mult
        Multiplies every channel count (at least 1 channel): 1.0 is the standard model,
        0.125 a tiny one for tests.
    """
    size = min(image_size)
    channels = in_channels
    groups: list[nn.Module] = []
    for stage, widths in enumerate(VGG11):
        last_stage = stage == len(VGG11) - 1
        for j, width in enumerate(widths):
            out = max(1, round(width * width_mult))
            layers: list[nn.Module] = [nn.Conv2d(channels, out, 3, padding=1),
                                       nn.BatchNorm2d(out), nn.ReLU()]
            if j == len(widths) - 1 and size >= 2 and (last_stage or size // 2 >= 2):
                layers.append(nn.MaxPool2d(2))
                size //= 2
            groups.append(nn.Sequential(*layers))
            channels = out
    groups.append(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                nn.Linear(channels, num_classes)))
    names = [f"conv{i + 1}" for i in range(len(groups) - 1)] + ["head"]
    return LayerStack(groups, names)


def mlp(num_classes: int = 10, input_shape: Sequence[int] = (1, 8, 8),
        hidden: Sequence[int] = (256, 128)) -> LayerStack:
    """A multilayer perceptron with one layer group per linear layer.

    Groups: ``fc1`` (flattens its input) .. ``fcK`` with ReLU, then ``head``.
    """
    features = 1
    for dim in input_shape:
        features *= int(dim)
    groups: list[nn.Module] = []
    for i, width in enumerate(hidden):
        layers: list[nn.Module] = [nn.Flatten()] if i == 0 else []
        groups.append(nn.Sequential(*layers, nn.Linear(features, width), nn.ReLU()))
        features = width
    head: nn.Module = nn.Linear(features, num_classes)
    if not hidden:
        head = nn.Sequential(nn.Flatten(), head)
    return LayerStack([*groups, head], [f"fc{i + 1}" for i in range(len(hidden))] + ["head"])
