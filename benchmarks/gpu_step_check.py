"""Predicted against measured: peak memory and step time of real training jobs.

Each case runs a real job with snakesim's own `train_slice` (the code a simulated node
runs) and compares

- the peak `CostModel.memory` predicts with the device's rules (`learning.costs.rules`)
  against the real peak: ``torch.cuda.max_memory_allocated`` on a GPU, the profiler's
  CPU allocation events on a CPU (`learning.costs.measure`);
- the step time the roofline gives (`network.roofline`, the chip's preset) against the
  measured step: a job of ``steps + 1`` steps minus a job of one, over ``steps``
  (median of three; after a warm-up; CUDA synchronised), so the job's set-up (state
  loading, optimizer creation) is not in it.

On CUDA (``--device cuda``) the grid is OPT-1.3B- and Llama-3-8B-sized models (random
weights), batch 1/4/8, sequence 512/1024, fp32, pure bf16 and bf16 mixed precision, full
fine-tuning and one trainable block at the first, a middle and the last position,
AdamW and SGD, with and without gradient checkpointing (a design that covers every
level of every factor, not the full product; ``--budget-s`` stops early and keeps what
ran). The preset is chosen from the GPU's name (H100, H200, A100, L4).

On a CPU (``--device cpu``, the default without CUDA) the grid is small models
(digits CNN, an MLP, a narrow VGG-11 on CIFAR-10 shapes, tiny OPT and Llama) with the
``epyc-7763`` preset scaled to the threads used (``--cores``, default the torch thread
count; the preset is the AMD EPYC 7763 of this project's CI machines, Zen 3).

    python benchmarks/gpu_step_check.py [--device cuda|cpu] [--out results/step_check.json]
        [--steps 5] [--budget-s 540] [--cores N]

Ratios are predicted / measured, one row per case, printed and written as JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from snakesim.config.accelerators import ACCELERATORS, Accelerator
from snakesim.learning.costs.measure import measure_training_step
from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.costs.rules import rules_for
from snakesim.learning.models.lm import set_checkpointing
from snakesim.learning.models.stack import LayerStack, digits_cnn, init_parameters
from snakesim.learning.models.vgg import mlp, vgg11
from snakesim.learning.objective import CAUSAL_LM, CLASSIFICATION, Objective
from snakesim.learning.training import TrainConfig, train_slice
from snakesim.network.roofline import phase_seconds

PRECISIONS = {"fp32": Precision(), "bf16-pure": Precision("bf16", master_weights=False),
              "bf16-mixed": Precision("bf16")}


def gpu_preset() -> Accelerator:
    """The preset of the visible GPU, by its name."""
    name = torch.cuda.get_device_name().upper()
    for key in ("H200", "H100", "A100", "L4"):
        if key in name:
            return ACCELERATORS[key.lower()]  # type: ignore[index]
    raise SystemExit(f"no accelerator preset for GPU {name!r}")


def predicted_step_s(costs: CostModel, groups: list[int], batch: int, chip: Accelerator,
                     dtype: str) -> float:
    rules = rules_for(chip)
    return sum(phase_seconds(w, chip, dtype)
               for w in costs.train_phases(groups, batch, batch, 1, rules=rules))


def _lm(preset: str) -> Callable[[], LayerStack]:
    from snakesim.learning.models.lm_models import lm_factory, load_lm_config

    return lm_factory(load_lm_config(preset=preset), seed=0)


def run_case(case: dict[str, Any], factory: Callable[[], LayerStack], objective: Objective,
             shape: tuple[int, ...], chip: Accelerator, device: str,
             steps: int) -> dict[str, Any]:
    """One job: its predicted and measured peak memory and median step time."""
    precision = PRECISIONS[case["dtype"]]
    batch, opt = case["batch"], case["optimizer"]
    costs = CostModel(factory, shape, opt, 0.9 if opt == "sgd" else 0.0,
                      objective=objective, precision=precision,
                      checkpointing=case["checkpointing"])
    groups = case["groups"](costs.n_groups)
    rules = rules_for(chip)
    predicted_peak = costs.memory(groups, batch, rules=rules).total
    predicted_s = predicted_step_s(costs, groups, batch, chip, precision.dtype)
    if device == "cuda":
        torch.cuda.empty_cache()
    with torch.device(device):
        model = factory()
    if device == "cpu":
        init_parameters(model, torch.Generator().manual_seed(0))
    model.to(precision.param_dtype)
    set_checkpointing(model, case["checkpointing"])
    g = torch.Generator(device=device).manual_seed(1)
    n = batch * (steps + 1)
    if objective is CAUSAL_LM:
        x = torch.randint(0, 256 if device == "cpu" else 32000, (n, *shape), device=device,
                          generator=g)
    else:
        x = torch.rand(n, *shape, device=device, generator=g)
    y = torch.randint(0, 10, (n,), device=device, generator=g)
    cfg = TrainConfig(opt, 1e-4, 0.9 if opt == "sgd" else 0.0, 0.0, batch, 1,
                      objective=objective, precision=precision)
    state = model.state_dict()

    def job(batches: int) -> float:
        """Seconds of a job of ``batches`` steps (CUDA synchronised)."""
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        train_slice(model, state, groups, x[:batches * batch], y[:batches * batch], cfg,
                    torch.Generator().manual_seed(batches))
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start

    job(2)  # warm-up: kernels chosen, caches filled
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    # A step's time without the job's set-up (state loading, optimizer creation): the
    # difference of a (steps + 1)-step job and a 1-step job, median of three.
    measured_s = statistics.median((job(steps + 1) - job(1)) / steps for _ in range(3))
    if device == "cuda":
        measured_peak = torch.cuda.max_memory_allocated() - x.nbytes - y.nbytes \
            + (x.nbytes + y.nbytes) // (steps + 1)
    else:
        measured_peak = _cpu_peak(model, groups, x[:batch], y[:batch], cfg)
    return {**{k: v for k, v in case.items() if k != "groups"}, "groups": groups,
            "predicted_peak": predicted_peak, "measured_peak": measured_peak,
            "memory_ratio": predicted_peak / measured_peak,
            "predicted_step_s": predicted_s, "measured_step_s": measured_s,
            "time_ratio": predicted_s / measured_s}


def _cpu_peak(model: LayerStack, groups: list[int], x: torch.Tensor, y: torch.Tensor,
              cfg: TrainConfig) -> int:
    """The real peak of a steady-state step on the CPU (profiler allocation events)."""
    return measure_training_step(model, groups, x, y, cfg)[0].peak


def cuda_grid() -> list[tuple[str, dict[str, Any]]]:
    """Every level of every factor, cycled over the model x precision x slice x optimizer
    product (a covering design: 96 cases, not the 576 of the full product)."""
    shapes = itertools.cycle([(1, 512), (4, 1024), (8, 512), (4, 512), (1, 1024), (8, 1024)])
    checkpoint = itertools.cycle([False, False, True])
    slices: dict[str, Callable[[int], list[int]]] = {
        "full": lambda n: list(range(n)), "first block": lambda n: [1],
        "middle block": lambda n: [n // 2], "last block": lambda n: [n - 2]}
    cases = []
    for preset, dtype, (name, groups), opt in itertools.product(
            ["opt-1.3b", "llama-3-8b"], PRECISIONS, slices.items(), ["adamw", "sgd"]):
        batch, seq = next(shapes)
        cases.append((preset, {"model": preset, "dtype": dtype, "slice": name,
                               "groups": groups, "optimizer": opt, "batch": batch,
                               "seq_len": seq, "checkpointing": next(checkpoint)}))
    return cases


def cpu_grid() -> list[tuple[str, dict[str, Any]]]:
    """Small models on a CPU: each with full training, the last and a middle group."""
    slices: dict[str, Callable[[int], list[int]]] = {
        "full": lambda n: list(range(n)), "last": lambda n: [n - 1],
        "middle": lambda n: [n // 2]}
    cases = []
    for model, batch in [("digits_cnn", 32), ("digits_cnn", 128), ("mlp", 64),
                         ("vgg11", 16), ("tiny-opt", 8), ("tiny-llama", 8)]:
        for (name, groups), opt in itertools.product(slices.items(), ["sgd", "adamw"]):
            cases.append((model, {"model": model, "dtype": "fp32", "slice": name,
                                  "groups": groups, "optimizer": opt, "batch": batch,
                                  "seq_len": 64 if model.startswith("tiny") else 0,
                                  "checkpointing": False}))
    return cases


def build(model: str, seq: int) -> tuple[Callable[[], LayerStack], Objective, tuple[int, ...]]:
    if model == "digits_cnn":
        return (lambda: digits_cnn(width=16)), CLASSIFICATION, (1, 8, 8)
    if model == "mlp":
        return (lambda: mlp(10, (1, 8, 8), (256, 128))), CLASSIFICATION, (1, 8, 8)
    if model == "vgg11":
        return (lambda: vgg11(10, 3, (32, 32), width_mult=0.25)), CLASSIFICATION, (3, 32, 32)
    return _lm(model), CAUSAL_LM, (seq,)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", choices=["cuda", "cpu"],
                        default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--out", type=Path, default=Path("results/step_check.json"))
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--budget-s", type=float, default=540.0)
    parser.add_argument("--cores", type=int, default=0)
    args = parser.parse_args()
    if args.device == "cuda":
        chip, grid = gpu_preset(), cuda_grid()
    else:
        cores = args.cores or torch.get_num_threads()
        chip, grid = ACCELERATORS["epyc-7763"].scaled(cores), cpu_grid()
    started, rows = time.perf_counter(), list[dict[str, Any]]()
    print(f"{'model':11} {'dtype':10} {'slice':12} {'opt':5} {'b':>2} {'seq':>4} ck "
          f"{'mem pred/meas':>13} {'time pred/meas':>14}  (preset {chip.name})")
    for model, case in grid:
        if time.perf_counter() - started > args.budget_s:
            print(f"budget of {args.budget_s:.0f} s spent: {len(grid) - len(rows)} cases "
                  "not run")
            break
        factory, objective, shape = build(model, case["seq_len"])
        try:
            row = run_case(case, factory, objective, shape, chip, args.device, args.steps)
        except torch.OutOfMemoryError as exc:  # report it, keep the other cases
            row = {**{k: v for k, v in case.items() if k != "groups"},
                   "error": str(exc).splitlines()[0]}
        rows.append(row)
        ratios = (f"{row['memory_ratio']:13.3f} {row['time_ratio']:14.3f}"
                  if "error" not in row else "  out of memory")
        print(f"{case['model']:11} {case['dtype']:10} {case['slice']:12} "
              f"{case['optimizer']:5} {case['batch']:2} {case['seq_len']:4} "
              f"{'y ' if case['checkpointing'] else 'n '} {ratios}", flush=True)
    done = [r for r in rows if "error" not in r]
    if done:
        print(f"memory ratio: median {statistics.median(r['memory_ratio'] for r in done):.3f},"
              f" range {min(r['memory_ratio'] for r in done):.3f}-"
              f"{max(r['memory_ratio'] for r in done):.3f}; time ratio: median "
              f"{statistics.median(r['time_ratio'] for r in done):.3f}, range "
              f"{min(r['time_ratio'] for r in done):.3f}-"
              f"{max(r['time_ratio'] for r in done):.3f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    device = torch.cuda.get_device_name() if args.device == "cuda" else "cpu"
    args.out.write_text(json.dumps({"device": device, "preset": chip.name,
                                    "threads": torch.get_num_threads(),
                                    "torch": torch.__version__, "results": rows}, indent=2))


if __name__ == "__main__":
    main()
