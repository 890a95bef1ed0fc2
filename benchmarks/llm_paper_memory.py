"""Per-node memory of full fine-tuning vs Snake Learning on LLMs, against the paper.

The Snake Learning paper reports, for LLM fine-tuning, per-node memory falling from
about 19.37 GB (full fine-tuning) to about 3.13 GB (Snake Learning). This script costs
both from the shipped configs with snakesim's own cost model (meta device, no weights)
and prints, per model:

- the model state (weights + gradients + optimizer state), the part that does not
  depend on batch or sequence length: the configuration that matches the paper's
  figures is fp32 AdamW with the frozen blocks held in fp16 and one decoder block
  trained per node;
- the whole predicted peak of one job (state + activations + output gradient or
  optimizer-step scratch) for a few batch x sequence shapes, with and without gradient
  checkpointing.

    python benchmarks/llm_paper_memory.py [--models opt-1.3b llama-3-8b]
"""

from __future__ import annotations

import argparse

from snakesim.learning.costs.breakdown import MemoryBreakdown
from snakesim.learning.costs.model import CostModel
from snakesim.learning.models.lm_models import lm_factory, load_lm_config
from snakesim.learning.objective import CAUSAL_LM

GIB = 2**30
PAPER = {"full": 19.37, "snake": 3.13}


def state(m: MemoryBreakdown) -> float:
    """Weights, gradients and optimizer state in GiB."""
    return (m.weights + m.gradients + m.optimizer) / GIB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["opt-1.3b", "llama-3-8b"])
    args = parser.parse_args()
    for name in args.models:
        factory = lm_factory(load_lm_config(preset=name), seed=0)
        print(f"\n{name}")
        for seq, batch in ((128, 1), (512, 1), (512, 4)):
            for ckpt in (False, True):
                costs = CostModel(factory, (seq,), "adamw", 0.0, objective=CAUSAL_LM,
                                  checkpointing=ckpt)
                n = costs.n_groups
                full = costs.memory(range(n), batch)
                block = n // 2  # a middle block: backprop runs through the half above it
                snake = costs.memory([block], batch, frozen_dtype="fp16")
                if seq == 128 and not ckpt:
                    f, s = state(full), state(snake)
                    # The paper's figures fit a 1.3 B model; compare only that size.
                    paper = (f" (paper {PAPER['full']}, ratio {f / PAPER['full']:.3f})",
                             f" (paper {PAPER['snake']}, ratio {s / PAPER['snake']:.3f})"
                             ) if name == "opt-1.3b" else ("", "")
                    print(f"  model state (weights+grads+AdamW), GiB: full {f:.2f}{paper[0]}"
                          f"; Snake, 1 block, frozen fp16 {s:.2f}{paper[1]}; "
                          f"reduction {f / s:.2f}x")
                print(f"  peak with batch {batch} x {seq} tokens"
                      f"{', checkpointing' if ckpt else ''}: full {full.total / GIB:.2f} GiB,"
                      f" Snake {snake.total / GIB:.2f} GiB")


if __name__ == "__main__":
    main()
