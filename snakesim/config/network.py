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
    """The link's two nodes ``[a, b]`` (an explicit edge creates the link; an override must
    name an existing one); the order sets the direction of ``bandwidth``,
    ``reverse_bandwidth`` and ``trace_direction``."""
    latency: NonNegSeconds | None = None
    """One-way latency of the link (each direction). null: the link keeps its value (from
    ``links.latency``, the topology kind or the file)."""
    bandwidth: BitsPerSecond | None = None
    """Bandwidth a -> b, and b -> a too unless ``reverse_bandwidth`` is given. null: the link
    keeps its value."""
    reverse_bandwidth: BitsPerSecond | None = None
    """Bandwidth b -> a. null: the same as a -> b."""
    energy_per_bit: Joules | None = None
    """Energy per bit this link carries, each direction and hop. null: the link keeps its
    value (``links.energy_per_bit`` unless an explicit edge set one)."""
    loss: LossRate | None = None
    """Fraction of bits lost, in [0, 1): each direction carries ``bandwidth x (1 - loss)`` of
    goodput (no TCP loss model). null: the link keeps its value (``links.loss`` unless an
    explicit edge set one)."""
    trace: str | None = Field(default=None, min_length=1)
    """A CSV file (``time,bandwidth`` header, one row per change; path relative to the working
    directory, read when the run starts) whose bandwidths replace the link's from each row's
    time on. null: no trace."""
    trace_direction: Literal["both", "forward", "reverse"] = "both"
    """Which way the trace drives: ``both``, ``forward`` (a -> b only) or ``reverse`` (b -> a
    only)."""
    trace_repeat: bool = False
    """Loop the trace: its first row must be at 0 and the last row's time is the period after
    which it starts over; false holds the last row's bandwidth."""


class LinksSpec(Frozen):
    """Link defaults; each link is full duplex and each direction has this bandwidth.

    ``loss`` (default 0) is the fraction of bits lost on every link: each direction
    carries ``bandwidth * (1 - loss)`` of goodput.
    """

    latency: NonNegSeconds = 5e-3
    """One-way latency of every link, unless its topology, a tier or an override sets one."""
    bandwidth: BitsPerSecond = 100e6
    """Bandwidth of every link, each direction (links are full duplex), unless its topology, a
    tier or an override sets one."""
    energy_per_bit: Joules = 0.0
    """Energy per bit carried, per link direction and hop (e.g. ``10 nJ``); 0: links cost no
    energy."""
    loss: LossRate = 0.0
    """Fraction of bits lost on every link, in [0, 1): each direction carries
    ``bandwidth x (1 - loss)`` of goodput; 0: no loss."""
    overrides: list[LinkValues] = Field(default_factory=list)
    """Values for single existing links, by ``between: [a, b]``; each key given wins over the
    topology and the defaults, null keys keep them."""


