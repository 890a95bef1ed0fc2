"""Per-pass schedules: a factor on a training setting for pass ``r`` of ``R``.

Pure arithmetic, shared by every option that changes over the passes of a Snake route
(learning rate, distillation weight and temperature; `snakesim.config.strategies.Schedule`):

- ``constant``: 1;
- ``step``: ``gamma ** ((r - 1) // every)`` (multiplied by ``gamma`` every ``every``
  passes);
- ``cosine``: ``final + (1 - final) * (1 + cos(pi * (r - 1) / (R - 1))) / 2``, 1 at the
  first pass and ``final`` at the last (Loshchilov & Hutter's cosine annealing, one
  step per pass, without restarts); 1 throughout when ``R == 1``.
"""

from __future__ import annotations

import math


def schedule_factor(kind: str, round: int, rounds: int, *, every: int = 1,
                    gamma: float = 0.5, final: float = 0.0) -> float:
    """The factor of pass ``round`` (1-based) of ``rounds`` (see the module docstring).

    Raises
    ------
    ValueError
        For an unknown kind or a pass outside ``1 .. rounds``.
    """
    if not 1 <= round <= rounds:
        raise ValueError(f"pass {round} is outside 1..{rounds}")
    if kind == "constant":
        return 1.0
    if kind == "step":
        return float(gamma ** ((round - 1) // every))
    if kind == "cosine":
        if rounds == 1:
            return 1.0
        return final + (1.0 - final) * (1.0 + math.cos(math.pi * (round - 1)
                                                        / (rounds - 1))) / 2.0
    raise ValueError(f"unknown schedule kind {kind!r} (known: constant, step, cosine)")
