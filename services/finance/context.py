"""What finance's areas share without touching the database: the event source, the status sets the
rules turn on, the caller's role, today, and the 422 helpers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from services.finance.domain import Role, Status
from shared.auth import Identity
from shared.auth import Role as KeyRole
from shared.errors import FieldError, NotFound, invalid, invalid_field
from shared.money import minor_units
from shared.outbox import EventSource

__all__ = [
    "CLOSED",
    "EVENTS",
    "LENDER_VISIBLE",
    "LIVE",
    "MAX_SELLER_ID",
    "REEVALUATED",
    "SYSTEM_ACTOR",
    "currency_places",
    "refuse_extra_places",
    "role_of",
    "today",
]

EVENTS = EventSource("/ewtp/finance")
#: Seller ids are stored (and published) in 64 characters.
MAX_SELLER_ID = 64
SYSTEM_ACTOR = "system"

#: Once an application reaches one of these, the orders it claimed are free for another application.
CLOSED = frozenset({Status.REJECTED, Status.WITHDRAWN, Status.REPAID, Status.WRITTEN_OFF})
#: Loans with money out: interest runs on them.
LIVE = frozenset({Status.DISBURSED, Status.IN_ARREARS})
#: What a lender sees: everything a seller has submitted, never a draft (not in the queue, 404 by id).
LENDER_VISIBLE = tuple(s.value for s in Status if s is not Status.DRAFT)
#: Awaiting a lender's decision: here the stored eligibility is what the lender decides on, so it is
#: evaluated again when a lender opens the application and when a linked order ends.
REEVALUATED = frozenset({Status.SUBMITTED, Status.UNDER_REVIEW})

_ROLES = {KeyRole.SELLER: Role.SELLER, KeyRole.LENDER: Role.LENDER, KeyRole.OPS: Role.OPS}


def role_of(identity: Identity) -> Role:
    role = _ROLES.get(identity.role)
    if role is None:  # the routes' require_roles refuses these first
        raise NotFound("No such application.")
    return role


def today() -> date:
    return datetime.now(UTC).date()


def refuse_extra_places(*checks: FieldError | None) -> None:
    errors = [e for e in checks if e is not None]
    if errors:
        raise invalid(errors)


def currency_places(currency: str) -> int:
    try:
        return minor_units(currency)
    except ValueError:
        raise invalid_field("currency", "a currency with no minor units cannot be lent in") from None
