"""Wake-ups due at one simulated instant, delivered by one SimPy event.

Flows in step (slow-start rounds of equal RTT, transfers started together) come due at
exactly the same times; a timeout each would cost SimPy one event per flow and instant.
`Alarms` keeps, per due time, the items to hand to its callback, and schedules one
timeout for the first of them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import simpy

T = TypeVar("T")


class Alarms(Generic[T]):
    """Calls ``ring(item)`` for every item set for an instant, in the order they were set.

    Parameters
    ----------
    env
        The run's environment.
    ring
        What to do with an item when its time comes. Items are not cancelled: a caller
        whose plans changed makes ``ring`` ignore stale ones (e.g. by a generation count).
    """

    def __init__(self, env: simpy.Environment, ring: Callable[[T], None]) -> None:
        self._env, self._ring = env, ring
        self._due: dict[float, list[T]] = {}

    def set(self, delay: float, item: T) -> None:
        """Ring ``item`` ``delay`` seconds from now (>= 0)."""
        when = self._env.now + delay  # the instant SimPy will run it at, to the bit
        items = self._due.get(when)
        if items is None:
            items = self._due[when] = []
            self._env.timeout(delay).callbacks.append(lambda _: self._fire(when))
        items.append(item)

    def _fire(self, when: float) -> None:
        for item in self._due.pop(when):
            self._ring(item)
