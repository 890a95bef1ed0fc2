"""Evaluation of a model on a held-out set (an observer: it costs no simulated time)."""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             batch_size: int = 1024) -> tuple[float, float]:
    """Return (accuracy, mean cross-entropy loss) of ``model`` on ``(x, y)``."""
    was_training = model.training
    model.eval()
    correct = 0
    loss = 0.0
    for start in range(0, len(x), batch_size):
        logits = model(x[start:start + batch_size])
        target = y[start:start + batch_size]
        loss += float(nn.functional.cross_entropy(logits, target, reduction="sum"))
        correct += int((logits.argmax(dim=1) == target).sum())
    model.train(was_training)
    return correct / len(x), loss / len(x)
