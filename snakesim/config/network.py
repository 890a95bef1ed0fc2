"""The network sections of a scenario: links and topologies.

Quantities accept units (see `snakesim.units`); node budgets are in
`snakesim.config.node_budgets`; topologies are generated (star, line, ring, mesh,
tiered, geometric), listed (explicit) or read from a file (its schema is in
`snakesim.config.file_topology`). `snakesim.config.schema` re-exports everything here,
so ``from snakesim.config.schema import StarTopology`` keeps working.
"""

from __future__ import annotations

import itertools
import math
import operator
from typing import Annotated, Literal

from pydantic import (
    Field,
    StrictFloat,
    model_validator,
)

from snakesim.config.file_topology import FileTopology, label_attribute, relay_names
from snakesim.config.graphfile import file_nodes, read_graph
from snakesim.config.node_budgets import AcceleratorChoice
from snakesim.config.presets import LinkPreset, NodeTier
from snakesim.config.quantities import (
    BitsPerSecond,
    Bytes,
    Joules,
    NonNegSeconds,
    OutageSeconds,
)
from snakesim.config.strategies import Frozen

# --------------------------------------------------------------------------- links
LossRate = Annotated[float, Field(ge=0, lt=1)]
"""A fraction of bits lost, in [0, 1): the goodput is ``bandwidth * (1 - loss)``."""


class LinkValues(Frozen):
    """Latency, bandwidth and the other link-model values of the link between two nodes.

    With ``between: [a, b]``, ``bandwidth`` is a -> b and ``reverse_bandwidth`` b -> a
    (without it both ways get ``bandwidth``). ``trace`` names a CSV file (``time,
    bandwidth`` rows, read when the run starts) that sets the bandwidth over time, both
    ways, a -> b only (``forward``) or b -> a only (``reverse``); ``trace_repeat`` loops
    it. ``loss`` is a fixed goodput reduction (not a TCP model).
    """

    between: Annotated[tuple[str, str], Field(strict=False)]  # YAML gives a list
    latency: NonNegSeconds | None = None
    bandwidth: BitsPerSecond | None = None
    reverse_bandwidth: BitsPerSecond | None = None
    energy_per_bit: Joules | None = None
    loss: LossRate | None = None
    trace: str | None = Field(default=None, min_length=1)
    trace_direction: Literal["both", "forward", "reverse"] = "both"
    trace_repeat: bool = False


class LinksSpec(Frozen):
    """Link defaults; each link is full duplex and each direction has this bandwidth.

    ``loss`` (default 0) is the fraction of bits lost on every link: each direction
    carries ``bandwidth * (1 - loss)`` of goodput.
    """

    latency: NonNegSeconds = 5e-3
    bandwidth: BitsPerSecond = 100e6
    energy_per_bit: Joules = 0.0
    loss: LossRate = 0.0
    overrides: list[LinkValues] = Field(default_factory=list)


# ------------------------------------------------------------------- transport
class TcpSpec(Frozen):
    """TCP parameters of the ``flow`` network model (see `snakesim.network.tcp`).

    ``buffer`` is the largest window (the smaller socket buffer): Linux's autotuning
    maximum for sending, 4 MiB, by default; ``128 KiB`` mimics fixed default buffers.
    """

    mss: int = Field(default=1448, ge=64, le=65_495)
    header_bytes: int = Field(default=54, ge=0, le=1000)
    initial_window: int = Field(default=10, ge=1, le=10_000)
    buffer: Bytes = 4 * 2**20
    slow_start_restart: bool = True
    rto_min: OutageSeconds = 0.2


class NetworkSpec(Frozen):
    """How transfers use the links.

    ``model``: ``store_and_forward`` (every hop receives the whole payload before it
    sends it on; shares are per link direction) or ``flow`` (one flow per transfer along
    its whole route, max-min fair over every link it crosses; routers pipeline).
    ``transport`` (flow model): ``tcp`` (handshake, headers, slow start, window bound)
    or ``fluid`` (latency + bits / share). ``sharing``: ``max_min`` or ``rtt_weighted``
    (shares in proportion to 1 / RTT, as SimGrid's flow-level TCP models).
    """

    model: Literal["store_and_forward", "flow"] = "flow"
    transport: Literal["tcp", "fluid"] = "tcp"
    sharing: Literal["max_min", "rtt_weighted"] = "rtt_weighted"
    tcp: TcpSpec = TcpSpec()


# ------------------------------------------------------------------------ topology
NodeCount = Annotated[int, Field(ge=1)]


class StarTopology(Frozen):
    """A server in the middle, each client linked to it only."""

    kind: Literal["star"]
    clients: NodeCount | list[str] = 6
    server: str = "server"


class LineTopology(Frozen):
    """Nodes in a chain; ``server`` may name one of them."""

    kind: Literal["line"]
    nodes: Annotated[int, Field(ge=2)] | list[str] = 6
    server: str | None = None


class RingTopology(Frozen):
    """Nodes in a cycle; ``server`` may name one of them."""

    kind: Literal["ring"]
    nodes: Annotated[int, Field(ge=3)] | list[str] = 6
    server: str | None = None


class MeshTopology(Frozen):
    """Every pair of nodes linked; ``server`` may name one of them."""

    kind: Literal["mesh"]
    nodes: Annotated[int, Field(ge=2)] | list[str] = 6
    server: str | None = None


