"""Node budgets: each node's role, compute rate (FLOP/s), memory and storage (bytes).

This module owns turning a scenario's `NodesSpec` (plain values or distributions) into
one concrete `NodeAttrs` per node, drawn from the run's ``nodes`` RNG stream in a fixed
order so that the same seed always gives the same nodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from snakesim.config.accelerators import Accelerator
from snakesim.config.node_budgets import AcceleratorChoice, resolve_accelerator
from snakesim.config.presets import NODES
from snakesim.config.schema import (
    Fixed,
    Listed,
    LogNormal,
    NodesSpec,
    NodeValues,
    Spread,
    TieredTopology,
    Topology,
    Uniform,
    client_names,
    node_names,
    tier_names,
)
from snakesim.errors import ConfigurationError
from snakesim.records import NodeInfo

Role = Literal["server", "client", "relay"]

_ATTRS = ("compute", "memory", "storage")
"""Spec attribute names, in the order they are drawn."""
_ENERGY = ("energy_per_flop", "idle_power")
"""Energy attributes: plain values, never drawn (so they never shift the draws above)."""


@dataclass(frozen=True, slots=True)
class NodeAttrs:
    """The budgets of one node, as drawn for a run.

    Parameters
    ----------
    name
        Node name, as in the topology.
    role
        ``"server"`` for the topology's server node, ``"client"`` for every other node.
    compute_flops_per_s
        Compute rate; a job of ``f`` FLOPs holds the node for ``f / rate`` seconds.
    memory_bytes
        Memory budget in bytes.
    storage_bytes
        Storage budget in bytes.
    energy_per_flop_j
        Energy per FLOP computed, in joules.
    idle_power_w
        Power drawn while not computing, in watts.
    accelerator
        The node's chip, if the scenario names one: compute time then follows the
        roofline model (`snakesim.network.roofline`) and ``compute_flops_per_s`` is the
        chip's sustained fp32 matmul rate (what route planners compare).
    """

    name: str
    role: Role
    compute_flops_per_s: float
    memory_bytes: float
    storage_bytes: float
    energy_per_flop_j: float = 0.0
    idle_power_w: float = 0.0
    accelerator: Accelerator | None = None


def draw_nodes(scenario_nodes: NodesSpec, topology: Topology,
               rng: np.random.Generator) -> list[NodeAttrs]:
    """Draw every node's budgets.

    Clients take the spreads of ``scenario_nodes``: a plain value is the same for all,
    ``Fixed`` gives its value, ``Uniform`` draws ``rng.uniform(low, high)``,
    ``LogNormal`` draws ``median * exp(sigma * rng.standard_normal())`` and ``Listed``
    gives ``values[i]`` to the i-th client. Draws happen for compute (all clients), then
    memory, then storage. The server takes ``scenario_nodes.server``; a field left
    ``None`` there follows the client rule (one extra draw, made after all client
    draws). Finally ``overrides[name]`` replaces the fields it sets.

    Parameters
    ----------
    scenario_nodes
        The scenario's ``nodes`` section.
    topology
        The scenario's topology (node names, order and server).
    rng
        The run's ``nodes`` stream, e.g. ``world.rng("nodes")``.

    Returns
    -------
    list[NodeAttrs]
        One entry per node, in `snakesim.config.schema.node_names` order.

    Raises
    ------
    ConfigurationError
        If an override names an unknown node, a ``Listed`` spread does not have one
        value per client, or the server needs a value from a ``Listed`` spread.
    """
    names = node_names(topology)
    clients = client_names(topology)
    server = topology.server if topology.server in names else None
    drawn = {attr: _draw(attr, getattr(scenario_nodes, attr), len(clients), rng)
             for attr in _ATTRS}
    values: dict[str, dict[str, float]] = {
        name: {attr: drawn[attr][i] for attr in _ATTRS} for i, name in enumerate(clients)}
    if server is not None:
        values[server] = _server_values(scenario_nodes, rng)
    for name in names:
        # A relay (a tiered topology's middle tiers, a file's relays) only forwards: it
        # takes the server's written budgets, else 0; a tier preset may replace them.
        if name not in values:
            values[name] = {attr: float(getattr(scenario_nodes.server, attr) or 0.0)
                            for attr in _ATTRS}
    for name in values:  # energy is not drawn: plain values, server and overrides aside
        own = scenario_nodes.server if name == server else None
        for attr in _ENERGY:
            value = getattr(own, attr) if own is not None else None
            values[name][attr] = float(getattr(scenario_nodes, attr) if value is None
                                       else value)
    for name in scenario_nodes.overrides:
        if name not in names:
            raise ConfigurationError(f"nodes.overrides.{name}: unknown node (got {name})")
    _tiers(scenario_nodes, topology, values)
    for name, override in scenario_nodes.overrides.items():
        values[name].update(_set_fields(override))
    chips = _accelerators(scenario_nodes, topology, values, server, clients)
    learners = set(clients)
    return [NodeAttrs(name=name, role="server" if name == server
                      else "client" if name in learners else "relay",
                      compute_flops_per_s=values[name]["compute"],
                      memory_bytes=values[name]["memory"],
                      storage_bytes=values[name]["storage"],
                      energy_per_flop_j=values[name]["energy_per_flop"],
                      idle_power_w=values[name]["idle_power"],
                      accelerator=chips.get(name)) for name in names]


def to_info(attrs: NodeAttrs) -> NodeInfo:
    """The result-table row of a node (see `snakesim.records.NodeInfo`)."""
    return NodeInfo(node=attrs.name, role=attrs.role,
                    compute_flops_per_s=attrs.compute_flops_per_s,
                    memory_bytes=attrs.memory_bytes, storage_bytes=attrs.storage_bytes,
                    energy_per_flop_j=attrs.energy_per_flop_j, idle_power_w=attrs.idle_power_w,
                    accelerator=attrs.accelerator.name if attrs.accelerator else "")


def _draw(attr: str, spread: Spread, count: int, rng: np.random.Generator) -> list[float]:
    """``count`` values of one attribute; vectorised draws equal ``count`` scalar ones."""
    if isinstance(spread, Listed):
        if len(spread.values) != count:
            raise ConfigurationError(
                f"nodes.{attr}.values: needs one value per client node ({count}) "
                f"(got {len(spread.values)})")
        return [float(v) for v in spread.values]
    if isinstance(spread, Uniform):
        return [float(v) for v in rng.uniform(spread.low, spread.high, size=count)]
    if isinstance(spread, LogNormal):
        normal = rng.standard_normal(size=count)
        return [float(v) for v in spread.median * np.exp(spread.sigma * normal)]
    value = float(spread.value) if isinstance(spread, Fixed) else float(spread)
    return [value] * count


def _server_values(spec: NodesSpec, rng: np.random.Generator) -> dict[str, float]:
    """The server's fields; a ``None`` field follows the client rule with one draw."""
    values: dict[str, float] = {}
    for attr in _ATTRS:
        own = getattr(spec.server, attr)
        if own is not None:
            values[attr] = float(own)
            continue
        spread = getattr(spec, attr)
        if isinstance(spread, Listed):
            # A per-client list has no entry for the server, and guessing one (first,
            # mean) would hide a budget the user never wrote.
            raise ConfigurationError(
                f"nodes.server.{attr}: nodes.{attr} lists one value per client, so the "
                f"server needs its own value (got none)")
        values[attr] = _draw(attr, spread, 1, rng)[0]
    return values


