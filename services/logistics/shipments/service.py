"""Shipment use cases: booking on `order.confirmed`, cancelling on `order.cancelled`, tracking.

Booking is decided exactly once per order: the consumer's inbox skips a redelivered event, and a
second confirmation of the same order (another event id) finds the decision already recorded (the
order id is unique, and the order's aggregate lock is held from the check to the commit).

Tracking events are posted by ops (for carriers). The status follows the latest actual event; a
repeated event changes nothing; the timeline is sorted by time whatever the arrival order; the
first actual departure emits `shipment.dispatched`, delivery `shipment.delivered` (domain/tracking.py).
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ColumnElement
from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.context import EVENTS, owner_of, sees_all
from services.logistics.domain.pricing import booking_refusal
from services.logistics.domain.tracking import (
    Classifier,
    ShipmentAction,
    ShipmentStatus,
    TrackingCode,
    TrackingEvent,
    next_status,
    record_tracking,
)
from services.logistics.models import ShipmentRow, TrackingEventRow
from services.logistics.quotes.repository import QuoteRepository
from services.logistics.schemas import ShipmentOut, TrackingEventIn, TrackingEventOut
from services.logistics.shipments.repository import ShipmentRepository
from shared.auth import Identity, Role
from shared.contracts import logistics as events
from shared.contracts.orders import OrderConfirmedV1
from shared.db import utcnow
from shared.errors import NotFound, invalid
from shared.outbox import lock_aggregate
from shared.pagination import Page, cursor_datetime, cursor_id, decode_cursor, fetch_size, keyset_page
from shared.state_machine import InvalidTransition

__all__ = ["book_for_order", "cancel_for_order", "get_shipment", "search", "track"]

log = logging.getLogger("ewtp.logistics.shipments")

#: How far ahead of our clock an ACTUAL event may be stamped (a carrier's clock skew).
_CLOCK_SKEW = timedelta(minutes=5)
_REASON_MAX = 500


# --- reading -------------------------------------------------------------------------------------


def _event_of(row: TrackingEventRow) -> TrackingEvent:
    return TrackingEvent(TrackingCode(row.code), Classifier(row.classifier), row.at, row.location)


def _shipment_out(row: ShipmentRow, timeline: list[TrackingEvent]) -> ShipmentOut:
    total = {"amount": row.total, "currency": row.currency} if row.total and row.currency else None
    return ShipmentOut.model_validate(
        {
            "id": row.id,
            "order_id": row.order_id,
            "quote_id": row.quote_id,
            "option_id": row.option_id,
            "status": row.status,
            "mode": row.mode,
            "carrier": row.carrier,
            "tracking_number": row.tracking_number,
            "failure_reason": row.failure_reason,
            "gross_weight_kg": row.gross_weight_kg,
            "total": total,
            "created_at": row.created_at,
            "updated_at": row.updated_at,
            "timeline": [
                TrackingEventOut(code=e.code, classifier=e.classifier, at=e.at, location=e.location)
                for e in sorted(timeline, key=TrackingEvent.sort_key)
            ],
        }
    )


def _visible(row: ShipmentRow, identity: Identity) -> bool:
    if sees_all(identity):
        return True
    if identity.role is Role.MARKETPLACE and row.marketplace_id == identity.subject:
        return True
    return row.quote_owner == owner_of(identity)


def _visibility(identity: Identity) -> ColumnElement[bool] | None:
    if sees_all(identity):
        return None
    mine = ShipmentRow.quote_owner == owner_of(identity)
    if identity.role is Role.MARKETPLACE:
        return mine | (ShipmentRow.marketplace_id == identity.subject)
    return mine


async def _load(repo: ShipmentRepository, shipment_id: str, identity: Identity, *, lock: bool = False) -> ShipmentRow:
    row = await repo.get(shipment_id, lock=lock)
    if row is None or not _visible(row, identity):
        raise NotFound(f"Shipment {shipment_id} does not exist.")
    return row


async def get_shipment(session: AsyncSession, shipment_id: str, identity: Identity) -> ShipmentOut:
    repo = ShipmentRepository(session)
    row = await _load(repo, shipment_id, identity)
    return _shipment_out(row, [_event_of(e) for e in await repo.timeline(row.id)])


async def search(
    session: AsyncSession,
    identity: Identity,
    *,
    limit: int,
    cursor: str | None,
    order_id: str | None,
    status: ShipmentStatus | None,
) -> Page[ShipmentOut]:
    after = None
    if cursor:
        position = decode_cursor(cursor, ("t", "id"))
        after = (cursor_datetime(position["t"]), cursor_id(position["id"]))
    repo = ShipmentRepository(session)
    found = await repo.search(
        limit=fetch_size(limit),
        after=after,
        order_id=order_id,
        status=status.value if status else None,
        visible=_visibility(identity),
    )
    rows, next_cursor = keyset_page(found, limit, lambda r: {"t": r.created_at.isoformat(), "id": r.id})
    timelines = await repo.timelines([r.id for r in rows])
    items = [_shipment_out(r, [_event_of(e) for e in timelines[r.id]]) for r in rows]
    return Page[ShipmentOut](items=items, next_cursor=next_cursor)


# --- booking -------------------------------------------------------------------------------------


def _choose(body: dict[str, Any], option_id: str | None) -> dict[str, Any] | str:
    """The option the order chose, or why none can be booked."""
    options: list[dict[str, Any]] = body.get("options") or []
    if option_id is not None:
        chosen = next((o for o in options if o["option_id"] == option_id), None)
        return chosen if chosen is not None else f"quote has no option {option_id}"
    if len(options) == 1:
        return options[0]
    if not options:
        return "quote has no option to book" + (f": {body['reason']}" if body.get("reason") else "")
    return f"quote has {len(options)} options and the order chose none"


def _decide(body: dict[str, Any] | None, order: OrderConfirmedV1) -> dict[str, Any] | str:
    if body is None:
        return f"unknown quote {order.logistics_quote_id}"
    if order.incoterm is not None and order.incoterm != body["incoterm"]:
        # The quote priced who pays for which leg under its own rule; another rule is another price.
        return f"order's Incoterm {order.incoterm} differs from the quote's {body['incoterm']}"
    chosen = _choose(body, order.logistics_option_id)
    if isinstance(chosen, str):
        return chosen
    weight = Decimal(order.gross_weight_kg) if order.gross_weight_kg is not None else Decimal(0)
    refusal = booking_refusal(
        valid_until=datetime.fromisoformat(chosen["valid_until"]),
        quoted_actual_kg=Decimal(body["actual_weight_kg"]),
        order_weight_kg=weight,
        now=order.occurred_at,
    )
    return refusal if refusal is not None else chosen


async def book_for_order(session: AsyncSession, order: OrderConfirmedV1) -> None:
    """Book the order's shipment from its quote, or record why not; once per order.

    The quote must still be valid when the order was confirmed (`occurred_at`, so a redelivery or a
    lagging consumer decides the same) and its weight must cover the order's gross weight.
    """
    quote_id = order.logistics_quote_id
    if quote_id is None:
        return  # no logistics chosen for this order
    await lock_aggregate(session, order.order_id)
    repo = ShipmentRepository(session)
    if await repo.by_order(order.order_id) is not None:
        return  # already decided (a second confirmation of the same order)
    found = await QuoteRepository(session).get(quote_id)
    decision = _decide(orjson.loads(found[1]) if found else None, order)
    now = utcnow()
    shipment_id = str(uuid.uuid4())
    values: dict[str, Any] = {
        "id": shipment_id,
        "order_id": order.order_id,
        "quote_id": quote_id,
        "option_id": order.logistics_option_id,
        "marketplace_id": order.marketplace_id,
        "quote_owner": found[0] if found else None,
        "gross_weight_kg": order.gross_weight_kg,
        "version": 1,
        "created_at": now,
        "updated_at": now,
    }
    if isinstance(decision, str):
        reason = decision[:_REASON_MAX]
        await repo.add({**values, "status": ShipmentStatus.BOOKING_FAILED.value, "failure_reason": reason})
        data: events.ShipmentBookedV1 | events.ShipmentBookingFailedV1 = events.ShipmentBookingFailedV1(
            order_id=order.order_id, quote_id=quote_id, reason=reason, occurred_at=now
        )
    else:
        tracking_number = f"EW{uuid.uuid4().hex[:12].upper()}"
        status = next_status(ShipmentStatus.PENDING, ShipmentAction.BOOK)
        await repo.add(
            {
                **values,
                "option_id": decision["option_id"],
                "status": status.value,
                "mode": decision["mode"],
                "carrier": decision["carrier"],
                "tracking_number": tracking_number,
                "total": decision["total"]["amount"],
                "currency": decision["total"]["currency"],
            }
        )
        data = events.ShipmentBookedV1(
            order_id=order.order_id,
            shipment_id=shipment_id,
            quote_id=quote_id,
            carrier=decision["carrier"],
            mode=decision["mode"],
            tracking_number=tracking_number,
            occurred_at=now,
        )
    await EVENTS.publish(session, data, subject=order.order_id)


async def cancel_for_order(session: AsyncSession, order_id: str, reason: str | None) -> None:
    """Cancel the order's shipment if the goods have not left; after departure nothing changes here
    (the goods are on their way: a return is a matter for ops)."""
    repo = ShipmentRepository(session)
    row = await repo.by_order(order_id, lock=True)
    if row is None:
        return
    try:
        status = next_status(ShipmentStatus(row.status), ShipmentAction.CANCEL)
    except InvalidTransition:
        log.info("order %s cancelled but its shipment is %s: left as is", order_id, row.status)
        return
    row.status = status.value
    row.version += 1
    row.updated_at = utcnow()
    await repo.flush()
    await EVENTS.publish(
        session,
        events.ShipmentCancelledV1(
            order_id=order_id,
            shipment_id=row.id,
            reason=(reason or "order cancelled")[:_REASON_MAX] or None,
            occurred_at=row.updated_at,
        ),
        subject=order_id,
    )


# --- tracking ------------------------------------------------------------------------------------


async def track(session: AsyncSession, shipment_id: str, body: TrackingEventIn, identity: Identity) -> ShipmentOut:
    """Add a tracking event to the shipment's timeline (a repeat changes nothing) and follow it."""
    now = utcnow()
    if body.classifier is Classifier.ACTUAL and body.at > now + _CLOCK_SKEW:
        raise invalid([{"field": "at", "reason": "an actual event cannot lie in the future"}])
    repo = ShipmentRepository(session)
    row = await _load(repo, shipment_id, identity, lock=True)
    timeline = [_event_of(e) for e in await repo.timeline(row.id)]
    event = TrackingEvent(body.code, body.classifier, body.at, body.location)
    outcome = record_tracking(ShipmentStatus(row.status), timeline, event)
    if outcome.duplicate:
        return _shipment_out(row, timeline)
    await repo.add_event(
        {
            "shipment_id": row.id,
            "code": event.code.value,
            "classifier": event.classifier.value,
            "at": event.at,
            "location": event.location,
            "recorded_by": identity.actor,
            "recorded_at": now,
        }
    )
    if outcome.status.value != row.status:
        row.status = outcome.status.value
        row.version += 1
        row.updated_at = now
        await repo.flush()
    if outcome.dispatched:
        await EVENTS.publish(
            session,
            events.ShipmentDispatchedV1(order_id=row.order_id, shipment_id=row.id, occurred_at=event.at),
            subject=row.order_id,
        )
    if outcome.delivered:
        await EVENTS.publish(
            session,
            events.ShipmentDeliveredV1(order_id=row.order_id, shipment_id=row.id, occurred_at=event.at),
            subject=row.order_id,
        )
    return _shipment_out(row, list(outcome.timeline))
