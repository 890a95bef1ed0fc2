"""The one model lineage of Snake Learning: which version of each group every node holds.

Every node holds a full model (it needs one for its forward pass), but not necessarily
the newest version of every group, and not every group at full precision: a node keeps
the groups it does not train in ``frozen_dtype`` (`snakesim.learning.costs.precision`). This
module owns that bookkeeping, so what a node trains on, what a hand-off carries and
how many bytes that is follow from one rule:

- each (group, version) is stored once, at full precision, as training produced it;
  versions no node holds any more are dropped (memory does not grow with the nodes);
- a holder keeps, per group, a version and whether its copy was rounded; a node's copy
  of a group it does not train is rounded, and a copy stays rounded once it was (a
  node that only received a rounded copy cannot send more);
- a group travels at full precision only if the sender's copy is full precision and the
  receiver needs it so (it trains it next, or the receiver is the CS server, which keeps
  full-precision masters); otherwise at ``frozen_dtype``.

With ``frozen_dtype: fp32`` rounding is the identity and every size is as stored.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from snakesim.learning.costs.model import CostModel
from snakesim.learning.costs.precision import round_state
from snakesim.learning.training import State

Copy = tuple[int, bool]
"""A holder's copy of a group: ``(version, rounded)``."""


class Lineage:
    """Group versions held by each node (see module docstring).

    Parameters
    ----------
    state
        The initial full state (version 0 of every group).
    group_keys
        The state-dict keys of each group.
    costs
        For group sizes per format.
    frozen_dtype
        The format nodes hold frozen groups in.
    """

    def __init__(self, state: State, group_keys: Sequence[Sequence[str]], costs: CostModel,
                 frozen_dtype: str = "fp32") -> None:
        self._keys = [list(k) for k in group_keys]
        self._costs = costs
        self.frozen_dtype = frozen_dtype
        self.latest = [0] * len(self._keys)
        self._values = {(g, 0): {k: state[k] for k in keys} for g, keys in enumerate(self._keys)}
        self._rounded: dict[tuple[int, int], State] = {}
        self._held: dict[str, list[Copy]] = {}

    @property
    def n_groups(self) -> int:
        """Number of layer groups."""
        return len(self._keys)

    def create(self, node: str) -> None:
        """``node`` made the model: it holds version 0 of every group at full precision."""
        self._held[node] = [(0, False)] * self.n_groups

    def version(self, node: str, group: int) -> int:
        """The version of ``group`` that ``node`` holds (-1 if none)."""
        held = self._held.get(node)
        return held[group][0] if held else -1

    def newer(self, sender: str, receiver: str) -> list[int]:
        """Groups of which ``sender`` holds a newer version than ``receiver``."""
        return [g for g in range(self.n_groups)
                if self.version(sender, g) > self.version(receiver, g)]

    def send(self, sender: str, receiver: str, groups: Iterable[int],
             full: Collection[int] | None) -> int:
        """Give ``receiver`` the sender's copies of ``groups``; return the bytes sent.

        ``full`` is the set of groups the receiver keeps at full precision (``None``: all,
        as the CS server does).
        """
        held = self._held.setdefault(receiver, [(-1, True)] * self.n_groups)
        nbytes = 0
        for g in sorted(set(groups)):
            version, rounded = self._held[sender][g]
            rounded = rounded or (full is not None and g not in full)
            nbytes += self._costs.group_bytes(g, self.frozen_dtype if rounded else "fp32")
            held[g] = (version, rounded)
        self._collect()
        return nbytes

    def view(self, node: str, window: Collection[int]) -> State:
        """The state ``node`` computes with: groups outside ``window`` rounded."""
        state: State = {}
        for g, (version, rounded) in enumerate(self._held[node]):
            if rounded or g not in window:
                state.update(self._rounded_values(g, version))
            else:
                state.update(self._values[(g, version)])
        return state

    def train(self, node: str, window: Collection[int], trained: State) -> None:
        """Record that ``node`` trained ``window`` into ``trained`` (new versions)."""
        held = self._held[node]
        for g in range(self.n_groups):
            if g in window:
                self.latest[g] += 1
                self._values[(g, self.latest[g])] = {k: trained[k] for k in self._keys[g]}
                held[g] = (self.latest[g], False)
            else:
                held[g] = (held[g][0], True)  # it held the group frozen
        self._collect()

    def latest_state(self) -> State:
        """The newest version of every group at full precision: the lineage's model now.

        The tensors are the stored versions (never changed in place), so the state
        stays valid after those versions are dropped.
        """
        state: State = {}
        for g, version in enumerate(self.latest):
            state.update(self._values[(g, version)])
        return state

    def held_bytes(self, node: str, window: Collection[int]) -> int:
        """Bytes ``node`` keeps for its model: ``window`` at full precision, the rest frozen."""
        return sum(self._costs.group_bytes(g, "fp32" if g in window else self.frozen_dtype)
                   for g in range(self.n_groups))

    def _rounded_values(self, group: int, version: int) -> State:
        if self.frozen_dtype == "fp32":
            return self._values[(group, version)]
        key = (group, version)
        if key not in self._rounded:
            self._rounded[key] = round_state(self._values[key], self.frozen_dtype)
        return self._rounded[key]

    def _collect(self) -> None:
        live = {(g, v) for held in self._held.values() for g, (v, _) in enumerate(held)}
        for store in (self._values, self._rounded):
            for key in [k for k in store if k not in live]:
                del store[key]
