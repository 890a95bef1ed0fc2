"""A training step's memory as it is allocated and freed, and its peak.

With ``zero_grad(set_to_none=True)`` (PyTorch's default, and what snakesim's training
does) no gradient exists when a step starts. The step then goes through:

1. forward: the activations autograd saves accumulate, group by group;
2. backward, from the last group to the first trained one: while group ``i`` runs, the
   activations saved by groups ``<= i`` are alive, the gradients of groups ``> i`` exist
   already, group ``i``'s own gradients are allocated, and the gradient flowing between
   groups is alive (at the head: the gradients of the loss's input and of the logits);
   when it is done, group ``i``'s saved activations are freed;
3. the optimizer step: every gradient, plus the step's scratch buffers
   (`snakesim.learning.costs.optimizer_step.scratch_bytes`).

Underneath all of it lie the resident bytes: weights, optimizer state, the batch,
kernel workspaces and (with distillation) the teacher's weights. The peak is the
largest event; the forward never exceeds the start of the backward, which holds the
same activations and more.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Event:
    """Bytes alive at one point of a training step."""

    name: str
    bytes: int


def step_timeline(resident: int, first: int, forward_events: Sequence[int],
                  backward_events: Sequence[int], group_gradients: Sequence[int],
                  scratch: int, held: int = 0, head_extra: int = 0,
                  extra_events: Sequence[Event] = ()) -> tuple[Event, ...]:
    """The events of one step that trains from group ``first`` on (module docstring).

    Parameters
    ----------
    resident
        Bytes alive throughout.
    first
        The first trained group; groups before it run without gradients.
    forward_events, backward_events
        Per group, the bytes alive at the peak of its forward and of its backward
        (`snakesim.learning.costs.probe.ChainCost`; the backward's include the group's
        own gradients, not those of the groups after it).
    group_gradients
        Per group, the bytes of its parameters' gradients.
    scratch
        The optimizer step's temporaries.
    held
        Bytes alive from the end of the forward to the end of the step (logits the
        training loop holds).
    head_extra
        Bytes alive only until the head's backward is done (a distillation teacher's
        logits).
    extra_events
        Further events, already absolute (a teacher's forward).
    """
    n = len(group_gradients)
    events = [Event(f"forward {i}", resident + forward_events[i]) for i in range(n)]
    events.extend(extra_events)
    grads = 0
    for i in range(n - 1, first - 1, -1):
        extra = head_extra if i == n - 1 else 0
        # backward_events[i] holds group i's own gradients already (probed).
        events.append(Event(f"backward {i}", resident + held + extra + backward_events[i]
                            + grads))
        grads += group_gradients[i]
    events.append(Event("optimizer step", resident + held + grads + scratch))
    return tuple(events)
