"""The hand-written FedAvg workload that `fedavg_vs_loop.py` and `fedavg_vs_flower.py`
compare snakesim with: built from the same scenario, with snakesim's data set, IID split,
model, initial weights and per-client data-order streams, and trained by a plain
PyTorch loop (so both benchmarks train exactly what snakesim trains)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from snakesim.config import validate_scenario
from snakesim.config.schema import Scenario
from snakesim.experiments.build import load_data
from snakesim.experiments.run import learners
from snakesim.learning.data.datasets import Dataset
from snakesim.learning.data.partition import iid
from snakesim.learning.models.stack import LayerStack, init_parameters, model_factory
from snakesim.sim.world import World


@dataclass
class Workload:
    """A scenario's data, clients' shares and data orders, and its initial model."""

    spec: Scenario
    data: Dataset
    local: list[tuple[torch.Tensor, torch.Tensor]]
    orders: list[torch.Generator]
    model: LayerStack


def workload(scenario: dict[str, Any], device: torch.device | None = None) -> Workload:
    """Build the benchmark's workload from a scenario given as plain data."""
    spec = validate_scenario(scenario)
    world, data = World(spec.seed), load_data(spec)
    names = learners(spec)
    parts = iid(data.y_train.numpy(), len(names), world.rng("partition"))
    device = device or torch.device("cpu")
    x_all, y_all = data.x_train.to(device), data.y_train.to(device)
    model = model_factory("digits_cnn", num_classes=10, width=spec.model.width)()
    init_parameters(model, world.torch_generator("model-init"))
    return Workload(spec, data, [(x_all[p], y_all[p]) for p in parts],
                    [world.torch_generator(f"data-order/{n}") for n in names],
                    model.to(device))


def train_locally(model: nn.Module, x: torch.Tensor, y: torch.Tensor, spec: Scenario,
                  generator: torch.Generator) -> None:
    """One client's local training as a researcher writes it: SGD with momentum, the
    scenario's epochs and batch size, a fresh order per epoch from ``generator``."""
    t = spec.training
    opt = torch.optim.SGD(model.parameters(), lr=t.lr, momentum=t.momentum)
    model.train()
    for _ in range(t.local_epochs):
        order = torch.randperm(len(x), generator=generator)
        for start in range(0, len(x), t.batch_size):
            batch = order[start:start + t.batch_size]
            loss = nn.functional.cross_entropy(model(x[batch]), y[batch])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    """Test accuracy of ``model``."""
    model.eval()
    with torch.no_grad():
        return float((model(x).argmax(1) == y).float().mean())
