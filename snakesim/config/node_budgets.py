"""The node sections of a scenario: budgets, their spreads over nodes, and chips.

Quantities accept units (see `snakesim.units`); a node attribute is a plain value or a
distribution drawn per node from the run seed (`snakesim.network.nodes` draws them); a
node may name an accelerator preset (`snakesim.config.accelerators`) instead of a
compute rate. `snakesim.config.schema` re-exports everything here.
"""

from __future__ import annotations

from typing import Annotated, Generic, Literal, TypeVar

from pydantic import BaseModel, Discriminator, Field, Tag, model_validator

from snakesim.config.accelerators import ACCELERATORS, Accelerator, AcceleratorName
from snakesim.config.quantities import Bytes, FlopsPerSecond, Joules, Watts
from snakesim.config.strategies import Frozen

T = TypeVar("T", float, int)


class Fixed(Frozen, Generic[T]):
    """The same value for every node."""

    dist: Literal["fixed"]
    """``fixed``: the same value for every client."""
    value: T
    """The value."""


class Uniform(Frozen, Generic[T]):
    """Values drawn uniformly in ``[low, high]`` from the run's ``nodes`` RNG stream."""

    dist: Literal["uniform"]
    """``uniform``: a value per client drawn uniformly in ``[low, high]`` from the run's
    ``nodes`` stream."""
    low: T
    """Smallest value."""
    high: T
    """Largest value, >= ``low``."""

    @model_validator(mode="after")
    def _ordered(self) -> Uniform[T]:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self


class LogNormal(Frozen, Generic[T]):
    """Values ``median * exp(sigma * N(0, 1))`` drawn from the ``nodes`` RNG stream."""

    dist: Literal["lognormal"]
    """``lognormal``: a value per client, ``median x exp(sigma x N(0, 1))``, drawn from the
    run's ``nodes`` stream."""
    median: T
    """The median value."""
    sigma: float = Field(ge=0, le=4)  # e^4 per standard deviation keeps draws finite
    """Standard deviation of the log of the values, 0 to 4 (0: every client gets ``median``)."""


class Listed(Frozen, Generic[T]):
    """One value per client node, in topology order."""

    dist: Literal["list"]
    """``list``: one given value per client."""
    values: list[T] = Field(min_length=1)
    """One value per client node, in topology order (exactly as many as there are clients; the
    server then needs its own value)."""


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


class AcceleratorSpec(Frozen):
    """An accelerator preset; for a CPU preset, optionally the share of ``cores`` cores.

    A plain name (``accelerator: h100``) is the same as ``{preset: h100}``.
    """

    preset: AcceleratorName
    """The chip: ``h100``, ``h200``, ``a100``, ``l4``, ``jetson-orin`` (CUDA), ``phone-soc`` (a
    phone SoC) or ``epyc-7763`` (a 64-core CPU); figures in the README's accelerator table."""
    cores: int | None = Field(default=None, ge=1)
    """CPU presets only: use this many of its cores (1 to the chip's count), FLOP/s and memory
    bandwidth pro rata. null: all of them."""

    @model_validator(mode="after")
    def _cores_of_a_cpu(self) -> AcceleratorSpec:
        chip = ACCELERATORS[self.preset]
        if self.cores is not None and (chip.kind != "cpu" or self.cores > chip.cores):
            raise ValueError(f"cores: only a CPU preset takes a share of its cores, at "
                             f"most {chip.cores} for {self.preset}" if chip.kind == "cpu"
                             else f"cores: {self.preset} is not a CPU preset")
        return self

    def resolve(self) -> Accelerator:
        """The preset's figures (scaled to ``cores``)."""
        chip = ACCELERATORS[self.preset]
        return chip if self.cores is None else chip.scaled(self.cores)


AcceleratorChoice = AcceleratorName | AcceleratorSpec
"""A node's accelerator: a preset name or an `AcceleratorSpec`."""


def resolve_accelerator(choice: AcceleratorChoice) -> Accelerator:
    """The figures of an accelerator choice."""
    if isinstance(choice, AcceleratorSpec):
        return choice.resolve()
    return ACCELERATORS[choice]


