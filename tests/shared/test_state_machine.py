"""The shared transitions table: a target from an allowed state, a 409 naming the states otherwise."""

from __future__ import annotations

from enum import StrEnum

import pytest

from shared.state_machine import InvalidTransition, StateMachine


class Door(StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    LOCKED = "locked"


DOOR: StateMachine[str, Door] = StateMachine(
    "door",
    {
        "close": (frozenset({Door.OPEN}), Door.CLOSED),
        "lock": (frozenset({Door.CLOSED}), Door.LOCKED),
        "open": (frozenset({Door.CLOSED}), Door.OPEN),
    },
)


def test_an_allowed_action_leads_to_its_target() -> None:
    assert DOOR.next(Door.OPEN, "close") is Door.CLOSED
    assert DOOR.actions_from(Door.CLOSED) == ["lock", "open"]


def test_a_refused_action_is_a_409_naming_the_current_and_allowed_states() -> None:
    with pytest.raises(InvalidTransition) as refused:
        DOOR.next(Door.LOCKED, "open")
    assert refused.value.status == 409
    assert refused.value.detail == "'open' is not allowed for a door that is locked; it must be closed."
    assert refused.value.extra == {"current_status": "locked"}
