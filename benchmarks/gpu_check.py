"""The device check: real scenarios on a GPU, batched and one job at a time.

Runs the quickstart FedAvg scenario and a VGG-11 FedAvg scenario on CIFAR-10-shaped
synthetic images (3 x 32 x 32; no data set files needed) on ``--device``, each with
``execution.batch_clients`` ``off`` and ``auto``. For each scenario it checks that the
simulated tables (transfers, computes, nodes, links, effects and the rounds table but
for its quality columns) are identical between the two, and prints the wall-time ratio,
the final accuracies and, on CUDA, the peak allocated GPU memory of each run. Exit code
1 if a simulated table differs.

    python benchmarks/gpu_check.py [--device cuda] [--small] [--out results.json]

``--small`` shrinks VGG-11 and the rounds, to try the script on a CPU first.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from snakesim.config import load_scenario, validate_scenario
from snakesim.config.schema import Scenario
from snakesim.experiments import run_scenario

ROOT = Path(__file__).resolve().parent.parent
SIMULATED = ["transfers", "computes", "nodes", "links", "effects"]
QUALITY = ["accuracy", "loss", "perplexity"]


def vgg_scenario(small: bool) -> Scenario:
    """FedAvg of VGG-11 over 10 clients on CIFAR-10-shaped synthetic images."""
    return validate_scenario({
        "name": "gpu-check-vgg11", "seed": 0,
        "data": {"dataset": "synthetic",
                 "synthetic": {"samples": 2000 if small else 12500, "classes": 10,
                               "shape": [3, 32, 32], "noise": 1.0, "seed": 0},
                 "test_fraction": 0.2, "partition": {"kind": "iid"}},
        "model": {"name": "vgg11", "width_mult": 0.125 if small else 1.0},
        "training": {"optimizer": "sgd", "lr": 0.02, "momentum": 0.9, "batch_size": 32,
                     "local_epochs": 1, "rounds": 1 if small else 3},
        "topology": {"kind": "star", "clients": 10},
        "nodes": {"compute": "10 TFLOPS", "memory": "16 GB"},
        "links": {"latency": "5 ms", "bandwidth": "1 Gbps"},
        "strategy": {"name": "fedavg"},
    })


def run(scenario: Scenario, device: str, batch: str) -> dict[str, Any]:
    """Run ``scenario`` on ``device`` with ``batch_clients: batch``; time and memory."""
    spec = scenario.model_copy(update={"execution": scenario.execution.model_copy(
        update={"device": device, "batch_clients": batch})})
    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = run_scenario(spec)
    if torch.cuda.is_available():
        torch.cuda.synchronize()
    seconds = time.perf_counter() - start
    peak = int(torch.cuda.max_memory_allocated()) if torch.cuda.is_available() else None
    return {"result": result, "seconds": seconds, "peak_bytes": peak}


def same_simulation(a: Any, b: Any) -> list[str]:
    """The simulated tables that differ between two runs (empty: none)."""
    differ = []
    for table in [*SIMULATED, "rounds"]:
        x, y = a.frames[table], b.frames[table]
        if table == "rounds":
            x, y = x.drop(columns=QUALITY, errors="ignore"), y.drop(columns=QUALITY,
                                                                     errors="ignore")
        try:
            pd.testing.assert_frame_equal(x, y)
        except AssertionError:
            differ.append(table)
    return differ


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    scenarios = {"quickstart-fedavg": load_scenario(ROOT / "scenarios" /
                                                    "quickstart-fedavg.yaml"),
                 "vgg11-fedavg": vgg_scenario(args.small)}
    report, failed = [], False
    for name, scenario in scenarios.items():
        run(scenario, args.device, "off")  # warm-up: kernels and allocator
        off, auto = run(scenario, args.device, "off"), run(scenario, args.device, "auto")
        differ = same_simulation(off["result"], auto["result"])
        failed |= bool(differ)
        s_off, s_auto = off["result"].summary, auto["result"].summary
        row = {"scenario": name, "device": s_auto["device"],
               "off_s": off["seconds"], "auto_s": auto["seconds"],
               "auto_over_off": auto["seconds"] / off["seconds"],
               "off_accuracy": s_off["final_accuracy"],
               "auto_accuracy": s_auto["final_accuracy"], "batches": s_auto["batches"],
               "off_peak_bytes": off["peak_bytes"], "auto_peak_bytes": auto["peak_bytes"],
               "simulated_tables_differ": differ}
        report.append(row)
        memory = "" if off["peak_bytes"] is None else (
            f"  GPU peak {off['peak_bytes'] / 2**20:.0f} / {auto['peak_bytes'] / 2**20:.0f} MiB")
        print(f"{name:20s} {row['device']:8s} off {off['seconds']:7.2f} s  auto "
              f"{auto['seconds']:7.2f} s  x{row['auto_over_off']:.3f}  accuracy "
              f"{s_off['final_accuracy']:.4f} / {s_auto['final_accuracy']:.4f}  "
              f"{s_auto['batches']} batches{memory}  simulated tables "
              f"{'identical' if not differ else 'DIFFER: ' + ', '.join(differ)}")
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=2))
    raise SystemExit(1 if failed else 0)


if __name__ == "__main__":
    main()