# ------------------------------------------------------------------- transport
class TcpSpec(Frozen):
    """TCP parameters of the ``flow`` network model (see `snakesim.network.tcp`).

    ``buffer`` is the largest window (the smaller socket buffer): Linux's autotuning
    maximum for sending, 4 MiB, by default; ``128 KiB`` mimics fixed default buffers.
    """

    mss: int = Field(default=1448, ge=64, le=65_495)
    """Payload bytes per TCP segment, 64 to 65,495 (1448: a 1,500-byte MTU less IPv4, TCP and
    timestamp headers)."""
    header_bytes: int = Field(default=54, ge=0, le=1000)
    """Bytes on the wire per segment besides its payload, 0 to 1000 (54: IPv4 20, TCP with
    timestamps 32, a 2-byte link header)."""
    initial_window: int = Field(default=10, ge=1, le=10_000)
    """Initial congestion window in segments, 1 to 10,000 (10: RFC 6928, Linux's default); it
    doubles every round trip in slow start."""
    buffer: Bytes = 4 * 2**20
    """The largest window (the smaller socket buffer): a flow never exceeds ``buffer / RTT``; 4
    MiB is Linux's autotuning maximum for sending, ``128 KiB`` mimics fixed default buffers."""
    slow_start_restart: bool = True
    """A direction idle for longer than its retransmission timeout starts again from the
    initial window (Linux's default); false keeps its window."""
    rto_min: OutageSeconds = 0.2
    """The smallest retransmission timeout (Linux: 200 ms), at least 1 ms; it decides when an
    idle direction restarts slow start."""


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
    """``flow`` (default): one flow per transfer along its whole route, its rate its share of
    every link it crosses, routers pipelining (checked against ns-3); ``store_and_forward``:
    every hop receives the whole payload before sending it on, sharing per link direction."""
    transport: Literal["tcp", "fluid"] = "tcp"
    """Flow model only: ``tcp`` (handshake, headers, slow start, window bound; see ``tcp``) or
    ``fluid`` (latency + bits / share, no TCP effects)."""
    sharing: Literal["max_min", "rtt_weighted"] = "rtt_weighted"
    """Flow model only: how flows share a bottleneck: ``rtt_weighted`` (in proportion to 1 /
    RTT, as SimGrid's TCP models) or ``max_min`` (equal shares, max-min fair)."""
    tcp: TcpSpec = TcpSpec()
    """TCP parameters of the flow model with ``transport: tcp``."""


# ------------------------------------------------------------------------ topology
NodeCount = Annotated[int, Field(ge=1)]


class StarTopology(Frozen):
    """A server in the middle, each client linked to it only."""

    kind: Literal["star"]
    """``star``: a server in the middle, each client linked to it only."""
    clients: NodeCount | list[str] = 6
    """Number of clients (>= 1; named ``n1, n2, ...``) or their names."""
    server: str = "server"
    """Name of the central node (not a learner)."""


class LineTopology(Frozen):
    """Nodes in a chain; ``server`` may name one of them."""

    kind: Literal["line"]
    """``line``: the nodes in a chain, in order."""
    nodes: Annotated[int, Field(ge=2)] | list[str] = 6
    """Number of nodes (>= 2; named ``n1, n2, ...``) or their names, in chain order."""
    server: str | None = None
    """A node of the chain that acts as the server (not a learner). null: none."""


class RingTopology(Frozen):
    """Nodes in a cycle; ``server`` may name one of them."""

    kind: Literal["ring"]
    """``ring``: the nodes in a cycle, in order."""
    nodes: Annotated[int, Field(ge=3)] | list[str] = 6
    """Number of nodes (>= 3; named ``n1, n2, ...``) or their names, in ring order."""
    server: str | None = None
    """A node of the ring that acts as the server (not a learner). null: none."""


class MeshTopology(Frozen):
    """Every pair of nodes linked; ``server`` may name one of them."""

    kind: Literal["mesh"]
    """``mesh``: every pair of nodes linked directly."""
    nodes: Annotated[int, Field(ge=2)] | list[str] = 6
    """Number of nodes (>= 2; named ``n1, n2, ...``) or their names."""
    server: str | None = None
    """A node that acts as the server (not a learner). null: none."""


class ExplicitTopology(Frozen):
    """Nodes and edges listed by name; edges may carry their own latency/bandwidth."""

    kind: Literal["explicit"]
    """``explicit``: nodes and links listed by name."""
    nodes: list[str] = Field(min_length=1)
    """Every node's name (at least one), in topology order."""
    edges: list[LinkValues] = Field(default_factory=list)
    """The links, each ``between: [a, b]`` with optional values of its own (as in
    ``links.overrides``); every node must be reachable and a pair may be listed once."""
    server: str | None = None
    """A node that acts as the server (not a learner). null: none."""


