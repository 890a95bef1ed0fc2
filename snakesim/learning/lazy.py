"""A future over work that runs when its result is first asked for.

Strategies hand jobs to the fabric with their costs known up front; the real PyTorch
work runs only when a result is needed (often much later in simulated time, and never
for a job that an outage or a memory check dropped). `TrainJob` and `SplitJob` are
this future with their costs attached.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Lazy(Generic[T]):
    """Runs ``work`` once, the first time `result` is called, and caches what it returns.

    Parameters
    ----------
    work
        The deferred computation; its references (model states, batches) are dropped
        once it has run.
    """

    def __init__(self, work: Callable[[], T]) -> None:
        self._work: Callable[[], T] | None = work
        self._result: T | None = None

    @property
    def done(self) -> bool:
        """Whether the work has run."""
        return self._work is None

    def result(self) -> T:
        """Run the work the first time; return the cached result."""
        if self._work is not None:
            self._result = self._work()
            self._work = None  # drop references to the inputs
        return self._result  # type: ignore[return-value]  # set by the work above
