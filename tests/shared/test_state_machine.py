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


class Loan(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    CLOSED = "closed"


#: Per-source targets: `edit` keeps the state it starts from; `close` leads to one target from two.
LOAN: StateMachine[str, Loan] = StateMachine.from_table(
    "loan",
    {
        (Loan.DRAFT, "edit"): Loan.DRAFT,
        (Loan.SENT, "edit"): Loan.SENT,
        (Loan.DRAFT, "send"): Loan.SENT,
        (Loan.DRAFT, "close"): Loan.CLOSED,
        (Loan.SENT, "close"): Loan.CLOSED,
    },
    refusal="Cannot {verb} a {noun} that is {current}; it must be {allowed}.",
)


def test_a_target_may_depend_on_the_source() -> None:
    assert LOAN.next(Loan.DRAFT, "edit") is Loan.DRAFT
    assert LOAN.next(Loan.SENT, "edit") is Loan.SENT
    assert LOAN.actions_from(Loan.SENT) == ["edit", "close"]
    assert LOAN.sources("close") == {Loan.DRAFT, Loan.SENT}
    assert LOAN.table()[(Loan.DRAFT, "send")] is Loan.SENT and len(LOAN.table()) == 5


def test_a_per_source_refusal_names_the_current_and_allowed_states_in_the_services_words() -> None:
    with pytest.raises(InvalidTransition) as refused:
        LOAN.next(Loan.CLOSED, "edit")
    assert refused.value.detail == "Cannot edit a loan that is closed; it must be draft, sent."
    assert refused.value.extra == {"current_status": "closed"}
    assert LOAN.target(Loan.CLOSED, "unknown") is None


def test_both_shapes_mix_in_one_machine() -> None:
    mixed: StateMachine[str, Door] = StateMachine(
        "door",
        {"close": (frozenset({Door.OPEN}), Door.CLOSED), "toggle": {Door.OPEN: Door.CLOSED, Door.CLOSED: Door.OPEN}},
    )
    assert mixed.next(Door.CLOSED, "toggle") is Door.OPEN
    assert mixed.table() == {
        (Door.OPEN, "close"): Door.CLOSED,
        (Door.OPEN, "toggle"): Door.CLOSED,
        (Door.CLOSED, "toggle"): Door.OPEN,
    }
