"""The network layer: topology graphs, link channels, node budgets and the fabric.

Strategies see only `Fabric` (and `ComputeJob`, the shape of what they ask it to run);
the rest is how a scenario becomes a fabric.
"""

from snakesim.network.compute import ComputeJob
from snakesim.network.fabric import Fabric, build_fabric
from snakesim.network.links import Channel
from snakesim.network.nodes import NodeAttrs, draw_nodes, to_info
from snakesim.network.topology import build_graph

__all__ = [
    "Channel",
    "ComputeJob",
    "Fabric",
    "NodeAttrs",
    "build_fabric",
    "build_graph",
    "draw_nodes",
    "to_info",
]
