"""Training throughput of FedAvg-style client jobs, one by one against batched, on a device.

For each model, ``--clients`` jobs (same initial state, each its own data and data
order) are trained once with `snakesim.learning.training.train_slice` one after another
and once together with `snakesim.learning.vectorised.train_slices`; printed per model:
samples/s of each, their ratio, the largest parameter difference between the two
(the equivalence check, to set against the 1e-5 of the tests) and, on CUDA, the peak
allocated memory of each. A Snake hop (one decoder block of the LM trained behind a
frozen prefix) is timed one job at a time, as Snake runs it. Models: the digits CNN
(1 x 8 x 8), VGG-11 (CIFAR-10 shapes, 3 x 32 x 32, random data) and an OPT causal LM
(``opt-125m`` on a GPU, ``tiny-opt`` with ``--small``).

The device check (see DEVELOPERS.md) runs it on the GPU machine; ``--small`` is the
same on CPU-sized models, to try the script here first.

    python benchmarks/gpu_throughput.py [--device cuda] [--clients 16] [--small]
        [--out results.json] [--curve]

``--curve`` prints only the per-job time of one-step digits CNN jobs one by one and in
batches of 4, 16, 64 and 256 (the measurement behind ``auto``'s 16 on a CPU).
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from snakesim.learning.models.lm_models import lm_factory, load_lm_config
from snakesim.learning.models.stack import LayerStack, digits_cnn, init_parameters
from snakesim.learning.models.vgg import vgg11
from snakesim.learning.objective import CAUSAL_LM, CLASSIFICATION
from snakesim.learning.training import TrainConfig, train_slice
from snakesim.learning.vectorised import SliceTask, train_slices


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _peak(device: torch.device) -> int | None:
    return int(torch.cuda.max_memory_allocated(device)) if device.type == "cuda" else None


def _reset(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats(device)


def measure(name: str, build: Callable[[], LayerStack], data: list[tuple[torch.Tensor,
            torch.Tensor]], cfg: TrainConfig, device: torch.device,
            trainable: tuple[int, ...] | None = None, batched: bool = True,
            ) -> dict[str, Any]:
    """Time one-by-one (and batched) training of ``data``'s clients on ``device``."""
    model = build()
    if cfg.objective is CLASSIFICATION:
        init_parameters(model, torch.Generator().manual_seed(0))
    model.to(device)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    groups = trainable or tuple(range(len(model)))
    data = [(x.to(device), y.to(device)) for x, y in data]
    samples = sum(len(y) for _, y in data) * cfg.epochs
    # Warm-up: kernels, allocator and autotuning are not what is measured.
    train_slice(model, state, groups, *data[0], cfg, torch.Generator().manual_seed(0))
    if batched:
        train_slices(model, [SliceTask(state, groups, *data[0], cfg,
                                       torch.Generator().manual_seed(0))] * 2)
    _reset(device)
    _sync(device)
    start = time.perf_counter()
    alone = [train_slice(model, state, groups, x, y, cfg, torch.Generator().manual_seed(i))
             for i, (x, y) in enumerate(data)]
    _sync(device)
    row: dict[str, Any] = {"model": name, "clients": len(data), "samples": samples,
                           "alone_samples_per_s": samples / (time.perf_counter() - start),
                           "alone_peak_bytes": _peak(device)}
    if batched:
        _reset(device)
        _sync(device)
        start = time.perf_counter()
        together = train_slices(model, [SliceTask(state, groups, x, y, cfg,
                                                  torch.Generator().manual_seed(i))
                                        for i, (x, y) in enumerate(data)])
        _sync(device)
        row["batched_samples_per_s"] = samples / (time.perf_counter() - start)
        row["batched_peak_bytes"] = _peak(device)
        row["speedup"] = row["batched_samples_per_s"] / row["alone_samples_per_s"]
        row["max_abs_difference"] = max(
            float((a.state[k].double() - b.state[k].double()).abs().max())
            for a, b in zip(alone, together, strict=True) for k in a.state)
    return row


