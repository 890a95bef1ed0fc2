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
    """The edge attribute that holds each link's bandwidth (e.g. ``cap``, ``LinkSpeedRaw``)."""
    unit: str | None = None
    """Unit of the attribute's plain numbers (e.g. ``Mbps``); a string with its own unit
    (``"10 Gbps"``) is read as written. null: bit/s."""


class NodeCoordinates(Frozen):
    """Where a node's position (degrees) is in a topology file.

    A node with the ``pair`` attribute (topohub's ``pos``: ``[longitude, latitude]``)
    uses it; any other node needs ``latitude`` and ``longitude`` (the Topology Zoo's
    GraphML names, the defaults).
    """

    pair: str | None = "pos"
    """Node attribute holding ``[longitude, latitude]`` in degrees (topohub's ``pos``); a node
    without it uses ``latitude``/``longitude``. null: always those."""
    latitude: str = Field(default="Latitude", min_length=1)
    """Node attribute holding the latitude in degrees (the Topology Zoo's ``Latitude``)."""
    longitude: str = Field(default="Longitude", min_length=1)
    """Node attribute holding the longitude in degrees (the Topology Zoo's ``Longitude``)."""


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
    """The edge attribute that holds each link's latency or length; exclusive with
    ``coordinates``."""
    unit: str | None = None
    """Unit of the attribute's plain numbers: a time (``ms``, ``us``) or a distance (``km``,
    ``m``, ``mi``; latency = length / ``propagation_speed``); a string with its own unit is
    read as written. null: seconds. Not with ``coordinates``."""
    coordinates: NodeCoordinates | None = None
    """Where the nodes' positions are: a link's latency is the great-circle distance between
    its ends over ``propagation_speed``; exclusive with ``attribute``."""
    propagation_speed: MetresPerSecond = 2e8
    """Signal speed for distances (lengths or coordinates), at most the speed of light; 2e8 m/s
    is light in fibre."""

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
    """The node attribute whose text names each node (topohub's ``name``, the Topology Zoo's
    ``label``); every node needs one and names must be unique."""


class NodeMatch(Frozen):
    """The nodes of a topology file whose ``attribute`` equals ``equals``."""

    attribute: str = Field(min_length=1)
    """The node attribute to test (e.g. ``type``, ``Internal``)."""
    equals: str | int | float | bool = True
    """The value that marks a relay; numbers, strings and booleans (``true``, ``1``, ``yes``)
    compare leniently across file formats."""


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
    """``file``: nodes and links read from a GraphML or node-link JSON file (e.g. the Internet
    Topology Zoo, SNDlib via topohub); undirected, no multigraphs."""
    path: str
    """The topology file, relative to the working directory (``~`` expands); read by
    ``validate`` (size limits under Reproducibility)."""
    format: Literal["auto", "graphml", "node_link"] = "auto"
    """The file's format: ``graphml``, ``node_link`` (networkx node-link JSON) or ``auto``
    (``graphml`` for ``.graphml`` and ``.xml`` names, else ``node_link``)."""
    latency: FileLatency | None = None
    """Where each link's latency comes from (an edge attribute, or node coordinates). null:
    ``links.latency`` for every link, with a warning unless ``links.latency`` is written."""
    bandwidth: FileAttribute | None = None
    """Where each link's bandwidth comes from (an edge attribute and its unit). null:
    ``links.bandwidth``, with a warning unless it is written."""
    names: NodeLabels | None = None
    """Node names from a node attribute. null: the file's node ids."""
    relays: Relays = Field(default_factory=list)
    """Nodes that forward traffic but hold no data and train nothing: a list of names, or
    ``{attribute, equals}`` to select them by a node attribute. []: none."""
    server: str | None = None
    """A node of the file that acts as the server (not a learner), by its name. null: none."""


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


