"""Accelerator presets: what a node's chip can do, with the sources of the figures.

A node that names an ``accelerator`` gets its compute time from a roofline over the
job's phases (`snakesim.network.roofline`) instead of ``FLOPs / compute``, its memory
budget from the chip (unless the scenario writes one), and the device rules of its
kind for the memory account (`snakesim.learning.costs.rules`).

Peak figures are dense (no structured sparsity), per compute dtype, from the vendors'
datasheets; ``fp32`` is the plain FP32 rate (CUDA cores on NVIDIA GPUs): PyTorch does
not use TF32 for matmuls unless asked (``torch.backends.cuda.matmul.allow_tf32`` is
off by default). The efficiency constants are the same for every chip of a class and
are not fitted to any measurement of snakesim:

- ``matmul_efficiency`` 0.8: optimised GEMM kernels reach 80-90 % of a GPU's peak
  (Dao 2023, FlashAttention-2, arXiv:2307.08691, section 1) and of a CPU core's peak
  (Goto and van de Geijn 2008, ACM TOMS 34(3)); the low end, since training also runs
  smaller matmuls;
- ``bandwidth_efficiency`` 0.8: the fraction of peak DRAM bandwidth streaming kernels
  sustain (the roofline model takes STREAM-measured bandwidth as its roof: Williams,
  Waterman and Patterson 2009, CACM 52(4)); an order-of-magnitude constant;
- ``kernel_overhead_s`` 5 us per kernel: a CUDA launch plus PyTorch's eager dispatch
  costs microseconds per operator (He 2022, "Making deep learning go brrrr from first
  principles", horace.io/brrr_intro.html, section "Overhead"); also the eager
  per-operator overhead on CPUs. An order of magnitude, not a measurement.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Literal

GIB = 1024**3

AcceleratorKind = Literal["cuda", "cpu", "soc"]
"""The device-rule family: NVIDIA GPUs, server CPUs, phone-class SoCs (GPU compute)."""


@dataclass(frozen=True)
class Accelerator:
    """One chip's figures (see the module docstring for the constants)."""

    name: str
    kind: AcceleratorKind
    peak_flops: dict[str, float]
    """Dense peak FLOP/s per compute dtype (``fp32``, ``bf16``, ``fp16``)."""
    memory_bandwidth: float
    """Peak memory bandwidth, bytes/s."""
    memory_bytes: float
    source: str
    cores: int = 1
    """Cores the figures are for (a CPU preset can be scaled to fewer, see `scaled`)."""
    matmul_efficiency: float = 0.8
    bandwidth_efficiency: float = 0.8
    kernel_overhead_s: float = 5e-6
    workspace_bytes: int = 0
    """Kernel-library workspaces allocated once per process (cuBLAS on CUDA)."""

    def flops_per_s(self, dtype: str) -> float:
        """Sustained matmul FLOP/s at ``dtype`` (peak x matmul efficiency)."""
        peak = self.peak_flops.get(dtype, self.peak_flops["fp32"])
        return peak * self.matmul_efficiency

    @property
    def bytes_per_s(self) -> float:
        """Sustained memory bandwidth (peak x bandwidth efficiency)."""
        return self.memory_bandwidth * self.bandwidth_efficiency

    def scaled(self, cores: int) -> Accelerator:
        """The share of ``cores`` cores of this chip: FLOP/s and bandwidth pro rata.

        For a CPU preset run on part of a socket (a VM's vCPUs); memory stays the
        preset's unless the scenario sets one.
        """
        if cores == self.cores:
            return self
        f = cores / self.cores
        return replace(self, name=f"{self.name}/{cores}", cores=cores,
                       peak_flops={k: v * f for k, v in self.peak_flops.items()},
                       memory_bandwidth=self.memory_bandwidth * f)


# cuBLAS workspace PyTorch allocates per handle and stream: 32 MiB on Hopper (sm90+),
# ":4096:2:16:8" = 8.125 MiB on earlier GPUs (aten/src/ATen/cuda/CublasHandlePool.cpp,
# getChosenWorkspaceSize).
_HOPPER_WORKSPACE = 32 * 1024**2
_WORKSPACE = 4096 * 1024 * 2 + 16 * 1024 * 8

