"""Event handlers: the listing and quote projections, and the saga's answers from catalogue and logistics.

Each handler runs in the consumer runner's one transaction, after the event's inbox row was claimed
(`shared.consumer`): a redelivered event is skipped before it reaches these handlers. Handlers read
only the contract fields they need; an event about an order orders does not know is answered by
doing nothing (catalogue's own tests put such orders on the topic).
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.orders import saga
from services.orders.domain import Action
from services.orders.repository import OrderRepository
from shared.consumer import Handler
from shared.contracts import CloudEvent
from shared.contracts import catalogue as catalogue_events
from shared.contracts import logistics as logistics_events
from shared.money import to_minor

CATALOGUE_GROUP = "orders.catalogue"
LOGISTICS_GROUP = "orders.logistics"

_LISTING_EVENTS: dict[str, type[catalogue_events._ListingEvent]] = {
    catalogue_events.ListingPublishedV1.TYPE: catalogue_events.ListingPublishedV1,
    catalogue_events.ListingUpdatedV1.TYPE: catalogue_events.ListingUpdatedV1,
    catalogue_events.ListingWithdrawnV1.TYPE: catalogue_events.ListingWithdrawnV1,
}


def category_of(event: CloudEvent, hs_code: str) -> str:
    """The listing's category when the event carries one, else its HS heading (`hs:0901`)."""
    raw = event.data.get("category") if isinstance(event.data, dict) else None
    if isinstance(raw, str) and 0 < len(raw) <= 64:
        return raw
    return f"hs:{hs_code[:4]}"


async def on_listing_event(session: AsyncSession, event: CloudEvent) -> None:
    data = _LISTING_EVENTS[event.type].from_event(event)
    await OrderRepository(session).upsert_listing(
        {
            "id": data.listing_id[:64],
            "seller_id": data.seller_id[:64],
            "sku": data.sku[:64],
            "title": data.title[:300],
            "price_minor": to_minor(Decimal(data.price.amount), data.price.currency),
            "currency": data.price.currency[:3],
            "hs_code": data.hs_code[:12],
            "category": category_of(event, data.hs_code),
            "unit_net_weight_g": data.unit_net_weight_g,
            "status": data.status[:20],
            "version": data.version,
            "updated_at": data.occurred_at,
        }
    )


async def on_quote_issued(session: AsyncSession, event: CloudEvent) -> None:
    data = logistics_events.QuoteIssuedV1.from_event(event)
    options = [
        {
            "option_id": o.option_id,
            "total": o.total,
            "currency": o.currency,
            "mode": o.mode,
            "valid_until": o.valid_until.isoformat(),
        }
        for o in data.options
    ]
    await OrderRepository(session).upsert_quote(
        {
            "id": data.quote_id,
            "destination": data.destination,
            "incoterm": data.incoterm,
            "options": options,
            "issued_at": data.occurred_at,
        }
    )


async def on_stock_reserved(session: AsyncSession, event: CloudEvent) -> None:
    data = catalogue_events.StockReservedV1.from_event(event)
    await saga.apply(session, data.order_id, Action.STOCK_RESERVED, event=event)


async def on_stock_rejected(session: AsyncSession, event: CloudEvent) -> None:
    data = catalogue_events.StockRejectedV1.from_event(event)
    rejected = [line.model_dump() for line in data.lines]
    reasons = ", ".join(f"{line.line_id}: {line.reason}" for line in data.lines)
    await saga.apply(
        session,
        data.order_id,
        Action.STOCK_REJECTED,
        event=event,
        note=reasons or None,
        updates={"rejected_lines": rejected},
    )


async def on_shipment_booked(session: AsyncSession, event: CloudEvent) -> None:
    data = logistics_events.ShipmentBookedV1.from_event(event)
    await saga.apply(
        session, data.order_id, Action.SHIPMENT_BOOKED, event=event, updates={"shipment_id": data.shipment_id}
    )


async def on_shipment_booking_failed(session: AsyncSession, event: CloudEvent) -> None:
    data = logistics_events.ShipmentBookingFailedV1.from_event(event)
    await saga.apply(session, data.order_id, Action.SHIPMENT_BOOKING_FAILED, event=event, note=data.reason)


async def on_shipment_dispatched(session: AsyncSession, event: CloudEvent) -> None:
    data = logistics_events.ShipmentDispatchedV1.from_event(event)
    await saga.apply(
        session, data.order_id, Action.SHIPMENT_DISPATCHED, event=event, updates={"shipment_id": data.shipment_id}
    )


async def on_shipment_delivered(session: AsyncSession, event: CloudEvent) -> None:
    data = logistics_events.ShipmentDeliveredV1.from_event(event)
    await saga.apply(
        session, data.order_id, Action.SHIPMENT_DELIVERED, event=event, updates={"shipment_id": data.shipment_id}
    )


CATALOGUE_HANDLERS: dict[str, Handler] = {
    **dict.fromkeys(_LISTING_EVENTS, on_listing_event),
    catalogue_events.StockReservedV1.TYPE: on_stock_reserved,
    catalogue_events.StockRejectedV1.TYPE: on_stock_rejected,
}

LOGISTICS_HANDLERS: dict[str, Handler] = {
    logistics_events.QuoteIssuedV1.TYPE: on_quote_issued,
    logistics_events.ShipmentBookedV1.TYPE: on_shipment_booked,
    logistics_events.ShipmentBookingFailedV1.TYPE: on_shipment_booking_failed,
    logistics_events.ShipmentDispatchedV1.TYPE: on_shipment_dispatched,
    logistics_events.ShipmentDeliveredV1.TYPE: on_shipment_delivered,
}
