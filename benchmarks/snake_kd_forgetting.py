"""Does knowledge distillation make Snake Learning forget less on strongly non-IID data?

Runs scenarios/schemes/snake-p2p.yaml with Dirichlet(alpha = 0.1) data over several
seeds, with KD off and on, and prints per seed and on average:

- final and best global test accuracy;
- drop: the mean fall in overall accuracy from one hop to the next (a hop that improves
  counts as 0); rel drop: the same as a fraction of the accuracy before the hop;
- forgetting: the same per class, averaged over the 10 classes, i.e. how much of what
  earlier nodes taught is erased when one node trains on its own (skewed) labels. A
  model stuck near chance has little overall accuracy to lose, so "drop" alone can make
  the model that learns nothing look stable; per-class forgetting shows the swings.

Usage: ``python benchmarks/snake_kd_forgetting.py [--seeds 1 2 3] [--alpha 0.1]``
"""

from __future__ import annotations

import argparse
from itertools import pairwise
from pathlib import Path
from statistics import mean

import torch

from snakesim.config import validate_scenario
from snakesim.config.loading import read_yaml
from snakesim.experiments import run_scenario
from snakesim.learning.training import State
from snakesim.strategies.base import Context

SCENARIO = Path(__file__).resolve().parent.parent / "scenarios" / "schemes" / "snake-p2p.yaml"


def per_class_accuracy(ctx: Context, state: State) -> torch.Tensor:
    """Test accuracy of ``state`` per class (an observer, like `Context.evaluate`)."""
    x, y = ctx.test
    ctx.model.load_state_dict(state)
    ctx.model.eval()
    with torch.no_grad():
        hit = (ctx.model(x).argmax(1) == y).float()
    return torch.stack([hit[y == c].mean() for c in range(int(y.max()) + 1)])


def run(seed: int, alpha: float, distill: str) -> dict[str, float]:
    """One run's final/best accuracy, hop-to-hop drop and per-class forgetting."""
    data = read_yaml(SCENARIO)
    data["seed"] = seed
    data["data"] = {**data["data"], "partition": {"kind": "dirichlet", "alpha": alpha}}
    data["strategy"] = {**data["strategy"], "distill": distill}
    classes: list[torch.Tensor] = []
    evaluate = Context.evaluate

    def observe(ctx: Context, state: State, round: int, step: int, node: str) -> float:
        classes.append(per_class_accuracy(ctx, state))
        return evaluate(ctx, state, round, step, node)

    Context.evaluate = observe  # type: ignore[method-assign,assignment]
    try:
        result = run_scenario(validate_scenario(data, str(SCENARIO)))
    finally:
        Context.evaluate = evaluate  # type: ignore[method-assign]
    acc = result.frames["rounds"]["accuracy"].tolist()
    drops = [max(0.0, a - b) for a, b in pairwise(acc)]
    relative = [max(0.0, a - b) / a for a, b in pairwise(acc) if a > 0]
    forgets = [float((a - b).clamp(min=0).mean()) for a, b in pairwise(classes)]
    return {"final": acc[-1], "best": max(acc), "drop": mean(drops),
            "rel_drop": mean(relative), "forgetting": mean(forgets)}


def main() -> None:
    """Run KD off and on over the seeds and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--alpha", type=float, default=0.1)
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    print(f"Snake P2P, {SCENARIO.name}, Dirichlet({args.alpha}), 10 passes x 6 hops")
    print(f"{'seed':>6} {'KD':>4} {'final':>7} {'best':>7} {'drop':>7} {'rel drop':>9} "
          f"{'forgetting':>11}")
    for seed in args.seeds:
        for distill in ("off", "on"):
            r = run(seed, args.alpha, distill)
            rows[distill].append(r)
            print(f"{seed:>6} {distill:>4} {r['final']:>7.3f} {r['best']:>7.3f} "
                  f"{r['drop']:>7.4f} {r['rel_drop']:>9.4f} {r['forgetting']:>11.4f}",
                  flush=True)
    for distill, runs in rows.items():
        print(f"{'mean':>6} {distill:>4} " + " ".join(
            f"{mean(r[k] for r in runs):>{w}.{d}f}"
            for k, w, d in (("final", 7, 3), ("best", 7, 3), ("drop", 7, 4),
                            ("rel_drop", 9, 4), ("forgetting", 11, 4))))


if __name__ == "__main__":
    main()
