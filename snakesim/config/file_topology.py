"""The ``file`` topology: nodes and links read from a GraphML or node-link JSON file.

Backbone maps as they come (the Internet Topology Zoo, SNDlib as topohub ships them)
carry link lengths or node coordinates rather than delays, name nodes by id and have
core routers that only forward: the schema here says where each quantity, name and
role comes from. `snakesim.config.file_links` reads the values; `snakesim.config.
file_checks` checks them at ``validate``. `snakesim.config.schema` re-exports
the models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Discriminator, Field, Tag, model_validator

from snakesim.config.graphfile import read_graph
from snakesim.config.quantities import MetresPerSecond
from snakesim.config.strategies import Frozen


class FileAttribute(Frozen):
    """Where a link's bandwidth comes from in a topology file: an edge attribute, its unit.

    ``unit`` is the unit of the file's plain numbers (``Mbps``); without it they are
    bit/s. A string that carries its own unit (``"10 Gbps"``) is read as written, so a
    file may mix units; its unit wins over ``unit``.
    """

    attribute: str = Field(min_length=1)
    unit: str | None = None


class NodeCoordinates(Frozen):
    """Where a node's position (degrees) is in a topology file.

    A node with the ``pair`` attribute (topohub's ``pos``: ``[longitude, latitude]``)
    uses it; any other node needs ``latitude`` and ``longitude`` (the Topology Zoo's
    GraphML names, the defaults).
    """

    pair: str | None = "pos"
    latitude: str = Field(default="Latitude", min_length=1)
    longitude: str = Field(default="Longitude", min_length=1)


class FileLatency(Frozen):
    """Where a link's latency comes from in a topology file.

    One of: an edge ``attribute`` with a time ``unit`` (``ms``; without a unit, seconds
    or strings with their own units); an edge ``attribute`` with a distance ``unit``
    (``km``, ``m``, ``mi``), the latency being distance over ``propagation_speed``; or
    ``coordinates`` of the nodes, the latency being the great-circle distance between a
    link's ends over ``propagation_speed``. ``propagation_speed`` defaults to 2e8 m/s
    (light in fibre, two thirds of its speed in vacuum).
    """

    attribute: str | None = Field(default=None, min_length=1)
    unit: str | None = None
    coordinates: NodeCoordinates | None = None
    propagation_speed: MetresPerSecond = 2e8

    @model_validator(mode="after")
    def _one_source(self) -> FileLatency:
        if (self.attribute is None) == (self.coordinates is None):
            raise ValueError("needs exactly one of attribute (an edge attribute) or "
                             "coordinates (of the nodes)")
        if self.coordinates is not None and self.unit is not None:
            raise ValueError("unit applies to an edge attribute, not to coordinates")
        return self


class NodeLabels(Frozen):
    """Node names from a node attribute of a topology file (``name``, ``label``)."""

    attribute: str = Field(min_length=1)


class NodeMatch(Frozen):
    """The nodes of a topology file whose ``attribute`` equals ``equals``."""

    attribute: str = Field(min_length=1)
    equals: str | int | float | bool = True


def _relays_kind(value: object) -> str:
    # A mapping selects by attribute; anything else must be a list of names. Deciding up
    # front keeps errors to the branch the user meant instead of one per union member.
    return "<match>" if isinstance(value, (dict, BaseModel)) else "<names>"


Relays = Annotated[
    Annotated[list[str], Tag("<names>")] | Annotated[NodeMatch, Tag("<match>")],
    Discriminator(_relays_kind),
]
"""Relay-only nodes of a topology file: a list of names or an attribute match."""


class FileTopology(Frozen):
    """Nodes and links read from a GraphML or node-link JSON file.

    ``latency`` and ``bandwidth`` say where each link quantity comes from; an unmapped
    quantity takes the ``links`` default (with a warning, unless that default is written).
    Node names are the file's ids, or the values of ``names.attribute``. ``relays`` are
    nodes that forward traffic but hold no data and train nothing: a list of names, or
    the nodes matching an attribute.
    """

    kind: Literal["file"]
    path: str
    format: Literal["auto", "graphml", "node_link"] = "auto"
    latency: FileLatency | None = None
    bandwidth: FileAttribute | None = None
    names: NodeLabels | None = None
    relays: Relays = Field(default_factory=list)
    server: str | None = None


def label_attribute(topology: FileTopology) -> str | None:
    """The node attribute that names a file's nodes (``None``: the file's ids)."""
    return topology.names.attribute if topology.names is not None else None


def relay_names(topology: FileTopology) -> list[str]:
    """A file topology's relay-only nodes, in file order.

    A listed name that is not a node is left to `snakesim.config.checks` to report.
    """
    relays = topology.relays
    if isinstance(relays, list):
        return list(relays)
    graph = read_graph(topology.path, topology.format, label_attribute(topology))
    return [n for n, data in graph.nodes(data=True)
            if relays.attribute in data and _same(data[relays.attribute], relays.equals)]


def _same(value: object, wanted: object) -> bool:
    """Whether a node attribute equals the wanted value; GraphML and JSON may give a
    number where YAML gave a string or the reverse, and booleans as 0/1 or text."""
    if isinstance(wanted, bool):
        return value is wanted or (not isinstance(value, bool) and str(value).strip().lower()
                                   in (("true", "1", "yes") if wanted else ("false", "0", "no")))
    return value == wanted or str(value) == str(wanted)


