"""Wall time of the quickstart FedAvg simulation against a bare PyTorch loop.

The bare loop does the same training in one process with no simulator: the same model,
data split and partition, the same clients, local epochs, batch size and optimizer,
the same FedAvg averaging and the same per-round evaluation. The ratio
(simulation / bare loop) is the simulator's overhead; both run in this process on one
thread, alternating, and the best of ``--repeats`` is kept for each.

    python benchmarks/quickstart_vs_loop.py [--repeats 3] [--scenario FILE]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from snakesim.config import Scenario, load_scenario
from snakesim.experiments import run_scenario
from snakesim.learning.data.datasets import load_dataset
from snakesim.learning.data.partition import dirichlet
from snakesim.learning.models.stack import init_parameters, model_factory

ROOT = Path(__file__).resolve().parent.parent


def bare_loop(scenario: Scenario) -> float:
    """Plain FedAvg in PyTorch with the scenario's settings; returns final accuracy."""
    t = scenario.training
    data = load_dataset(scenario.data.dataset, test_fraction=scenario.data.test_fraction,
                        split_seed=scenario.data.split_seed)
    alpha = getattr(scenario.data.partition, "alpha", 1.0)
    n_clients = 6
    parts = dirichlet(data.y_train.numpy(), n_clients, alpha, np.random.default_rng(0))
    model = model_factory(scenario.model.name, num_classes=10, width=scenario.model.width)()
    generator = torch.Generator().manual_seed(0)
    init_parameters(model, generator)
    global_state = {k: v.clone() for k, v in model.state_dict().items()}
    for _ in range(t.rounds):
        total = {k: torch.zeros_like(v, dtype=torch.float64) for k, v in global_state.items()}
        weight = 0
        for part in parts:
            x, y = data.x_train[part], data.y_train[part]
            model.load_state_dict(global_state)
            opt = torch.optim.Adam(model.parameters(), lr=t.lr)
            for _ in range(t.local_epochs):
                order = torch.randperm(len(x), generator=generator)
                for start in range(0, len(x), t.batch_size):
                    batch = order[start:start + t.batch_size]
                    loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
            for k, v in model.state_dict().items():
                total[k] += v * len(part)
            weight += len(part)
        global_state = {k: (v / weight).float() for k, v in total.items()}
        model.load_state_dict(global_state)
        with torch.no_grad():
            accuracy = float((model(data.x_test).argmax(1) == data.y_test).float().mean())
    return accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--scenario", type=Path,
                        default=ROOT / "scenarios" / "quickstart-fedavg.yaml")
    args = parser.parse_args()
    torch.set_num_threads(1)
    scenario = load_scenario(args.scenario)
    sim_times, loop_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result = run_scenario(scenario)
        sim_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        accuracy = bare_loop(scenario)
        loop_times.append(time.perf_counter() - start)
    sim, loop = min(sim_times), min(loop_times)
    print(f"scenario        {args.scenario.name} ({scenario.training.rounds} rounds)")
    print(f"simulation      {sim:6.2f} s  (final accuracy {result.summary['final_accuracy']:.3f})")
    print(f"bare loop       {loop:6.2f} s  (final accuracy {accuracy:.3f})")
    print(f"ratio sim/loop  {sim / loop:6.3f}")


if __name__ == "__main__":
    main()