def _set_fields(values: NodeValues) -> dict[str, float]:
    return {attr: float(v) for attr in (*_ATTRS, *_ENERGY)
            if (v := getattr(values, attr)) is not None}


def _tiers(spec: NodesSpec, topology: Topology, values: dict[str, dict[str, float]]) -> None:
    """Budgets from a tiered topology's node presets (before per-node overrides).

    Relays take their tier's preset, or keep the server's values without one. Clients take
    their tier's preset for every attribute the scenario's ``nodes`` section leaves at
    its default (an attribute written there applies to all clients as usual); the server
    takes its tier's preset unless ``nodes.server`` is written.
    """
    if not isinstance(topology, TieredTopology):
        return
    written = spec.model_fields_set
    bottom = topology.tiers[-1]
    for tier, names in zip(topology.tiers, tier_names(topology), strict=True):
        preset = NODES[tier.node] if tier.node is not None else None
        for name in names:
            if preset is None or (name == topology.server and "server" in written):
                continue
            for attr, value in (("compute", preset.compute_flops_per_s),
                                ("memory", preset.memory_bytes),
                                ("storage", preset.storage_bytes)):
                if not (tier is bottom and attr in written):
                    values[name][attr] = value


def _accelerators(spec: NodesSpec, topology: Topology, values: dict[str, dict[str, float]],
                  server: str | None, clients: list[str]) -> dict[str, Accelerator]:
    """The chip of every node that has one, setting its compute and memory values.

    Precedence, lowest first: a tiered topology's tier, then ``nodes.accelerator``
    (clients) or ``nodes.server.accelerator``, then an override; an override's own
    ``compute`` makes the node a plain one again. A node's memory is its chip's unless
    the scenario gives that node a memory value.
    """
    chosen: dict[str, AcceleratorChoice] = {}
    if isinstance(topology, TieredTopology):
        for tier, names in zip(topology.tiers, tier_names(topology), strict=True):
            if tier.accelerator is not None:
                chosen.update(dict.fromkeys(names, tier.accelerator))
    own_memory: set[str] = set()
    if spec.accelerator is not None:
        chosen.update(dict.fromkeys(clients, spec.accelerator))
    if "memory" in spec.model_fields_set:
        own_memory.update(clients)
    if server is not None:
        if spec.server.accelerator is not None:
            chosen[server] = spec.server.accelerator
        if "server" in spec.model_fields_set and spec.server.memory is not None:
            own_memory.add(server)
    for name, override in spec.overrides.items():
        if override.accelerator is not None:
            chosen[name] = override.accelerator
        elif override.compute is not None:
            chosen.pop(name, None)
        if override.memory is not None:
            own_memory.add(name)
    chips = {name: resolve_accelerator(choice) for name, choice in chosen.items()}
    for name, chip in chips.items():
        values[name]["compute"] = chip.flops_per_s("fp32")
        if name not in own_memory:
            values[name]["memory"] = chip.memory_bytes
    return chips
