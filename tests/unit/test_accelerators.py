"""Accelerator presets, the nodes that name them, and the roofline time model."""

from __future__ import annotations

import typing
from dataclasses import dataclass
from typing import Any

import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from snakesim.config import validate_scenario
from snakesim.config.accelerators import ACCELERATORS, AcceleratorName
from snakesim.errors import ScenarioError
from snakesim.learning.costs.counting import Work
from snakesim.learning.costs.rules import GENERIC, rules_for
from snakesim.network import NodeAttrs, draw_nodes, to_info
from snakesim.network.roofline import job_seconds, phase_seconds
from snakesim.sim import World


def draw(nodes: dict[str, Any]) -> dict[str, NodeAttrs]:
    scenario = validate_scenario({
        "name": "t", "strategy": {"name": "fedavg"}, "nodes": nodes,
        "topology": {"kind": "star", "clients": 3}})
    attrs = draw_nodes(scenario.nodes, scenario.topology, World(0).rng("nodes"))
    return {a.name: a for a in attrs}


def test_every_preset_is_named_in_the_schema_and_sourced() -> None:
    assert set(typing.get_args(AcceleratorName)) == set(ACCELERATORS)
    for name, chip in ACCELERATORS.items():
        assert chip.name == name
        assert chip.source and chip.memory_bandwidth > 0 and chip.memory_bytes > 0
        assert chip.peak_flops["fp32"] > 0
        # Half formats are never slower than fp32 on these chips.
        assert chip.peak_flops["bf16"] >= chip.peak_flops["fp32"]


def test_datasheet_figures() -> None:
    h200, a100 = ACCELERATORS["h200"], ACCELERATORS["a100"]
    assert h200.peak_flops["bf16"] == pytest.approx(989.4e12)
    assert h200.memory_bandwidth == 4.8e12 and h200.memory_bytes == 141e9
    assert a100.peak_flops["fp32"] == 19.5e12
    # EPYC 7763: 64 cores x 2.45 GHz x 32 FP32 FLOP/cycle; 8 x DDR4-3200.
    epyc = ACCELERATORS["epyc-7763"]
    assert epyc.peak_flops["fp32"] == pytest.approx(5.0176e12)
    assert epyc.memory_bandwidth == pytest.approx(204.8e9)


def test_a_node_naming_a_chip_takes_its_figures() -> None:
    nodes = draw({"accelerator": "l4", "server": {"accelerator": "h100"},
                  "overrides": {"n2": {"compute": 5e9}, "n3": {"memory": "2 GB"}}})
    l4 = ACCELERATORS["l4"]
    assert nodes["n1"].accelerator == l4
    assert nodes["n1"].compute_flops_per_s == l4.flops_per_s("fp32")
    assert nodes["n1"].memory_bytes == l4.memory_bytes
    assert nodes["n2"].accelerator is None and nodes["n2"].compute_flops_per_s == 5e9
    assert nodes["n3"].memory_bytes == 2e9  # a written memory budget wins
    assert nodes["server"].accelerator == ACCELERATORS["h100"]
    assert to_info(nodes["server"]).accelerator == "h100"
    assert to_info(nodes["n2"]).accelerator == ""


def test_a_cpu_preset_scales_to_a_share_of_its_cores() -> None:
    nodes = draw({"accelerator": {"preset": "epyc-7763", "cores": 2}})
    chip = nodes["n1"].accelerator
    assert chip is not None and chip.cores == 2
    assert chip.peak_flops["fp32"] == pytest.approx(2 * 2.45e9 * 32)
    assert chip.memory_bandwidth == pytest.approx(204.8e9 / 32)


