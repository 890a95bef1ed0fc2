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
    duration: OutageSeconds
    period: OutageSeconds | None = None

    @model_validator(mode="after")
    def _period_after_duration(self) -> Window:
        if self.period is not None and self.period <= self.duration:
            raise ValueError("period must be longer than duration")
        return self


class ExponentialTime(Frozen):
    """Durations drawn from an exponential distribution with this mean."""

    dist: Literal["exponential"]
    mean: OutageSeconds


class FixedTime(Frozen):
    """The same duration every time."""

    dist: Literal["fixed"]
    value: OutageSeconds


class UniformTime(Frozen):
    """Durations drawn uniformly in ``[low, high]``."""

    dist: Literal["uniform"]
    low: NonNegSeconds
    high: OutageSeconds

    @model_validator(mode="after")
    def _ordered(self) -> UniformTime:
        if self.high < self.low:
            raise ValueError("high must be >= low")
        return self


Duration = Annotated[ExponentialTime | FixedTime | UniformTime, Field(discriminator="dist")]


class OnOff(Frozen):
    """An alternating up/down process: up for a drawn time, down for a drawn time, ..."""

    up: Duration
    down: Duration


class LinkOutage(Frozen):
    """Outages of the link between two nodes (both directions)."""

    between: Annotated[tuple[str, str], Field(strict=False)]  # YAML gives a list
    windows: list[Window] = Field(default_factory=list)
    stochastic: OnOff | None = None


class NodeOutage(Frozen):
    """Outages of a node: it neither computes, sends, receives nor relays while down."""

    node: str
    windows: list[Window] = Field(default_factory=list)
    stochastic: OnOff | None = None


class OutagePolicy(Frozen):
    """What happens to work caught by an outage.

    ``transfers``: ``pause`` — bits in transit on a link that goes down wait and resume
    when it returns; ``retry`` — the hop fails and is retried from its start after
    ``retry_backoff``, over the best live route then. ``jobs``: ``rerun`` — a job
    running on a node that goes down is lost and runs again from the start when the node
    returns; ``resume`` — it continues where it stopped (a checkpointing node).
    """

    transfers: Literal["pause", "retry"] = "pause"
    retry_backoff: OutageSeconds = 1.0
    jobs: Literal["rerun", "resume"] = "rerun"


class OutagesSpec(Frozen):
    """Link and node outages of a scenario, and the policy for the work they hit."""

    links: list[LinkOutage] = Field(default_factory=list)
    nodes: list[NodeOutage] = Field(default_factory=list)
    policy: OutagePolicy = OutagePolicy()
