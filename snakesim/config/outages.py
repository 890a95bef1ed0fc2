"""The ``outages`` section of a scenario: when links and nodes are down, and what then.

An outage source is a list of scheduled windows (optionally periodic) and/or a
stochastic on/off process whose up and down times are drawn from distributions seeded
from the run seed. Overlapping sources combine: an element is down while any of its
sources says so.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from snakesim.config.quantities import NonNegSeconds, OutageSeconds
from snakesim.config.strategies import Frozen


class Window(Frozen):
    """A scheduled outage from ``start`` for ``duration``, repeating every ``period``."""

    start: NonNegSeconds
    """When the first outage begins, in simulated time from the start of the run (>= 0)."""
    duration: OutageSeconds
    """How long each outage lasts (at least 1 ms)."""
    period: OutageSeconds | None = None
    """Repeat the outage every ``period`` from ``start`` (longer than ``duration``). null:
    once."""

    @model_validator(mode="after")
    def _period_after_duration(self) -> Window:
        if self.period is not None and self.period <= self.duration:
            raise ValueError("period must be longer than duration")
        return self


class ExponentialTime(Frozen):
    """Durations drawn from an exponential distribution with this mean."""

    dist: Literal["exponential"]
    """``exponential``: durations drawn from an exponential distribution, seeded from the run
    seed."""
    mean: OutageSeconds
    """Mean duration (at least 1 ms)."""


class FixedTime(Frozen):
    """The same duration every time."""

    dist: Literal["fixed"]
    """``fixed``: the same duration every time."""
    value: OutageSeconds
    """The duration (at least 1 ms)."""


class UniformTime(Frozen):
    """Durations drawn uniformly in ``[low, high]``."""

    dist: Literal["uniform"]
    """``uniform``: durations drawn uniformly in ``[low, high]``, seeded from the run seed."""
    low: NonNegSeconds
    """Shortest duration (>= 0)."""
    high: OutageSeconds
    """Longest duration (at least 1 ms and >= ``low``)."""

    @model_validator(mode="after")
    def _ordered(self) -> UniformTime:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self


Duration = Annotated[ExponentialTime | FixedTime | UniformTime, Field(discriminator="dist")]


class OnOff(Frozen):
    """An alternating up/down process: up for a drawn time, down for a drawn time, ..."""

    up: Duration
    """How long the element stays up each time (a table per ``dist`` below); the process starts
    up."""
    down: Duration
    """How long each outage lasts (a table per ``dist`` below)."""


class LinkOutage(Frozen):
    """Outages of the link between two nodes (both directions)."""

    between: Annotated[tuple[str, str], Field(strict=False)]  # YAML gives a list
    """The link's two nodes ``[a, b]``; they must be linked. The outage takes both directions
    down."""
    windows: list[Window] = Field(default_factory=list)
    """Scheduled outages of the link. []: none."""
    stochastic: OnOff | None = None
    """A seeded alternating up/down process for the link. null: none."""


class NodeOutage(Frozen):
    """Outages of a node: it neither computes, sends, receives nor relays while down."""

    node: str
    """The node's name; while down it neither computes, sends, receives nor relays."""
    windows: list[Window] = Field(default_factory=list)
    """Scheduled outages of the node. []: none."""
    stochastic: OnOff | None = None
    """A seeded alternating up/down process for the node. null: none."""


class OutagePolicy(Frozen):
    """What happens to work caught by an outage.

    ``transfers``: ``pause`` — bits in transit on a link that goes down wait and resume
    when it returns; ``retry`` — the hop fails and is retried from its start after
    ``retry_backoff``, over the best live route then. ``jobs``: ``rerun`` — a job
    running on a node that goes down is lost and runs again from the start when the node
    returns; ``resume`` — it continues where it stopped (a checkpointing node).
    """

    transfers: Literal["pause", "retry"] = "pause"
    """Bits in transit on a link that goes down: ``pause`` (wait and resume when it returns) or
    ``retry`` (the hop fails and restarts after ``retry_backoff``, over the best live route
    then)."""
    retry_backoff: OutageSeconds = 1.0
    """With ``transfers: retry``: the wait before a failed hop starts again (at least 1 ms)."""
    jobs: Literal["rerun", "resume"] = "rerun"
    """A job running on a node that goes down: ``rerun`` (lost, runs again from the start when
    the node returns) or ``resume`` (continues where it stopped: a checkpointing node)."""


class OutagesSpec(Frozen):
    """Link and node outages of a scenario, and the policy for the work they hit."""

    links: list[LinkOutage] = Field(default_factory=list)
    """Outages of single links, each by ``between: [a, b]``. []: none."""
    nodes: list[NodeOutage] = Field(default_factory=list)
    """Outages of single nodes, each by ``node``. []: none."""
    policy: OutagePolicy = OutagePolicy()
    """What happens to transfers and jobs an outage hits."""
