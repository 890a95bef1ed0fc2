"""Check the memory model against a real GPU: predicted vs ``torch.cuda.max_memory_allocated``.

For an OPT-1.3B-sized model (random weights, built from the shipped config), run real
training jobs with snakesim's own `train_slice` (the code a simulated node runs) and
compare the peak the CUDA allocator saw with the peak `CostModel.memory` predicts for
the same job, from a meta-device probe. Cases: full fine-tuning (fp32 AdamW), a Snake
Learning slice (one decoder block trained, the rest frozen), the same slice in pure
bf16, full fine-tuning with gradient checkpointing and with bf16 mixed precision.

Each job runs ``--steps`` steps: from the second step on, the optimizer state exists
while activations are alive, the situation the model's peak (a sum) describes.

    python benchmarks/gpu_memory_check.py --out results/gpu_memory.json

Without CUDA it runs the same cases on the tiny OPT preset on the CPU and only checks
that they execute (no peak is measured there).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch

from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import Precision
from snakesim.learning.models.lm import set_checkpointing
from snakesim.learning.models.lm_models import lm_factory, load_lm_config
from snakesim.learning.models.lora import with_lora
from snakesim.learning.objective import CAUSAL_LM
from snakesim.learning.training import TrainConfig, train_slice


def run_case(name: str, preset: str, trainable: list[int] | None, precision: Precision,
             batch: int, seq_len: int, steps: int, checkpointing: bool,
             device: str, lora: bool = False) -> dict[str, Any]:
    config = load_lm_config(preset=preset)
    factory = lm_factory(config, seed=0)
    if lora:
        factory = with_lora(factory, rank=8, alpha=16, dropout=0.0,
                            targets=["q_proj", "v_proj"], seed=0)
    costs = CostModel(factory, (seq_len,), "adamw", 0.0, objective=CAUSAL_LM,
                      precision=precision, checkpointing=checkpointing)
    groups = trainable if trainable is not None else list(range(costs.n_groups))
    predicted = costs.memory(groups, batch)
    if device == "cuda":
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    with torch.device(device):
        model = factory()
    model.to(precision.param_dtype)
    set_checkpointing(model, checkpointing)
    x = torch.randint(0, int(config.vocab_size), (batch * steps, seq_len), device=device)
    y = torch.zeros(batch * steps, dtype=torch.long, device=device)
    state = model.state_dict()
    cfg = TrainConfig("adamw", 1e-5, 0.0, 0.0, batch, 1, objective=CAUSAL_LM,
                      precision=precision)
    if device == "cuda":
        torch.cuda.synchronize()
        weights = torch.cuda.memory_allocated()
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    result = train_slice(model, state, groups, x, y, cfg, torch.Generator().manual_seed(0))
    out: dict[str, Any] = {
        "case": name, "preset": preset, "trainable_groups": len(groups), "lora": lora,
        "dtype": precision.dtype, "master_weights": precision.master_weights,
        "checkpointing": checkpointing, "batch": batch, "seq_len": seq_len, "steps": steps,
        "loss": result.mean_loss, "predicted": predicted.__dict__ | {"total": predicted.total},
    }
    if device == "cuda":
        torch.cuda.synchronize()
        peak = torch.cuda.max_memory_allocated()
        out.update(measured_peak=peak, measured_weights_and_batch=weights,
                   ratio_predicted_over_measured=predicted.total / peak,
                   seconds=time.perf_counter() - start)
    del model, state, result, x, y
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("results/gpu_memory.json"))
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--seq-len", type=int, default=512)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--large", action="store_true",
                        help="also Llama-3-8B cases (a Snake slice, LoRA): needs ~60 GB")
    args = parser.parse_args()
    cuda = torch.cuda.is_available()
    device = "cuda" if cuda else "cpu"
    preset = "opt-1.3b" if cuda else "tiny-opt"
    batch, seq = (args.batch, args.seq_len) if cuda else (2, 32)
    block = 12 if cuda else 2
    fp32, bf16, pure = Precision(), Precision("bf16"), Precision("bf16", master_weights=False)
    cases = [
        (preset, "full fine-tuning, fp32 AdamW", None, fp32, False, False),
        (preset, "Snake slice: one block, fp32 AdamW", [block], fp32, False, False),
        (preset, "Snake slice: one block, pure bf16", [block], pure, False, False),
        (preset, "full fine-tuning, gradient checkpointing", None, fp32, True, False),
        (preset, "full fine-tuning, bf16 mixed precision", None, bf16, False, False),
        (preset, "LoRA (rank 8, q and v), fp32 AdamW", None, fp32, False, True),
    ]
    if args.large and cuda:
        cases += [
            ("llama-3-8b", "Snake slice: one block, fp32 AdamW", [16], fp32, False, False),
            ("llama-3-8b", "LoRA (rank 8, q and v), fp32 AdamW", None, fp32, False, True),
            ("llama-3-8b", "LoRA (rank 8, q and v), bf16 mixed precision", None, bf16, False,
             True),
        ]
    results = []
    for model, name, groups, precision, ckpt, lora in cases:
        name = f"{model}: {name}"
        try:
            r = run_case(name, model, groups, precision, batch, seq, args.steps, ckpt, device,
                         lora)
        except torch.OutOfMemoryError as exc:  # report, do not lose the other cases
            r = {"case": name, "error": str(exc).splitlines()[0]}
        results.append(r)
        ratio = r.get("ratio_predicted_over_measured")
        print(f"{name}: predicted {r.get('predicted', {}).get('total', 0) / 2**30:.3f} GiB, "
              f"measured {r.get('measured_peak', 0) / 2**30:.3f} GiB, "
              f"ratio {ratio if ratio is None else round(ratio, 4)}", flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"device": torch.cuda.get_device_name() if cuda else "cpu",
                                    "torch": torch.__version__, "results": results}, indent=2))


if __name__ == "__main__":
    main()
