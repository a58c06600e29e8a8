"""Event handlers: the seller projection (from `sellers.events`) and the stock saga (from `orders.events`).

Each handler runs in the consumer runner's one transaction, after the event's inbox row was claimed
(`shared.consumer`): a redelivered event is skipped before it reaches these handlers. Handlers read
only the contract fields they need.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import SellerStatus
from services.catalogue.sellers import service as sellers
from services.catalogue.stock import service as stock
from shared.consumer import Handler
from shared.contracts import CloudEvent
from shared.contracts import orders as order_events
from shared.contracts import sellers as seller_events

SELLERS_GROUP = "catalogue.sellers"
ORDERS_GROUP = "catalogue.orders"

#: The status each seller event leads to (the event's own `status` field says the same).
_SELLER_STATUS: dict[str, tuple[type[seller_events._SellerEvent], SellerStatus]] = {
    seller_events.SellerRegisteredV1.TYPE: (seller_events.SellerRegisteredV1, SellerStatus.PENDING_VERIFICATION),
    seller_events.SellerVerifiedV1.TYPE: (seller_events.SellerVerifiedV1, SellerStatus.VERIFIED),
    seller_events.SellerRejectedV1.TYPE: (seller_events.SellerRejectedV1, SellerStatus.REJECTED),
    seller_events.SellerSuspendedV1.TYPE: (seller_events.SellerSuspendedV1, SellerStatus.SUSPENDED),
    seller_events.SellerReinstatedV1.TYPE: (seller_events.SellerReinstatedV1, SellerStatus.VERIFIED),
}


async def on_seller_event(session: AsyncSession, event: CloudEvent) -> None:
    contract, status = _SELLER_STATUS[event.type]
    data = contract.from_event(event)
    await sellers.apply_seller_status(session, data.seller_id, data.legal_name, status, data.occurred_at)


async def on_order_placed(session: AsyncSession, event: CloudEvent) -> None:
    await stock.reserve_for_order(session, order_events.OrderPlacedV1.from_event(event))


async def on_order_cancelled(session: AsyncSession, event: CloudEvent) -> None:
    data = order_events.OrderCancelledV1.from_event(event)
    await stock.release_for_order(session, data.order_id, "order_cancelled", cancelled=True)


async def on_order_rejected(session: AsyncSession, event: CloudEvent) -> None:
    data = order_events.OrderRejectedV1.from_event(event)
    await stock.release_for_order(session, data.order_id, "order_rejected", cancelled=False)


async def on_order_shipped(session: AsyncSession, event: CloudEvent) -> None:
    data = order_events.OrderShippedV1.from_event(event)
    await stock.sell_for_order(session, data.order_id)


SELLER_HANDLERS: dict[str, Handler] = dict.fromkeys(_SELLER_STATUS, on_seller_event)

ORDER_HANDLERS: dict[str, Handler] = {
    order_events.OrderPlacedV1.TYPE: on_order_placed,
    order_events.OrderCancelledV1.TYPE: on_order_cancelled,
    order_events.OrderRejectedV1.TYPE: on_order_rejected,
    order_events.OrderShippedV1.TYPE: on_order_shipped,
}