def curve(device: torch.device, sizes: tuple[int, ...] = (4, 16, 64, 256),
          samples: int = 7) -> None:
    """Per-job time of digits CNN jobs of one step (``samples`` each) one by one and in
    batches of each size (what `snakesim.experiments.execution.CPU_BATCH` rests on)."""
    model = digits_cnn(width=16)
    init_parameters(model, torch.Generator().manual_seed(0))
    model.to(device)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    cfg, groups = TrainConfig(batch_size=32), tuple(range(len(model)))
    g = torch.Generator().manual_seed(2)
    data = [(torch.randn(samples, 1, 8, 8, generator=g).to(device),
             torch.randint(0, 10, (samples,), generator=g).to(device))
            for _ in range(max(sizes))]

    def best(work: Callable[[], object], jobs: int) -> float:
        """The best of 5 timings of ``work`` (after one untimed run), per job, in ms."""
        work()
        times = []
        for _ in range(5):
            _sync(device)
            start = time.perf_counter()
            work()
            _sync(device)
            times.append(time.perf_counter() - start)
        return min(times) / jobs * 1e3

    alone = best(lambda: [train_slice(model, state, groups, x, y, cfg, torch.Generator())
                          for x, y in data[:64]], 64)
    print(f"one by one:      {alone:.2f} ms per job")
    for size in sizes:
        tasks = [SliceTask(state, groups, x, y, cfg, torch.Generator()) for x, y in data[:size]]
        print(f"batches of {size:>4}: "
              f"{best(lambda t=tasks: train_slices(model, t), size):.2f} "
              "ms per job")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--small", action="store_true", help="CPU-sized models")
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--curve", action="store_true",
                        help="only the per-job time against the batch size (digits CNN)")
    args = parser.parse_args()
    device, n = torch.device(args.device), args.clients
    if args.curve:
        curve(device)
        return
    g = torch.Generator().manual_seed(1)

    def images(shape: tuple[int, ...], per_client: int) -> list[tuple[torch.Tensor,
                                                                      torch.Tensor]]:
        return [(torch.randn(per_client, *shape, generator=g),
                 torch.randint(0, 10, (per_client,), generator=g)) for _ in range(n)]

    sgd = TrainConfig(batch_size=32)
    width = 0.125 if args.small else 1.0
    lm = load_lm_config(preset="tiny-opt" if args.small else "opt-125m",
                        overrides={"dropout": 0.0, "attention_dropout": 0.0})
    seq = 32 if args.small else 256
    vocab = int(lm.vocab_size)
    tokens = [(torch.randint(0, vocab, (8, seq), generator=g), torch.zeros(8, dtype=torch.long))
              for _ in range(n)]
    adamw = TrainConfig(optimizer="adamw", lr=1e-4, batch_size=4, objective=CAUSAL_LM)
    rows = [
        measure("digits_cnn", lambda: digits_cnn(width=16), images((1, 8, 8), 128), sgd,
                device),
        measure(f"vgg11 x{width}", lambda: vgg11(image_size=(32, 32), width_mult=width),
                images((3, 32, 32), 64), sgd, device),
        measure(f"opt {'tiny' if args.small else '125m'} seq {seq}",
                lm_factory(lm, seed=0), tokens, adamw, device),
        measure(f"snake hop: opt block 1 of {'tiny' if args.small else '125m'}",
                lm_factory(lm, seed=0), tokens[:4], adamw, device, trainable=(1,),
                batched=False),
    ]
    kind = torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu"
    print(f"device {device} ({kind})")
    for r in rows:
        line = f"{r['model']:34s} alone {r['alone_samples_per_s']:9.1f} samples/s"
        if "speedup" in r:
            line += (f"  batched {r['batched_samples_per_s']:9.1f}  x{r['speedup']:.2f}"
                     f"  max |diff| {r['max_abs_difference']:.1e}")
        if r["alone_peak_bytes"] is not None:
            line += f"  peak {r['alone_peak_bytes'] / 2**20:.0f} MiB"
            if r.get("batched_peak_bytes") is not None:
                line += f" / {r['batched_peak_bytes'] / 2**20:.0f} MiB"
        print(line)
    if args.out is not None:
        args.out.write_text(json.dumps({"device": str(device), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
