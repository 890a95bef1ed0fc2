"""Peak memory and wall time of a FedAvg run as the number of clients grows.

Each N runs `scenarios/scale/fedavg-1000.yaml` with N clients and 30 samples per client
(the synthetic set grows with N, so every client's work is the same), in a fresh
process that reports its peak resident memory (``ru_maxrss``) and the run's wall time
(imports excluded). Printed per N: peak RSS, its ratio to the smallest N's, the run's
wall time and the wall time per client-round (flat or falling means the simulator
adds no per-client cost as N grows). DESIGN principle 5 asks for a 1,000-client run
within 1.5x the peak memory of a 10-client one.

    python benchmarks/fedavg_scale.py [--clients 10 100 1000] [--batch-clients auto]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

CHILD = r'''
import json, resource, sys, time
import torch
from snakesim.config import load_scenario
from snakesim.api import run

n, batch = int(sys.argv[1]), sys.argv[2]
base = load_scenario(sys.argv[3])
data = base.data.model_copy(update={"synthetic": base.data.synthetic.model_copy(
    update={"samples": 30 * n * 5 // 4})})
topology = base.topology.model_copy(update={"clients": n})
execution = base.execution.model_copy(update={
    "batch_clients": int(batch) if batch.isdigit() else batch})
scenario = base.model_copy(update={"data": data, "topology": topology,
                                   "execution": execution})
start = time.perf_counter()
result = run(scenario, threads=1)
elapsed = time.perf_counter() - start
print(json.dumps({"maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "seconds": elapsed, "rounds": result.summary["rounds"],
                  "accuracy": result.summary["final_accuracy"],
                  "batches": result.summary["batches"]}))
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--batch-clients", default="auto")
    parser.add_argument("--scenario", type=Path,
                        default=ROOT / "scenarios" / "scale" / "fedavg-1000.yaml")
    args = parser.parse_args()
    rows = []
    for n in args.clients:
        done = subprocess.run([sys.executable, "-c", CHILD, str(n), args.batch_clients,
                               str(args.scenario)], capture_output=True, text=True,
                              check=False, cwd=ROOT)
        if done.returncode != 0:
            raise SystemExit(f"N={n} failed:\n{done.stderr[-2000:]}")
        rows.append((n, json.loads(done.stdout.strip().splitlines()[-1])))
    base_rss = rows[0][1]["maxrss_mb"]
    print(f"batch_clients {args.batch_clients}")
    print(f"{'N':>7} {'peak RSS MB':>12} {'x smallest':>11} {'run s':>8} "
          f"{'ms/client-round':>16} {'batches':>8} {'accuracy':>9}")
    for n, r in rows:
        per = r["seconds"] / (n * r["rounds"]) * 1000
        print(f"{n:>7} {r['maxrss_mb']:12.0f} {r['maxrss_mb'] / base_rss:11.2f} "
              f"{r['seconds']:8.2f} {per:16.2f} {r['batches']:>8} {r['accuracy']:9.4f}")


if __name__ == "__main__":
    main()
