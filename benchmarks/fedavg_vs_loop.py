"""Whole-process wall time of snakesim's FedAvg against a bare PyTorch loop doing the
same training, at N = 10, 50 and 200 clients.

The workload: digits, IID split over N clients, digits CNN, SGD with momentum, batch 32,
one local epoch, a few rounds, evaluation after each round. The bare loop is what a
researcher would write by hand in one process: the same model and initial weights, the
same split, the same per-client data order (both draw from the run seed's named
streams), the same optimizer and the same sample-weighted average, so it ends at the
same accuracy as snakesim's sequential path (printed; a mismatch means the comparison
is not fair and is reported). Three ways are timed, each as a fresh process (imports
included, as a user runs it), interleaved over ``--repeats`` and the best kept:

- ``loop``: the bare loop;
- ``sequential``: ``snakesim run`` with ``execution.batch_clients: off``;
- ``batched``: ``snakesim run`` with ``execution.batch_clients: auto`` (the default:
  on a CPU, the clients of a round in vectorised jobs of up to 16).

Ratios to the loop are printed, and the batched/sequential ratio. One thread each.

    python benchmarks/fedavg_vs_loop.py [--clients 10 50 200] [--rounds 3] [--repeats 2]
        [--width 16] [--device cpu]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


def scenario(clients: int, rounds: int, width: int, device: str, batch: str | int,
             ) -> dict[str, Any]:
    """The benchmark's scenario (one per N and batching setting)."""
    return {
        "name": f"fedavg-vs-loop-{clients}", "seed": 7,
        "data": {"dataset": "digits", "partition": {"kind": "iid"}},
        "model": {"name": "digits_cnn", "width": width},
        "training": {"optimizer": "sgd", "lr": 0.05, "momentum": 0.9, "batch_size": 32,
                     "local_epochs": 1, "rounds": rounds},
        "topology": {"kind": "star", "clients": clients},
        "links": {"latency": "5 ms", "bandwidth": "100 Mbps"},
        "strategy": {"name": "fedavg"},
        "execution": {"device": device, "batch_clients": batch},
    }


LOOP = r'''
import json, sys, torch
torch.set_num_threads(1)
sys.path.insert(0, sys.argv[2])
from fedavg_workload import accuracy, train_locally, workload

scenario = json.loads(sys.argv[1])
device = scenario["execution"]["device"]
device = torch.device("cpu" if device == "auto" else device)
w = workload(scenario, device)
model, x_test, y_test = w.model, w.data.x_test.to(device), w.data.y_test.to(device)
state = {k: v.detach().clone() for k, v in model.state_dict().items()}
for _ in range(w.spec.training.rounds):
    total = {k: torch.zeros_like(v, dtype=torch.float64) for k, v in state.items()}
    weight = 0
    for (x, y), g in zip(w.local, w.orders):
        model.load_state_dict(state)
        train_locally(model, x, y, w.spec, g)
        for k, v in model.state_dict().items():
            total[k] += v.double() * len(x)
        weight += len(x)
    state = {k: (v / weight).to(state[k].dtype) for k, v in total.items()}
    model.load_state_dict(state)
    result = accuracy(model, x_test, y_test)
print(json.dumps({"accuracy": result}))
'''


def timed(command: list[str]) -> tuple[float, str]:
    """Wall time of a fresh process running ``command``, and its stdout."""
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed:\n{done.stderr[-2000:]}")
    return elapsed, done.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--width", type=int, default=16)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.clients:
            best: dict[str, float] = {}
            accuracy: dict[str, float] = {}
            for _ in range(args.repeats):
                for way, batch in (("loop", "off"), ("sequential", "off"), ("batched", "auto")):
                    spec = scenario(n, args.rounds, args.width, args.device, batch)
                    if way == "loop":
                        seconds, out = timed([sys.executable, "-c", LOOP, json.dumps(spec),
                                                 str(ROOT / "benchmarks")])
                        accuracy[way] = json.loads(out)["accuracy"]
                    else:
                        path = Path(tmp) / f"{way}-{n}.yaml"
                        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
                        folder = Path(tmp) / f"{way}-{n}"
                        seconds, _ = timed([sys.executable, "-m", "snakesim", "run", str(path),
                                            "--quiet", "--threads", "1", "--out", str(folder)])
                        summary = json.loads((folder / "summary.json").read_text())
                        accuracy[way] = summary["final_accuracy"]
                    best[way] = min(best.get(way, float("inf")), seconds)
            rows.append((n, best, accuracy))
    print(f"{'N':>5} {'loop s':>8} {'seq s':>8} {'batch s':>8} {'seq/loop':>9} "
          f"{'batch/loop':>11} {'batch/seq':>10}  accuracy loop / seq / batched")
    for n, best, acc in rows:
        print(f"{n:>5} {best['loop']:8.2f} {best['sequential']:8.2f} {best['batched']:8.2f} "
              f"{best['sequential'] / best['loop']:9.3f} {best['batched'] / best['loop']:11.3f} "
              f"{best['batched'] / best['sequential']:10.3f}  {acc['loop']:.4f} / "
              f"{acc['sequential']:.4f} / {acc['batched']:.4f}")
        if abs(acc["loop"] - acc["sequential"]) > 1e-6:
            print(f"      note: at N={n} the loop and snakesim's sequential path differ in "
                  "accuracy: they did not train identically")


if __name__ == "__main__":
    main()
