"""Error types: every failure a user can cause is one `SnakesimError` subclass.

The CLI prints ``str(error)`` as one line (or one line per problem) without a traceback
and exits with code 2, so messages must name where the problem is (file, key path),
the offending value and the rule it broke.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class SnakesimError(Exception):
    """Base class of all errors snakesim reports to people."""

    exit_code: int = 2


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file.

    Parameters
    ----------
    where
        Dotted key path inside the file (``links.bandwidth``, ``nodes.overrides.n1``);
        empty for problems that concern the whole file.
    rule
        What was expected, in words (``must be > 0``).
    value
        The offending value as written in the file, or ``None`` when there is none
        (a missing key).
    """

    where: str
    rule: str
    value: object = None
    has_value: bool = True

    def format(self, source: str) -> str:
        """Render as ``source: where: rule (got value)``."""
        parts = [source]
        if self.where:
            parts.append(self.where)
        text = ": ".join(parts) + f": {self.rule}"
        if self.has_value:
            text += f" (got {_show(self.value)})"
        return text


def _show(value: object) -> str:
    if isinstance(value, str):
        # A raw value must not break the one-line message: quote anything unusual.
        plain = value and value.strip() == value and value.isprintable()
        return value if plain else repr(value)
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


class ScenarioError(SnakesimError):
    """A scenario (or sweep) file that cannot be loaded or is invalid.

    ``str(error)`` is one line per problem, each naming file, key path, value and rule.
    """

    def __init__(self, source: str, problems: Sequence[Problem]) -> None:
        self.source = source
        self.problems = tuple(problems)
        super().__init__("\n".join(p.format(source) for p in self.problems))


class ConfigurationError(SnakesimError):
    """A valid scenario that cannot run as asked (e.g. FedAvg without a server node)."""


class TrainingDiverged(ConfigurationError):
    """A training job's loss became inf or NaN: the settings make training diverge."""


class SimulationStalled(ConfigurationError):
    """The simulation ran out of events before the strategy finished: nothing can move.

    Raised instead of writing a result that would claim every round ran (a bandwidth
    trace stuck at 0, a node or link down for good with no route around it).
    """

    def __init__(self, at: float, unfinished: Sequence[str]) -> None:
        # The plain arguments are kept as args: SimPy re-creates an exception from its
        # args when it throws it into a process.
        super().__init__(at, tuple(unfinished))
        self.at, self.unfinished = at, tuple(unfinished)

    def __str__(self) -> str:
        shown = "; ".join(self.unfinished[:3]) or "no transfer or job is under way"
        more = f" (and {len(self.unfinished) - 3} more)" if len(self.unfinished) > 3 else ""
        return (f"the simulation stalled at {self.at:.6g} s with the strategy unfinished: "
                f"{shown}{more}; nothing scheduled can change that (check "
                "links.overrides traces and outages)")


class OutOfMemory(SnakesimError):
    """A compute job needs more memory than its node's budget: it does not run.

    The fabric records an ``oom`` effect first; a strategy that plans around budgets
    (memory-aware assignment, excluding clients) never meets this error.
    """

    def __init__(self, node: str, needed: float, budget: float, kind: str) -> None:
        # The plain arguments are kept as args: SimPy re-creates an exception from its
        # args when it throws it into a process.
        super().__init__(node, needed, budget, kind)
        self.node, self.needed, self.budget, self.kind = node, needed, budget, kind

    def __str__(self) -> str:
        return (f"node {self.node}: a {self.kind} job needs {self.needed / 1e6:.3g} MB of "
                f"memory but the node has {self.budget / 1e6:.3g} MB (nodes.memory); give "
                "it more memory or use a strategy option that respects budgets")


class ResultsError(SnakesimError):
    """A results folder that is missing or does not hold what a command needs."""


class MissingDependencyError(SnakesimError):
    """An optional dependency is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the optional package '{package}': "
            f"pip install 'snakesim[{extra}]'"
        )


class RunInterrupted(KeyboardInterrupt):
    """A run stopped by Ctrl-C (or SIGTERM, in the CLI) while its simulation ran.

    A `KeyboardInterrupt`, so that whatever stops on Ctrl-C still stops. ``partial`` is
    what had been simulated (a `snakesim.experiments.run.RunResult` whose summary says
    ``interrupted: true``), or None when no round had ended; ``written`` is the folder
    it was saved to, if any. ``signum`` is the signal that stopped the run.
    """

    def __init__(self, partial: Any, rounds_planned: int, signum: int = 2) -> None:
        super().__init__()
        self.partial, self.rounds_planned, self.signum = partial, rounds_planned, signum
        self.written: Path | None = None

    @property
    def rounds_done(self) -> int:
        """Rounds whose results were kept (0 without a partial result)."""
        return int(self.partial.summary["rounds"]) if self.partial is not None else 0
