"""A small state machine: a transitions table and the refusal every service answers the same way.

Each aggregate with a lifecycle (seller, listing, order, booking, application) declares, per action,
where it may start and where it leads: either `(states it may start from, state it leads to)` when
every source leads to one target, or `{source: target}` when the target depends on the source (an
order's `cancel`, a booking's `reschedule` that stays confirmed, an application's `edit` that keeps
its state). `next` returns the target or raises `InvalidTransition` (409 problem, naming the current
state in `current_status` and, in the detail, the states that would allow it). Keeping the table as
data lets the API documentation, the tests and the code read the same facts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Generic, TypeVar

from shared.errors import Conflict

__all__ = ["REFUSAL", "InvalidTransition", "StateMachine"]

S = TypeVar("S", bound=StrEnum)
A = TypeVar("A", bound=str)

#: The kit's wording of a refusal. Placeholders: {action} (the action's value), {verb} (the same with
#: underscores as spaces), {noun}, {current} and {allowed} (the states that would allow it).
#: Quoted, because actions are verbs ("verify") or recorded events ("departed") alike.
REFUSAL = "'{action}' is not allowed for a {noun} that is {current}; it must be {allowed}."


class InvalidTransition(Conflict):
    """The action is not allowed from the aggregate's current state (409)."""


@dataclass(frozen=True)
class StateMachine(Generic[A, S]):
    #: What the aggregate is called in messages ("seller", "listing").
    noun: str
    #: action -> (sources, target), or action -> {source: target} when the target depends on the source.
    transitions: Mapping[A, tuple[frozenset[S], S] | Mapping[S, S]]
    #: How a refusal reads (see REFUSAL); a service keeps the wording its clients already know.
    refusal: str = REFUSAL

    @classmethod
    def from_table(cls, noun: str, table: Mapping[tuple[S, A], S], refusal: str = REFUSAL) -> StateMachine[A, S]:
        """A machine from a `(state, action) -> state` table, the shape a per-source lifecycle reads best in."""
        routes: dict[A, dict[S, S]] = {}
        for (source, action), target in table.items():
            routes.setdefault(action, {})[source] = target
        return cls(noun, routes, refusal)

    def routes(self, action: A) -> Mapping[S, S]:
        """`{source: target}` for `action` (empty when the machine does not know the action)."""
        route = self.transitions.get(action)
        if route is None:
            return {}
        if isinstance(route, tuple):
            sources, target = route
            return dict.fromkeys(sources, target)
        return route

    def sources(self, action: A) -> frozenset[S]:
        """The states `action` may start from."""
        return frozenset(self.routes(action))

    def target(self, current: S, action: A) -> S | None:
        """The state `action` leads to from `current`, or None when it may not be taken from there."""
        return self.routes(action).get(current)

    def allows(self, current: S, action: A) -> bool:
        return self.target(current, action) is not None

    def refuse(self, current: S, action: A) -> InvalidTransition:
        """The 409 for `action` from `current`: names the current state and the states that allow it."""
        allowed = ", ".join(sorted(s.value for s in self.sources(action))) or "nothing"
        return InvalidTransition(
            self.refusal.format(
                action=action,
                verb=str(action).replace("_", " "),
                noun=self.noun,
                current=current.value,
                allowed=allowed,
            ),
            current_status=current.value,
        )

    def next(self, current: S, action: A) -> S:
        target = self.target(current, action)
        if target is None:
            raise self.refuse(current, action)
        return target

    def actions_from(self, current: S) -> list[A]:
        """The actions allowed from `current`, in declaration order."""
        return [action for action in self.transitions if current in self.routes(action)]

    def table(self) -> dict[tuple[S, A], S]:
        """Every legal move as `(state, action) -> state` (for documentation and tests)."""
        return {
            (source, action): target for action in self.transitions for source, target in self.routes(action).items()
        }