class ExplicitTopology(Frozen):
    """Nodes and edges listed by name; edges may carry their own latency/bandwidth."""

    kind: Literal["explicit"]
    nodes: list[str] = Field(min_length=1)
    edges: list[LinkValues] = Field(default_factory=list)
    server: str | None = None


class GeometricTopology(Frozen):
    """A random geometric graph: nodes placed uniformly in an area, linked within a radius.

    Positions are drawn from the run's ``topology`` stream (the same seed gives the same
    graph); a link's latency is ``links.latency`` plus distance over
    ``propagation_speed``. Draws are repeated until the graph is connected.
    """

    kind: Literal["geometric"]
    nodes: Annotated[int, Field(ge=2, le=100_000)] | list[str] = 20
    area: Annotated[tuple[StrictFloat, StrictFloat], Field(strict=False)] = (1000.0, 1000.0)
    radius: float = Field(default=300.0, gt=0, le=1e9)
    propagation_speed: float = Field(default=2e8, ge=1, le=3e8)
    server: str | None = None

    @model_validator(mode="after")
    def _positive_area(self) -> GeometricTopology:
        if min(self.area) <= 0 or max(self.area) > 1e9:
            raise ValueError("area: both sides must be > 0 and at most 1e9 (metres)")
        return self


class Tier(Frozen):
    """One tier of a tiered topology (see `TieredTopology`)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z_-]*$", max_length=30)
    count: int = Field(ge=1, le=100_000)
    node: NodeTier | None = None
    accelerator: AcceleratorChoice | None = None
    link: LinkPreset | None = None
    latency: NonNegSeconds | None = None
    bandwidth: BitsPerSecond | None = None
    links: dict[str, LinkPreset] = Field(
        default_factory=dict)


class TieredTopology(Frozen):
    """A tree of tiers, top first: e.g. cloud - edge servers - base stations - devices.

    The top tier has ``count`` nodes; every other tier has ``count`` nodes under each
    node of the tier above, linked to it by the tier's ``link`` technology (a preset;
    ``latency``/``bandwidth`` override it; ``links`` names exceptions by child node).
    Nodes are named ``<tier name><i>`` (1-based, across the tier). The bottom tier's
    nodes are the clients (the learners); the server is ``server`` (default: the first
    top-tier node); the nodes in between only relay. ``node`` names a node-tier preset
    for a tier's budgets.
    """

    kind: Literal["tiered"]
    tiers: list[Tier] = Field(min_length=2)
    server: str | None = None

    @model_validator(mode="after")
    def _default_server(self) -> TieredTopology:
        if self.server is None:
            object.__setattr__(self, "server", f"{self.tiers[0].name}1")
        return self


Topology = Annotated[
    StarTopology | LineTopology | RingTopology | MeshTopology | ExplicitTopology
    | TieredTopology | GeometricTopology | FileTopology,
    Field(discriminator="kind"),
]


def tier_names(topology: TieredTopology) -> list[list[str]]:
    """The node names of each tier of a tiered topology, top first."""
    names, width = [], 1
    for tier in topology.tiers:
        width *= tier.count
        names.append([f"{tier.name}{i + 1}" for i in range(width)])
    return names


def size_of(topology: Topology) -> tuple[int, float]:
    """``(nodes, links)`` of a topology, computed without building it.

    A geometric graph's links are its expected count (pairs within the radius); a
    file's come from reading the file (bounded by `snakesim.config.limits`).
    """
    if isinstance(topology, TieredTopology):
        widths = itertools.accumulate((t.count for t in topology.tiers), operator.mul)
        nodes = sum(widths)
        return nodes, nodes - topology.tiers[0].count
    if isinstance(topology, FileTopology):
        graph = read_graph(topology.path, topology.format)
        return graph.number_of_nodes(), graph.number_of_edges()
    if isinstance(topology, StarTopology):
        clients = topology.clients
        n = clients if isinstance(clients, int) else len(clients)
        return n + 1, n
    if isinstance(topology, ExplicitTopology):
        return len(topology.nodes), len(topology.edges)
    count = topology.nodes
    n = count if isinstance(count, int) else len(count)
    pairs = n * (n - 1) / 2
    if isinstance(topology, GeometricTopology):
        width, height = topology.area
        return n, pairs * min(1.0, math.pi * topology.radius**2 / (width * height))
    links = {"line": n - 1, "ring": n, "mesh": pairs}[topology.kind]
    return n, links


def node_names(topology: Topology) -> list[str]:
    """All node names in topology order (a star lists its clients, then the server)."""
    if isinstance(topology, TieredTopology):
        return [name for tier in tier_names(topology) for name in tier]
    if isinstance(topology, FileTopology):
        return file_nodes(topology.path, topology.format, label_attribute(topology))
    if isinstance(topology, StarTopology):
        clients = topology.clients
        names = [f"n{i + 1}" for i in range(clients)] if isinstance(clients, int) else clients
        return [*names, topology.server]
    count = topology.nodes
    return [f"n{i + 1}" for i in range(count)] if isinstance(count, int) else list(count)


def client_names(topology: Topology) -> list[str]:
    """The learning nodes: every node except the server and relays (a tiered topology's
    middle tiers, a file's ``relays``)."""
    if isinstance(topology, TieredTopology):
        return [n for n in tier_names(topology)[-1] if n != topology.server]
    if isinstance(topology, FileTopology):
        relays = set(relay_names(topology))
        return [n for n in node_names(topology) if n != topology.server and n not in relays]
    return [n for n in node_names(topology) if n != topology.server]
