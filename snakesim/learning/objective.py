"""What a model is trained to do: its loss, its quality metric and its inputs.

Two objectives share every scheme, cost probe and training loop:

- `Classification`: ``x`` are float inputs, ``y`` class labels; cross-entropy loss;
  quality = accuracy.
- `CausalLM`: ``x`` are int64 token sequences (batch x length); the target of position
  ``t`` is the token at ``t + 1`` (so a sequence of L tokens gives L - 1 predictions);
  ``y`` is the sequence's source and takes no part in the loss (partitioners split by
  it). Quality = perplexity, ``exp`` of the mean next-token cross-entropy;
  next-token top-1 accuracy is reported beside it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn


class Objective:
    """The task-specific parts of training and evaluation (see the module docstring)."""

    kind = "classification"
    metric = "accuracy"
    """The name of the headline quality metric."""

    def loss(self, logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean loss of a batch."""
        return nn.functional.cross_entropy(logits, y)

    def sample_losses(self, logits: torch.Tensor, x: torch.Tensor,
                      y: torch.Tensor) -> torch.Tensor:
        """Each sample's loss; their mean is `loss`."""
        return nn.functional.cross_entropy(logits, y, reduction="none")

    def loss_sum(self, logits: torch.Tensor, x: torch.Tensor,
                 y: torch.Tensor) -> tuple[float, int, int]:
        """Summed loss, number of correct predictions and number of predictions."""
        total = float(nn.functional.cross_entropy(logits.float(), y, reduction="sum"))
        return total, int((logits.argmax(dim=-1) == y).sum()), len(y)

    def example(self, batch_size: int, input_shape: Sequence[int],
                device: str | torch.device = "meta") -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of the right shapes and dtypes (zeros), for cost probing."""
        x = torch.zeros((batch_size, *input_shape), device=device)
        return x, torch.zeros(batch_size, dtype=torch.long, device=device)

    def sample_bytes(self, input_shape: Sequence[int]) -> int:
        """Bytes of one training sample as the node holds it (input and label)."""
        return int(torch.Size(tuple(input_shape)).numel()) * 4 + 8

    def quality(self, mean_loss: float) -> float:
        """The perplexity of a mean loss (NaN for classifiers, where it means nothing)."""
        return math.nan


class CausalLM(Objective):
    """Next-token prediction on packed token sequences (see the module docstring)."""

    kind = "causal_lm"
    metric = "perplexity"

    def loss(self, logits: torch.Tensor, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Mean next-token cross-entropy over every position but the last."""
        vocab = logits.shape[-1]
        return nn.functional.cross_entropy(logits[:, :-1].reshape(-1, vocab),
                                           x[:, 1:].reshape(-1))

    def sample_losses(self, logits: torch.Tensor, x: torch.Tensor,
                      y: torch.Tensor) -> torch.Tensor:
        """Each sequence's mean next-token loss (all have the same length, so their mean
        is `loss`)."""
        vocab = logits.shape[-1]
        tokens = nn.functional.cross_entropy(logits[:, :-1].reshape(-1, vocab),
                                             x[:, 1:].reshape(-1), reduction="none")
        return tokens.view(x.shape[0], -1).mean(dim=1)

    def loss_sum(self, logits: torch.Tensor, x: torch.Tensor,
                 y: torch.Tensor) -> tuple[float, int, int]:
        """Summed next-token loss, correct top-1 predictions and predictions."""
        vocab = logits.shape[-1]
        pred = logits[:, :-1].reshape(-1, vocab).float()
        target = x[:, 1:].reshape(-1)
        total = float(nn.functional.cross_entropy(pred, target, reduction="sum"))
        return total, int((pred.argmax(dim=-1) == target).sum()), len(target)

    def example(self, batch_size: int, input_shape: Sequence[int],
                device: str | torch.device = "meta") -> tuple[torch.Tensor, torch.Tensor]:
        """A batch of token ids (zeros) and source ids."""
        x = torch.zeros((batch_size, *input_shape), dtype=torch.long, device=device)
        return x, torch.zeros(batch_size, dtype=torch.long, device=device)

    def sample_bytes(self, input_shape: Sequence[int]) -> int:
        """int64 tokens and the int64 source id."""
        return int(torch.Size(tuple(input_shape)).numel()) * 8 + 8

    def quality(self, mean_loss: float) -> float:
        """Perplexity: ``exp(mean_loss)``."""
        return math.exp(mean_loss) if mean_loss < 700 else math.inf


CLASSIFICATION = Objective()
CAUSAL_LM = CausalLM()
OBJECTIVES: dict[str, Objective] = {"classification": CLASSIFICATION, "causal_lm": CAUSAL_LM}


def objective_for(kind: str) -> Objective:
    """The objective of a data set kind (``Dataset.kind``)."""
    try:
        return OBJECTIVES[kind]
    except KeyError:
        raise ValueError(f"unknown objective {kind!r} (known: {', '.join(OBJECTIVES)})") \
            from None
