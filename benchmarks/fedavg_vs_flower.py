"""Whole-process wall time and peak memory of snakesim's FedAvg against Flower's
simulation runtime doing the same training.

The workload is `benchmarks/fedavg_vs_loop.py`'s (digits, IID over N clients, digits
CNN, SGD with momentum, batch 32, one local epoch, 10 rounds, the global model
evaluated after each round). Flower runs it with its classic API (a ``NumPyClient`` per
partition, ``FedAvg`` with a central ``evaluate_fn``, ``run_simulation`` on its Ray
backend, one CPU per client actor), using snakesim's own model, data split and data
order streams, so both train the same thing (a client's stream restarts in each Ray
actor that runs it, so accuracies may differ in the last digits). Flower is installed
by this script into its own virtual environment (``--venv``, default
``benchmarks/.venv-flower``, with ``flwr[simulation]`` and this checkout), never into
the project's.

Each run is a fresh process; its wall time and the peak resident memory of its whole
process tree (Ray's workers included; sampled every 50 ms with psutil) are printed,
best of ``--repeats``, with the ratios Flower / snakesim.

    python benchmarks/fedavg_vs_flower.py [--clients 50] [--rounds 10] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

import psutil
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))
from fedavg_vs_loop import scenario  # noqa: E402

FLOWER = r'''
import json, sys, warnings
import numpy as np, torch
torch.set_num_threads(1)
warnings.filterwarnings("ignore")
from flwr.client import ClientApp, NumPyClient
from flwr.common import Context, ndarrays_to_parameters
from flwr.server import ServerApp, ServerAppComponents, ServerConfig
from flwr.server.strategy import FedAvg
from flwr.simulation import run_simulation

SPEC = json.loads(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from fedavg_workload import accuracy, train_locally, workload

_cache = {}


def shared():
    # Built once per process (the driver and each Ray actor): data, split, model.
    if not _cache:
        w = workload(SPEC)
        _cache.update(w=w, init=[v.numpy().copy() for v in w.model.state_dict().values()])
    return _cache


def set_weights(model, arrays):
    keys = list(model.state_dict())
    model.load_state_dict({k: torch.from_numpy(np.asarray(a)) for k, a in zip(keys, arrays)})


class Client(NumPyClient):
    def __init__(self, index):
        self.index = index

    def fit(self, parameters, config):
        w = shared()["w"]
        x, y = w.local[self.index]
        set_weights(w.model, parameters)
        train_locally(w.model, x, y, w.spec, w.orders[self.index])
        return [v.detach().numpy().copy() for v in w.model.state_dict().values()], len(x), {}


def client_fn(context: Context):
    return Client(int(context.node_config["partition-id"])).to_client()


RESULT = {}


def evaluate(server_round, parameters, config):
    w = shared()["w"]
    set_weights(w.model, parameters)
    RESULT["accuracy"] = accuracy(w.model, w.data.x_test, w.data.y_test)
    return 0.0, {"accuracy": RESULT["accuracy"]}


def server_fn(context: Context):
    w, n = shared()["w"], len(shared()["w"].local)
    strategy = FedAvg(fraction_fit=1.0, fraction_evaluate=0.0, min_fit_clients=n,
                      min_available_clients=n, evaluate_fn=evaluate,
                      initial_parameters=ndarrays_to_parameters(shared()["init"]))
    return ServerAppComponents(strategy=strategy,
                               config=ServerConfig(num_rounds=w.spec.training.rounds))


run_simulation(server_app=ServerApp(server_fn=server_fn),
               client_app=ClientApp(client_fn=client_fn),
               num_supernodes=len(shared()["w"].local),
               backend_config={"client_resources": {"num_cpus": 1, "num_gpus": 0.0}})
print(json.dumps(RESULT))
'''


def flower_python(folder: Path) -> Path:
    """The Flower venv's interpreter, creating the venv (once) if needed."""
    python = folder / "bin" / "python"
    if not python.exists():
        print(f"creating {folder} with flwr[simulation] and this checkout ...", flush=True)
        venv.create(folder, with_pip=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "torch==2.13.0"],
                       check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "flwr[simulation]",
                        "-e", str(ROOT)], check=True)
    return python


def measured(command: list[str]) -> tuple[float, float, str]:
    """Wall time (s), peak RSS of the process tree (MB) and stdout of ``command``."""
    start = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, cwd=ROOT)
        root, peak = psutil.Process(process.pid), 0
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree if p.is_running()))
            except psutil.Error:
                pass
            time.sleep(0.05)
        elapsed = time.perf_counter() - start
        out.seek(0)
        text = out.read()
    if process.returncode != 0:
        raise RuntimeError(f"{command[:3]} failed (exit {process.returncode}):\n{text[-2000:]}")
    return elapsed, peak / 2**20, text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--venv", type=Path, default=ROOT / "benchmarks" / ".venv-flower")
    args = parser.parse_args()
    flower = flower_python(args.venv)
    spec = scenario(args.clients, args.rounds, 16, "cpu", "auto")
    best: dict[str, tuple[float, float]] = {}
    accuracy: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scenario.yaml"
        path.write_text(yaml.safe_dump(spec), encoding="utf-8")
        for _ in range(args.repeats):
            seconds, rss, _ = measured([sys.executable, "-m", "snakesim", "run", str(path),
                                        "--quiet", "--out", str(Path(tmp) / "run")])
            summary = json.loads((Path(tmp) / "run" / "summary.json").read_text())
            accuracy["snakesim"] = summary["final_accuracy"]
            best["snakesim"] = min(best.get("snakesim", (seconds, rss)), (seconds, rss))
            seconds, rss, out = measured([str(flower), "-c", FLOWER, json.dumps(spec),
                                          str(ROOT / "benchmarks")])
            accuracy["flower"] = json.loads(out.strip().splitlines()[-1])["accuracy"]
            best["flower"] = min(best.get("flower", (seconds, rss)), (seconds, rss))
    (s_t, s_m), (f_t, f_m) = best["snakesim"], best["flower"]
    print(f"N={args.clients}, {args.rounds} rounds")
    print(f"snakesim  {s_t:7.2f} s  peak {s_m:7.0f} MB  accuracy {accuracy['snakesim']:.4f}")
    print(f"flower    {f_t:7.2f} s  peak {f_m:7.0f} MB  accuracy {accuracy['flower']:.4f}")
    print(f"flower / snakesim: time {f_t / s_t:.2f}x, peak memory {f_m / s_m:.2f}x")


if __name__ == "__main__":
    main()
