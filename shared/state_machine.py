"""A small state machine: a transitions table and the refusal every service answers the same way.

Each aggregate with a lifecycle (seller, listing, and later order, payout, booking) declares
`action -> (states it may start from, state it leads to)`; `next` returns the target or raises
`InvalidTransition` (409 problem, naming the current state and the states that would allow it).
Keeping the table as data lets the API documentation, the tests and the code read the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from shared.errors import Conflict

__all__ = ["InvalidTransition", "StateMachine"]

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=str)


class InvalidTransition(Conflict):
    """The action is not allowed from the aggregate's current state (409)."""


@dataclass(frozen=True)
class StateMachine(Generic[A, S]):
    #: What the aggregate is called in messages ("seller", "listing").
    noun: str
    transitions: Mapping[A, tuple[frozenset[S], S]]

    def next(self, current: S, action: A) -> S:
        sources, target = self.transitions[action]
        if current not in sources:
            allowed = ", ".join(sorted(s.value for s in sources))
            raise InvalidTransition(
                # Quoted, because actions are verbs ("verify") or recorded events ("departed") alike.
                f"'{action}' is not allowed for a {self.noun} that is {current.value}; it must be {allowed}.",
                current_status=current.value,
            )
        return target

    def actions_from(self, current: S) -> list[A]:
        """The actions allowed from `current`, in declaration order."""
        return [action for action, (sources, _) in self.transitions.items() if current in sources]
