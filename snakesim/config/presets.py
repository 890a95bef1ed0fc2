"""6G technology presets: link technologies and node tiers a scenario can name.

The one place that names them: adding a technology is one entry in `LinkPreset` and one
in `LINKS` (the schema, the generators and the docs' table read them from here).

The figures are order-of-magnitude defaults for simulation, chosen from public sources
and meant to be overridden with measurements where a user has them:

- latency targets of 5G/6G access (3GPP TR 38.913: 4 ms user-plane eMBB, 1 ms URLLC;
  IMT-2030 aims at 0.1-1 ms) and typical measured user throughputs;
- mmWave (24-52 GHz) and sub-THz (100-300 GHz) links lose line of sight when blocked by
  bodies or vehicles: seconds of connectivity between sub-second outages (blockage
  studies report mean blockage durations of hundreds of ms);
- LEO constellations (e.g. Starlink, ~550 km) give 25-50 ms one-way latency to a ground
  station and a pass of minutes per satellite; a site without handover sees periodic
  visibility windows;
- node tiers: effective fp32 training throughput (not peak) of a phone-class device,
  one MEC GPU server and a cloud GPU node.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from snakesim.config.outages import ExponentialTime, OnOff, Window

# The names, once: the schema's literals (so `validate` lists them and editors complete
# them); the tables below are keyed by them, and a test holds the two equal.
LinkPreset = Literal["optical", "sub6", "mmwave", "subthz", "leo"]
NodeTier = Literal["device", "edge", "cloud"]


@dataclass(frozen=True)
class LinkTechnology:
    """Latency, bandwidth (each direction) and the outage process of a link technology."""

    latency_s: float
    bandwidth_bps: float
    outage: OnOff | Window | None = None
    note: str = ""


LINKS: dict[LinkPreset, LinkTechnology] = {
    "optical": LinkTechnology(0.5e-3, 10e9, None, "metro fibre backhaul, ~100 km, 10 Gbps"),
    "sub6": LinkTechnology(10e-3, 100e6, None, "5G sub-6 GHz access, typical user rate"),
    "mmwave": LinkTechnology(
        2e-3, 1e9,
        OnOff(up=ExponentialTime(dist="exponential", mean=20.0),
              down=ExponentialTime(dist="exponential", mean=0.5)),
        "24-52 GHz access; blockage: up ~ Exp(20 s), down ~ Exp(0.5 s)"),
    "subthz": LinkTechnology(
        1e-3, 10e9,
        OnOff(up=ExponentialTime(dist="exponential", mean=5.0),
              down=ExponentialTime(dist="exponential", mean=0.3)),
        "100-300 GHz access; blockage: up ~ Exp(5 s), down ~ Exp(0.3 s)"),
    "leo": LinkTechnology(
        35e-3, 100e6, Window(start=360.0, duration=240.0, period=600.0),
        "LEO satellite backhaul; visible 6 min of every 10 (down 360-600 s, repeating)"),
}
"""Link technologies by preset name."""


@dataclass(frozen=True)
class NodeClass:
    """Compute (effective FLOP/s for training), memory and storage of a node tier."""

    compute_flops_per_s: float
    memory_bytes: float
    storage_bytes: float
    note: str = ""


NODES: dict[NodeTier, NodeClass] = {
    "device": NodeClass(20e9, 4e9, 64e9, "phone-class SoC: ~20 GFLOPS sustained fp32"),
    "edge": NodeClass(10e12, 32e9, 2e12, "MEC server with one data-centre GPU"),
    "cloud": NodeClass(100e12, 512e9, 100e12, "cloud GPU node (several GPUs)"),
}
"""Node tiers by preset name."""