class NodeValues(Frozen):
    """Fixed attribute values for one node (the server, or a per-node override).

    ``accelerator`` names the node's chip (see `snakesim.config.accelerators`): its
    compute time follows the roofline time model and its memory budget is the chip's
    unless ``memory`` is given; ``compute`` is then derived, so giving both is an error.
    """

    accelerator: AcceleratorChoice | None = None
    """The node's chip (a preset name or ``{preset, cores}``): its jobs take the roofline time,
    its memory budget is the chip's unless ``memory`` is given; exclusive with ``compute``.
    null: the node's chip otherwise, if any."""
    compute: FlopsPerSecond | None = None
    """Compute rate (FLOP/s, e.g. ``1 TFLOPS``): a job takes its FLOPs over this. null: the
    node's value otherwise (the server: the client rule, one draw)."""
    memory: Bytes | None = None
    """Memory budget (e.g. ``64 GB``): a job whose predicted peak exceeds it cannot run there.
    null: as ``compute``."""
    storage: Bytes | None = None
    """Storage budget for the node's data and the model it keeps. null: as ``compute``."""
    energy_per_flop: Joules | None = None
    """Energy per FLOP computed (e.g. ``20 pJ``). null: the node's value otherwise
    (``nodes.energy_per_flop``, or the server's own)."""
    idle_power: Watts | None = None
    """Power drawn while not computing (e.g. ``2 W``). null: the node's value otherwise
    (``nodes.idle_power``, or the server's own)."""

    @model_validator(mode="after")
    def _one_compute(self) -> NodeValues:
        if self.accelerator is not None and self.compute is not None:
            raise ValueError("compute: the accelerator decides the compute time; give "
                             "compute or accelerator, not both")
        return self


class NodesSpec(Frozen):
    """Compute (FLOP/s), memory and storage budgets of the nodes.

    The three attributes apply to every client node (a non-server node): a quantity
    (same for all), or a distribution drawn per node from the run seed. The server, if
    the topology has one, takes ``server``. ``overrides`` then set single nodes by name.
    Energy (optional, default 0): ``energy_per_flop`` (J per FLOP computed) and
    ``idle_power`` (W while not computing), for clients; the server and overrides may
    set their own. ``accelerator`` names the clients' chip (see `NodeValues`).
    """

    accelerator: AcceleratorChoice | None = None
    """The clients' chip (a preset name or ``{preset, cores}``): jobs take the roofline time,
    memory is the chip's unless ``memory`` is written, and ``compute`` must not be written.
    null: plain ``compute`` nodes."""
    compute: ComputeSpread = 10e9  # type: ignore[valid-type]
    """Compute rate of every client (FLOP/s, e.g. ``20 GFLOPS``), or a distribution drawn per
    client (``dist``: fixed, uniform, lognormal, list; tables below): a job takes its FLOPs
    over it."""
    memory: SizeSpread = 4e9  # type: ignore[valid-type]
    """Memory budget of every client, or a distribution drawn per client: a job whose predicted
    peak memory exceeds it cannot run on that node."""
    storage: SizeSpread = 32e9  # type: ignore[valid-type]
    """Storage budget of every client (its training data plus the model it keeps; more is
    recorded as an ``out_of_storage`` effect), or a distribution drawn per client."""
    energy_per_flop: Joules = 0.0
    """Energy per FLOP computed by a client (e.g. ``20 pJ``); 0: computing costs no energy."""
    idle_power: Watts = 0.0
    """Power a client draws while not computing, until the run ends (e.g. ``2 W``); 0: none."""
    server: NodeValues = NodeValues(compute=1e12, memory=64e9, storage=1e12)
    """The server's own values; the default sets compute 1 TFLOPS, memory 64 GB and storage 1
    TB. A value left null follows the client rule (one extra draw; a ``list`` spread needs
    an explicit server value); relays take the values written here, else 0."""
    overrides: dict[str, NodeValues] = Field(default_factory=dict)
    """Values for single nodes, by name (``{n3: {compute: 50 GFLOPS}}``): each key given
    replaces what the node would otherwise get."""

    @model_validator(mode="after")
    def _one_compute(self) -> NodesSpec:
        if self.accelerator is not None and "compute" in self.model_fields_set:
            raise ValueError("compute: the accelerator decides the compute time; give "
                             "compute or accelerator, not both")
        return self


