"""Evaluation of a model on a held-out set (an observer: it costs no simulated time)."""

from __future__ import annotations

import torch
from torch import nn

from snakesim.learning.objective import CLASSIFICATION, Objective


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor,
             batch_size: int = 1024, objective: Objective = CLASSIFICATION,
             ) -> tuple[float, float]:
    """Return (accuracy, mean loss) of ``model`` on ``(x, y)``.

    For a causal LM (`snakesim.learning.objective.CausalLM`) both are per predicted
    token: next-token top-1 accuracy and mean cross-entropy (perplexity is its ``exp``).
    """
    was_training = model.training
    model.eval()
    correct = 0
    loss = 0.0
    count = 0
    for start in range(0, len(x), batch_size):
        xb, yb = x[start:start + batch_size], y[start:start + batch_size]
        total, right, n = objective.loss_sum(model(xb), xb, yb)
        loss += total
        correct += right
        count += n
    model.train(was_training)
    return correct / max(count, 1), loss / max(count, 1)