AcceleratorName = Literal["h100", "h200", "a100", "l4", "jetson-orin", "phone-soc",
                          "epyc-7763"]

ACCELERATORS: dict[AcceleratorName, Accelerator] = {
    "h100": Accelerator(
        "h100", "cuda", {"fp32": 67e12, "bf16": 989.4e12, "fp16": 989.4e12}, 3.35e12, 80 * GIB,
        "NVIDIA H100 Tensor Core GPU datasheet (SXM5 80 GB): FP32 67 TFLOPS, BF16 1,979 "
        "TFLOPS with sparsity (989.4 dense), HBM3 3.35 TB/s",
        workspace_bytes=_HOPPER_WORKSPACE),
    "h200": Accelerator(
        "h200", "cuda", {"fp32": 67e12, "bf16": 989.4e12, "fp16": 989.4e12}, 4.8e12, 141e9,
        "NVIDIA H200 Tensor Core GPU datasheet (SXM 141 GB): FP32 67 TFLOPS, BF16 1,979 "
        "TFLOPS with sparsity (989.4 dense), HBM3e 4.8 TB/s",
        workspace_bytes=_HOPPER_WORKSPACE),
    "a100": Accelerator(
        "a100", "cuda", {"fp32": 19.5e12, "bf16": 312e12, "fp16": 312e12}, 2.039e12, 80 * GIB,
        "NVIDIA A100 Tensor Core GPU datasheet (SXM4 80 GB): FP32 19.5 TFLOPS, BF16 312 "
        "TFLOPS dense, HBM2e 2,039 GB/s", workspace_bytes=_WORKSPACE),
    "l4": Accelerator(
        "l4", "cuda", {"fp32": 30.3e12, "bf16": 121e12, "fp16": 121e12}, 300e9, 24 * GIB,
        "NVIDIA L4 Tensor Core GPU datasheet: FP32 30.3 TFLOPS, BF16 242 TFLOPS with "
        "sparsity (121 dense), GDDR6 300 GB/s, 24 GB", workspace_bytes=_WORKSPACE),
    "jetson-orin": Accelerator(
        "jetson-orin", "cuda", {"fp32": 5.3e12, "bf16": 42.5e12, "fp16": 42.5e12}, 204.8e9,
        64 * GIB,
        "NVIDIA Jetson AGX Orin 64 GB module datasheet: 2,048 CUDA cores at 1.3 GHz "
        "(5.3 TFLOPS FP32), GPU 170 sparse INT8 TOPS (42.5 dense FP16 = 170 / 2 / 2), "
        "LPDDR5 204.8 GB/s", workspace_bytes=_WORKSPACE),
    "phone-soc": Accelerator(
        "phone-soc", "soc", {"fp32": 4.6e12, "fp16": 9.2e12, "bf16": 4.6e12}, 76.8e9, 12 * GIB,
        "Qualcomm Snapdragon 8 Gen 3 (Adreno 750): Qualcomm publishes no FLOP/s; 4.6 "
        "TFLOPS FP32 is the figure in Wikipedia's Adreno table, fp16 at twice the rate; "
        "LPDDR5X at 4,800 MHz on a 64-bit bus (Qualcomm product brief) = 76.8 GB/s; "
        "12 GB, a typical flagship phone"),
    "epyc-7763": Accelerator(
        "epyc-7763", "cpu", {"fp32": 64 * 2.45e9 * 32, "bf16": 64 * 2.45e9 * 32,
                "fp16": 64 * 2.45e9 * 32},
        8 * 3200e6 * 8, 256 * GIB,
        "AMD EPYC 7763 (Zen 3, 64 cores, 2.45 GHz base): 2 x 256-bit FMA pipes = 32 FP32 "
        "FLOP per cycle per core (no native bf16: same rate); 8 channels of DDR4-3200 = "
        "204.8 GB/s; 256 GB, a typical configuration", cores=64),
}
"""Accelerator presets by name (``nodes.accelerator``)."""
