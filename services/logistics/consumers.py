"""Event handlers: the order saga's side of logistics (from `orders.events`).

Each handler runs in the consumer runner's one transaction, after the event's inbox row was claimed
(`shared.consumer`): a redelivered event is skipped before it reaches these handlers. Handlers read
only the contract fields they need.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.shipments import service as shipments
from shared.consumer import Handler
from shared.contracts import CloudEvent
from shared.contracts import orders as order_events

ORDERS_GROUP = "logistics.orders"


async def on_order_confirmed(session: AsyncSession, event: CloudEvent) -> None:
    await shipments.book_for_order(session, order_events.OrderConfirmedV1.from_event(event))


async def on_order_cancelled(session: AsyncSession, event: CloudEvent) -> None:
    data = order_events.OrderCancelledV1.from_event(event)
    await shipments.cancel_for_order(session, data.order_id, data.reason)


ORDER_HANDLERS: dict[str, Handler] = {
    order_events.OrderConfirmedV1.TYPE: on_order_confirmed,
    order_events.OrderCancelledV1.TYPE: on_order_cancelled,
}
