"""Outage processes: SimPy processes that take links and nodes down and bring them back.

Each source (a list of windows, or a stochastic on/off process) runs as its own process
and votes an element down or up; an element is down while any of its sources says so.
Stochastic sources draw from their own named RNG stream (``outages/link/a-b/i`` or
``outages/node/x/i``), so adding an outage elsewhere never shifts these draws, and the
same seed gives the same outages. Every down interval becomes an `OutageRecord`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import numpy as np
import simpy

from snakesim.config.outages import (
    Duration,
    ExponentialTime,
    FixedTime,
    OnOff,
    OutagesSpec,
    Window,
)
from snakesim.errors import ConfigurationError
from snakesim.network.fabric import Fabric
from snakesim.records import OutageRecord
from snakesim.sim.world import World

Toggle = Callable[[bool], None]


class _Element:
    """One link or node: counts the sources that hold it down, records its intervals."""

    def __init__(self, world: World, name: str, kind: str, toggle: Toggle) -> None:
        self._world, self.name, self.kind, self._toggle = world, name, kind, toggle
        self._down_votes = 0
        self._since = 0.0

    def vote(self, down: bool) -> None:
        before = self._down_votes
        self._down_votes += 1 if down else -1
        if before == 0 and self._down_votes == 1:
            self._since = self._world.now
            self._toggle(False)
        elif before == 1 and self._down_votes == 0:
            self._world.ledger.outage(OutageRecord(self.name, self.kind, self._since,
                                                   self._world.now))
            self._toggle(True)

    def close(self) -> None:
        """Record an interval still open when the run ends (``end_s`` is NaN)."""
        if self._down_votes > 0:
            self._world.ledger.outage(OutageRecord(self.name, self.kind, self._since,
                                                   math.nan))


class OutageController:
    """Starts the outage processes of a scenario on a fabric.

    The processes stop by themselves once the strategy is done: call `stop_when` with
    the strategy's process, then `close` after the simulation to record open intervals.
    """

    def __init__(self, world: World, fabric: Fabric, spec: OutagesSpec) -> None:
        self._world = world
        self._elements: dict[str, _Element] = {}
        self._processes: list[simpy.Process] = []
        for i, link in enumerate(spec.links):
            u, v = link.between
            if not fabric.graph.has_edge(u, v):
                raise ConfigurationError(
                    f"outages.links.{i}.between: nodes {u} and {v} are not linked")
            element = self._element(f"link {min(u, v)}-{max(u, v)}", "link",
                                    partial(fabric.set_link, u, v))
            self._start(element, link.windows, link.stochastic, f"outages/link/{u}-{v}/{i}")
        for u, v, data in fabric.graph.edges(data=True):
            # Technology presets bring their own outage process (blockage, visibility).
            preset = data.get("outage")
            if preset is None:
                continue
            element = self._element(f"link {min(u, v)}-{max(u, v)}", "link",
                                    partial(fabric.set_link, u, v))
            windows = [preset] if isinstance(preset, Window) else []
            stochastic = preset if isinstance(preset, OnOff) else None
            self._start(element, windows, stochastic, f"outages/preset/{u}-{v}")
        for i, node in enumerate(spec.nodes):
            fabric.node(node.node)
            element = self._element(f"node {node.node}", "node",
                                    partial(fabric.set_node, node.node))
            self._start(element, node.windows, node.stochastic, f"outages/node/{node.node}/{i}")

    def _element(self, name: str, kind: str, toggle: Toggle) -> _Element:
        # One element per link or node, whatever its number of sources (entries of the
        # scenario, a technology preset): it is down while any of them says so.
        if name not in self._elements:
            self._elements[name] = _Element(self._world, name, kind, toggle)
        return self._elements[name]

    def _start(self, element: _Element, windows: list[Window], stochastic: OnOff | None,
               stream: str) -> None:
        env = self._world.env
        for window in windows:
            self._processes.append(env.process(_windows(env, element, window)))
        if stochastic is not None:
            rng = self._world.rng(stream)
            self._processes.append(env.process(_on_off(env, element, stochastic, rng)))

    def stop_when(self, done: simpy.Event) -> None:
        """End every outage process when ``done`` fires (the strategy finished)."""

        def stop(_: simpy.Event) -> None:
            for process in self._processes:
                if process.is_alive:
                    process.interrupt("run over")

        done.callbacks.append(stop)

    def close(self) -> None:
        """Record the intervals that are still open at the end of the run."""
        for element in self._elements.values():
            element.close()


def _windows(env: simpy.Environment, element: _Element,
             window: Window) -> Generator[simpy.Event, Any, None]:
    start = window.start
    try:
        while True:
            yield env.timeout(max(0.0, start - env.now))
            element.vote(True)
            yield env.timeout(window.duration)
            element.vote(False)
            if window.period is None:
                return
            start += window.period
    except simpy.Interrupt:
        return  # the run is over; an interval still open is recorded by close()


def _on_off(env: simpy.Environment, element: _Element, spec: OnOff,
            rng: np.random.Generator) -> Generator[simpy.Event, Any, None]:
    try:
        while True:
            yield env.timeout(draw(spec.up, rng))
            element.vote(True)
            yield env.timeout(draw(spec.down, rng))
            element.vote(False)
    except simpy.Interrupt:
        return


def draw(duration: Duration, rng: np.random.Generator) -> float:
    """One duration in seconds from its distribution."""
    if isinstance(duration, ExponentialTime):
        return float(rng.exponential(duration.mean))
    if isinstance(duration, FixedTime):
        return float(duration.value)
    return float(rng.uniform(duration.low, duration.high))
