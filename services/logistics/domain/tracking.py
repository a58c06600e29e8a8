"""Shipment lifecycle and tracking timeline.

Guarantee: the status changes only along `LIFECYCLE` (shared/state_machine.py; anything else is a
409 `InvalidTransition`); a repeated tracking event changes nothing; events arriving out of order keep
the timeline sorted (time, then lifecycle order, then actual before estimated); the status follows
the latest ACTUAL event; `shipment.dispatched` and `shipment.delivered` are each signalled once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.logistics.domain.incoterms import InvalidQuoteRequest, check_locode
from shared.state_machine import InvalidTransition, StateMachine

__all__ = [
    "LIFECYCLE",
    "TRANSITIONS",
    "Action",
    "Classifier",
    "ShipmentAction",
    "ShipmentStatus",
    "TrackingCode",
    "TrackingEvent",
    "TrackingOutcome",
    "next_status",
    "record_tracking",
]


class ShipmentStatus(StrEnum):
    PENDING = "pending"  # order confirmed with a quote; booking not yet decided
    BOOKED = "booked"
    BOOKING_FAILED = "booking_failed"
    PICKED_UP = "picked_up"
    EXPORT_CLEARED = "export_cleared"
    IN_TRANSIT = "in_transit"  # after an actual departure (the first one emits shipment.dispatched)
    ARRIVED = "arrived"
    IMPORT_CLEARED = "import_cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"


class ShipmentAction(StrEnum):
    BOOK = "book"
    FAIL_BOOKING = "fail_booking"
    CANCEL = "cancel"  # the order was cancelled before the goods left


class TrackingCode(StrEnum):
    """DOMAIN.md's internal enum, in lifecycle order (the order breaks ties between equal times)."""

    BOOKED = "booked"
    PICKED_UP = "picked_up"
    EXPORT_CLEARED = "export_cleared"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    IMPORT_CLEARED = "import_cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class Classifier(StrEnum):
    ACTUAL = "actual"
    ESTIMATED = "estimated"


_STATUS_OF_CODE: dict[TrackingCode, ShipmentStatus] = {
    TrackingCode.BOOKED: ShipmentStatus.BOOKED,
    TrackingCode.PICKED_UP: ShipmentStatus.PICKED_UP,
    TrackingCode.EXPORT_CLEARED: ShipmentStatus.EXPORT_CLEARED,
    TrackingCode.DEPARTED: ShipmentStatus.IN_TRANSIT,
    TrackingCode.ARRIVED: ShipmentStatus.ARRIVED,
    TrackingCode.IMPORT_CLEARED: ShipmentStatus.IMPORT_CLEARED,
    TrackingCode.OUT_FOR_DELIVERY: ShipmentStatus.OUT_FOR_DELIVERY,
    TrackingCode.DELIVERED: ShipmentStatus.DELIVERED,
    TrackingCode.EXCEPTION: ShipmentStatus.EXCEPTION,
}

#: Statuses that accept tracking events. The status follows the latest ACTUAL event by time, and
#: carriers' feeds arrive out of order, so any live status may move to any event's status.
_LIVE = frozenset(_STATUS_OF_CODE.values()) - {ShipmentStatus.DELIVERED}
#: Cancellable until the goods depart; after that the order must be handled as a return.
_CANCELLABLE = frozenset(
    {ShipmentStatus.PENDING, ShipmentStatus.BOOKED, ShipmentStatus.PICKED_UP, ShipmentStatus.EXPORT_CLEARED}
)

Action = ShipmentAction | TrackingCode

#: action → (statuses it may start from, status it leads to).
LIFECYCLE: StateMachine[Action, ShipmentStatus] = StateMachine(
    "shipment",
    {
        ShipmentAction.BOOK: (frozenset({ShipmentStatus.PENDING}), ShipmentStatus.BOOKED),
        ShipmentAction.FAIL_BOOKING: (frozenset({ShipmentStatus.PENDING}), ShipmentStatus.BOOKING_FAILED),
        ShipmentAction.CANCEL: (_CANCELLABLE, ShipmentStatus.CANCELLED),
        **{code: (_LIVE, _STATUS_OF_CODE[code]) for code in TrackingCode},
    },
)

#: The same table flattened to (status, action) → next status, for documentation and tests.
TRANSITIONS: dict[tuple[ShipmentStatus, Action], ShipmentStatus] = LIFECYCLE.table()


def next_status(current: ShipmentStatus, action: Action) -> ShipmentStatus:
    """The status `action` leads to from `current`; `InvalidTransition` (409) when it may not."""
    return LIFECYCLE.next(current, action)


_CODE_RANK = {c: i for i, c in enumerate(TrackingCode)}
_CLASSIFIER_RANK = {c: i for i, c in enumerate(Classifier)}


@dataclass(frozen=True, slots=True, order=False)
class TrackingEvent:
    """Equal fields = the same event: a repeat is a duplicate and is ignored."""

    code: TrackingCode
    classifier: Classifier
    at: datetime  # timezone-aware
    location: str  # UN/LOCODE

    def __post_init__(self) -> None:
        check_locode(self.location, "location")
        if self.at.tzinfo is None:
            raise InvalidQuoteRequest(
                "tracking time needs a time zone", errors=[{"field": "at", "reason": "no time zone"}]
            )

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _CODE_RANK[self.code], _CLASSIFIER_RANK[self.classifier])


@dataclass(frozen=True, slots=True)
class TrackingOutcome:
    timeline: tuple[TrackingEvent, ...]  # sorted by time
    status: ShipmentStatus
    duplicate: bool = False
    dispatched: bool = False  # emit shipment.dispatched now
    delivered: bool = False  # emit shipment.delivered now


def _departed(timeline: Iterable[TrackingEvent]) -> bool:
    return any(e.code is TrackingCode.DEPARTED and e.classifier is Classifier.ACTUAL for e in timeline)


def record_tracking(status: ShipmentStatus, timeline: Sequence[TrackingEvent], event: TrackingEvent) -> TrackingOutcome:
    """Add `event` to a shipment's timeline and derive its status and the events to emit.

    Duplicates change nothing (whatever the status). A late event older than the latest actual one
    joins the timeline without moving the status. `dispatched` fires once: on the first actual
    departure, or together with delivery when no departure was ever reported.
    """
    if event in timeline:
        return TrackingOutcome(tuple(timeline), status, duplicate=True)
    if status not in _LIVE and status is not ShipmentStatus.DELIVERED:
        raise InvalidTransition(
            f"A shipment that is {status.value} takes no tracking events.", current_status=status.value
        )
    merged = tuple(sorted([*timeline, event], key=TrackingEvent.sort_key))
    actual = [e for e in merged if e.classifier is Classifier.ACTUAL]
    new_status = _STATUS_OF_CODE[actual[-1].code] if actual else status
    if new_status is not status:
        new_status = next_status(status, actual[-1].code)
    was_delivered = status is ShipmentStatus.DELIVERED
    delivered = new_status is ShipmentStatus.DELIVERED and not was_delivered
    first_departure = event.code is TrackingCode.DEPARTED and event.classifier is Classifier.ACTUAL
    dispatched = not was_delivered and not _departed(timeline) and (first_departure or delivered)
    return TrackingOutcome(merged, new_status, dispatched=dispatched, delivered=delivered)
