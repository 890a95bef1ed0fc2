"""The scenario schema: frozen pydantic models, unknown keys rejected.

A scenario says what to train (data, model, training), on which network (topology,
nodes, links) and how (strategy). Quantities accept units (see `snakesim.units`).
Cross-references between sections (node names in overrides, routes, servers) are
checked by `snakesim.config.checks`, which reports them with key paths.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import (
    BaseModel,
    Discriminator,
    Field,
    Tag,
    model_validator,
)

from snakesim.config.quantities import BitsPerSecond, Bytes, FlopsPerSecond, NonNegSeconds
from snakesim.config.strategies import Frozen, Strategy

T = TypeVar("T", float, int)


# --------------------------------------------------------------------------- nodes
class Fixed(Frozen, Generic[T]):
    """The same value for every node."""

    dist: Literal["fixed"]
    value: T


class Uniform(Frozen, Generic[T]):
    """Values drawn uniformly in ``[low, high]`` from the run's ``nodes`` RNG stream."""

    dist: Literal["uniform"]
    low: T
    high: T

    @model_validator(mode="after")
    def _ordered(self) -> Uniform[T]:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self


class LogNormal(Frozen, Generic[T]):
    """Values ``median * exp(sigma * N(0, 1))`` drawn from the ``nodes`` RNG stream."""

    dist: Literal["lognormal"]
    median: T
    sigma: float = Field(ge=0)


class Listed(Frozen, Generic[T]):
    """One value per client node, in topology order."""

    dist: Literal["list"]
    values: list[T] = Field(min_length=1)


def _spread_kind(value: object) -> str:
    # A mapping is a distribution; anything else must be a quantity. Deciding up front
    # keeps errors to the branch the user meant instead of one per union member.
    return "<spread>" if isinstance(value, (dict, BaseModel)) else "<quantity>"


def _spread(quantity: type) -> object:
    """A node attribute: a plain quantity or one of the distributions above."""
    dists = Annotated[
        Fixed[quantity] | Uniform[quantity] | LogNormal[quantity] | Listed[quantity],  # type: ignore[valid-type]
        Field(discriminator="dist"),
    ]
    return Annotated[
        Annotated[quantity, Tag("<quantity>")] | Annotated[dists, Tag("<spread>")],
        Discriminator(_spread_kind),
    ]


ComputeSpread = _spread(FlopsPerSecond)
SizeSpread = _spread(Bytes)

Spread = float | Fixed[float] | Uniform[float] | LogNormal[float] | Listed[float]
"""What a node attribute resolves to after validation (quantities are floats)."""


class NodeValues(Frozen):
    """Fixed attribute values for one node (the server, or a per-node override)."""

    compute: FlopsPerSecond | None = None
    memory: Bytes | None = None
    storage: Bytes | None = None


class NodesSpec(Frozen):
    """Compute (FLOP/s), memory and storage budgets of the nodes.

    The three attributes apply to every client node (a non-server node): a quantity
    (same for all), or a distribution drawn per node from the run seed. The server, if
    the topology has one, takes ``server``. ``overrides`` then set single nodes by name.
    """

    compute: ComputeSpread = 10e9  # type: ignore[valid-type]
    memory: SizeSpread = 4e9  # type: ignore[valid-type]
    storage: SizeSpread = 32e9  # type: ignore[valid-type]
    server: NodeValues = NodeValues(compute=1e12, memory=64e9, storage=1e12)
    overrides: dict[str, NodeValues] = Field(default_factory=dict)


# --------------------------------------------------------------------------- links
class LinkValues(Frozen):
    """Latency and bandwidth of the link between two named nodes."""

    between: tuple[str, str]
    latency: NonNegSeconds | None = None
    bandwidth: BitsPerSecond | None = None


class LinksSpec(Frozen):
    """Link defaults; each link is full duplex and each direction has this bandwidth."""

    latency: NonNegSeconds = 5e-3
    bandwidth: BitsPerSecond = 100e6
    overrides: list[LinkValues] = Field(default_factory=list)


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


Topology = Annotated[
    StarTopology | LineTopology | RingTopology | MeshTopology | ExplicitTopology,
    Field(discriminator="kind"),
]


def node_names(topology: Topology) -> list[str]:
    """All node names in topology order (a star lists its clients, then the server)."""
    if isinstance(topology, StarTopology):
        clients = topology.clients
        names = [f"n{i + 1}" for i in range(clients)] if isinstance(clients, int) else clients
        return [*names, topology.server]
    count = topology.nodes
    return [f"n{i + 1}" for i in range(count)] if isinstance(count, int) else list(count)


def client_names(topology: Topology) -> list[str]:
    """The learning nodes: every node except the server, in topology order."""
    return [n for n in node_names(topology) if n != topology.server]


# ---------------------------------------------------------------------------- data
class IIDPartition(Frozen):
    """Shuffle the training set and deal it out in equal shares."""

    kind: Literal["iid"]


class DirichletPartition(Frozen):
    """Per class, split its samples among nodes by proportions ~ Dirichlet(alpha)."""

    kind: Literal["dirichlet"]
    alpha: float = Field(gt=0)
    min_samples: int = Field(default=10, ge=1)


Partition = Annotated[IIDPartition | DirichletPartition, Field(discriminator="kind")]


class DataSpec(Frozen):
    """The data set, its train/test split and how training data is spread over nodes."""

    dataset: Literal["digits"] = "digits"
    test_fraction: float = Field(default=0.25, gt=0, lt=1)
    split_seed: int = Field(default=0, ge=0)
    partition: Partition = IIDPartition(kind="iid")


class ModelSpec(Frozen):
    """Which model to train; its layer groups are the unit of Snake Learning's slices."""

    name: Literal["digits_cnn"] = "digits_cnn"
    width: int = Field(default=16, ge=1, le=512)


class TrainingSpec(Frozen):
    """Local training settings shared by all strategies."""

    optimizer: Literal["sgd", "adam"] = "sgd"
    lr: float = Field(default=0.05, gt=0)
    momentum: float = Field(default=0.9, ge=0, lt=1)
    weight_decay: float = Field(default=0.0, ge=0)
    batch_size: int = Field(default=32, ge=1)
    local_epochs: int = Field(default=1, ge=1)
    rounds: int = Field(default=10, ge=1)


# ------------------------------------------------------------------------ scenario
class Scenario(Frozen):
    """One simulated experiment: data, model, training, network and strategy."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$", max_length=100)
    description: str = ""
    seed: int = Field(default=0, ge=0)
    data: DataSpec = DataSpec()
    model: ModelSpec = ModelSpec()
    training: TrainingSpec = TrainingSpec()
    topology: Topology = StarTopology(kind="star")
    nodes: NodesSpec = NodesSpec()
    links: LinksSpec = LinksSpec()
    strategy: Strategy