class GeometricTopology(Frozen):
    """A random geometric graph: nodes placed uniformly in an area, linked within a radius.

    Positions are drawn from the run's ``topology`` stream (the same seed gives the same
    graph); a link's latency is ``links.latency`` plus distance over
    ``propagation_speed``. Draws are repeated until the graph is connected.
    """

    kind: Literal["geometric"]
    """``geometric``: a random geometric graph, redrawn (up to 100 times) until connected."""
    nodes: Annotated[int, Field(ge=2, le=100_000)] | list[str] = 20
    """Number of nodes (2 to 100,000; named ``n1, n2, ...``) or their names."""
    area: Annotated[tuple[StrictFloat, StrictFloat], Field(strict=False)] = (1000.0, 1000.0)
    """Width and height of the area, in metres (each > 0 and at most 1e9); node positions are
    uniform in it, drawn from the run's ``topology`` stream."""
    radius: float = Field(default=300.0, gt=0, le=1e9)
    """Nodes within this distance, in metres, are linked; in (0, 1e9]."""
    propagation_speed: float = Field(default=2e8, ge=1, le=3e8)
    """Signal speed in m/s (a plain number, 1 to 3e8; 2e8: light in fibre); a link's latency is
    ``links.latency`` plus its length over this speed."""
    server: str | None = None
    """A node that acts as the server (not a learner). null: none."""

    @model_validator(mode="after")
    def _positive_area(self) -> GeometricTopology:
        if min(self.area) <= 0 or max(self.area) > 1e9:
            raise ValueError("area: both sides must be > 0 and at most 1e9 (metres)")
        return self


class Tier(Frozen):
    """One tier of a tiered topology (see `TieredTopology`)."""

    name: str = Field(pattern=r"^[A-Za-z][A-Za-z_-]*$", max_length=30)
    """The tier's name (letters, ``_`` and ``-``, starting with a letter, at most 30
    characters); its nodes are ``<name>1, <name>2, ...`` across the tier."""
    count: int = Field(ge=1, le=100_000)
    """Nodes of the top tier; for every other tier, nodes under each node of the tier above (1
    to 100,000)."""
    node: NodeTier | None = None
    """Node-tier preset for the compute, memory and storage of this tier's nodes: ``device``
    (20 GFLOPS, 4 GB, 64 GB), ``edge`` (10 TFLOPS, 32 GB, 2 TB) or ``cloud`` (100 TFLOPS,
    512 GB, 100 TB); a client attribute written in ``nodes``, or a written ``nodes.server``,
    wins. null: the ``nodes`` values (relays: the server's written values, else 0)."""
    accelerator: AcceleratorChoice | None = None
    """Chip of this tier's nodes (a preset name or ``{preset, cores}``; see
    ``nodes.accelerator``); ``nodes`` and its overrides win over it. null: none."""
    link: LinkPreset | None = None
    """Link technology from each node of this tier to its parent: ``optical``, ``sub6``,
    ``mmwave``, ``subthz`` or ``leo`` (latency, bandwidth and, for mmwave, subthz and leo,
    an outage process). null: the ``links`` defaults. Ignored on the top tier."""
    latency: NonNegSeconds | None = None
    """One-way latency of this tier's uplinks, over the preset's. null: the preset's, else
    ``links.latency``."""
    bandwidth: BitsPerSecond | None = None
    """Bandwidth of this tier's uplinks (each way), over the preset's. null: the preset's, else
    ``links.bandwidth``."""
    links: dict[str, LinkPreset] = Field(
        default_factory=dict)
    """Exceptions by child node: ``{node name: link preset}`` for single nodes of this tier
    (e.g. ``{bs4: leo}``)."""


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
    """``tiered``: a tree of tiers, top first (e.g. cloud, edge servers, base stations,
    devices); the bottom tier's nodes are the clients, those in between only relay."""
    tiers: list[Tier] = Field(min_length=2)
    """The tiers, top first (at least two)."""
    server: str | None = None
    """The server node. null: the first top-tier node (``<top tier name>1``)."""

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