@pytest.mark.parametrize(("nodes", "message"), [
    ({"accelerator": "h100", "compute": "1 TFLOPS"}, "compute or accelerator"),
    ({"server": {"accelerator": "h100", "compute": 1e12}}, "compute or accelerator"),
    ({"accelerator": {"preset": "h100", "cores": 2}}, "not a CPU preset"),
    ({"accelerator": {"preset": "epyc-7763", "cores": 65}}, "at most 64"),
    ({"accelerator": "tpu"}, "accelerator"),
])
def test_bad_accelerator_settings_are_located_errors(nodes: dict[str, Any],
                                                    message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        draw(nodes)


def test_device_rules_follow_the_chip_kind() -> None:
    assert rules_for(None) == GENERIC
    cuda = rules_for(ACCELERATORS["h100"])
    assert cuda.dropout_mask_bytes == 1 and cuda.grouped_kv and cuda.foreach
    assert cuda.workspace_bytes == 32 * 1024**2
    cpu = rules_for(ACCELERATORS["epyc-7763"])
    assert cpu.dropout_mask_bytes is None and not cpu.foreach and cpu.fused_fp32_gqa


# ------------------------------------------------------------------------- roofline
works = st.builds(lambda f, b, s, k: Work(f, b + s, k, s),
                  st.floats(0, 1e15), st.floats(0, 1e12), st.floats(0, 1e12),
                  st.integers(0, 10_000))


@settings(max_examples=200, deadline=None)
@given(works, st.sampled_from(sorted(ACCELERATORS)), st.sampled_from(["fp32", "bf16"]))
def test_a_phase_takes_the_roofline_time(work: Work, name: str, dtype: str) -> None:
    chip = ACCELERATORS[name]
    t = phase_seconds(work, chip, dtype)
    compute = work.flops / (chip.peak_flops[dtype] * chip.matmul_efficiency)
    bandwidth = chip.memory_bandwidth * chip.bandwidth_efficiency
    memory = work.bytes / bandwidth
    overhead = work.kernels * chip.kernel_overhead_s
    # Never faster than either roof, never slower than both in sequence.
    assert t >= max(compute, memory) + overhead - 1e-12 * (1 + t)
    assert t <= compute + memory + overhead + 1e-12 * (1 + t)
    assert t == pytest.approx(max(compute, (work.bytes - work.stream_bytes) / bandwidth)
                              + work.stream_bytes / bandwidth + overhead)


@dataclass
class _Job:
    flops: float
    peak_memory_bytes: int = 0
    samples: int = 0
    dtype: str = "bf16"

    def phases(self) -> tuple[Work, ...]:
        return (Work(self.flops / 2, 1e9, 10, 1e8), Work(self.flops / 2, 2e9, 20, 0.0))

    def accepted(self) -> None:
        pass


def test_a_plain_node_keeps_flops_over_rate_and_a_chip_sums_its_phases() -> None:
    plain = NodeAttrs("n", "client", 20e9, 1e9, 1e9)
    assert job_seconds(plain, _Job(40e9), 40e9) == 2.0
    h100 = ACCELERATORS["h100"]
    gpu = NodeAttrs("g", "client", h100.flops_per_s("fp32"), 1e10, 1e10, accelerator=h100)
    job = _Job(1e13)
    assert job_seconds(gpu, job, job.flops) == pytest.approx(
        sum(phase_seconds(p, h100, "bf16") for p in job.phases()))
    # A job without phases is one compute-bound phase.
    assert job_seconds(gpu, object(), 1e12) == pytest.approx(1e12 / h100.flops_per_s("fp32"))


def test_a_chip_node_runs_a_job_for_its_roofline_time_in_the_engine() -> None:
    from snakesim.network.compute import Processors
    from snakesim.sim.ledger import Ledger

    class _Up:
        def node_up(self, name: str) -> bool:
            return True

    env = simpy.Environment()
    ledger = Ledger()
    procs = Processors(env, ledger, _Up(), "rerun", lambda *a: None)  # type: ignore[arg-type]
    chip = ACCELERATORS["a100"]
    attrs = NodeAttrs("g", "client", chip.flops_per_s("fp32"), 1e10, 1e10, accelerator=chip)
    job = _Job(1e12)
    procs.submit(attrs, job, job.flops, "train", 1)
    env.run()
    assert env.now == pytest.approx(job_seconds(attrs, job, job.flops))
    assert ledger.computes[0].flops == 1e12
