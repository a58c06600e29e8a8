"""Stock follows the order to the end: order.shipped turns its reservation into a sale, exactly once."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from shared.contracts.orders import TOPIC as ORDERS_TOPIC
from shared.contracts.orders import OrderCancelledV1, OrderShippedV1, PricedOrderLine
from tests.catalogue.conftest import (
    Seller,
    cloud_event,
    eventually,
    order_placed,
    produce,
    published_listing,
    reservation_status,
    stock,
)
from tests.support.platform import Platform


def shipped(order_id: str, listing_id: str, quantity: int) -> OrderShippedV1:
    return OrderShippedV1(
        order_id=order_id,
        occurred_at=datetime.now(UTC),
        marketplace_id="mkt-tmall-global",
        channel="b2c_marketplace",
        currency="USD",
        total=f"{15 * quantity}.00",
        buyer_country="CN",
        buyer_city="Hangzhou",
        lines=[
            PricedOrderLine(
                line_id="l1",
                listing_id=listing_id,
                quantity=quantity,
                seller_id="s",
                unit_price="15.00",
                line_value=f"{15 * quantity}.00",
            )
        ],
        shipment_id="shp-1",
    )


async def _status(platform: Platform, order_id: str, status: str) -> None:
    async def reached() -> bool:
        return await reservation_status(platform, order_id) == status

    await eventually(reached, what=f"reservation {order_id} {status}")


async def test_a_shipped_order_leaves_stock_once_whatever_the_redeliveries(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller, on_hand=10)
    order_id = f"sale-{uuid.uuid4()}"
    await produce(platform, ORDERS_TOPIC, cloud_event(order_placed(order_id, (listing["id"], 3)), subject=order_id))
    await _status(platform, order_id, "reserved")
    assert await stock(platform, listing["id"]) == (10, 3)

    event = cloud_event(shipped(order_id, listing["id"], 3), subject=order_id)
    repeat = cloud_event(shipped(order_id, listing["id"], 3), subject=order_id)  # same fact, another id
    # A cancel after the shipment must not give the sold units back either.
    late_cancel = cloud_event(OrderCancelledV1(order_id=order_id, occurred_at=datetime.now(UTC)), subject=order_id)
    await produce(platform, ORDERS_TOPIC, event, event, repeat, late_cancel)
    await _status(platform, order_id, "sold")

    async def settled() -> bool:
        return await stock(platform, listing["id"]) == (7, 0)

    await eventually(settled, what="the sale")
    # A marker keyed like the order travels on its partition behind the copies: once it is reserved,
    # the copies and the late cancel were consumed.
    marker = f"sale-marker-{uuid.uuid4()}"
    await produce(platform, ORDERS_TOPIC, cloud_event(order_placed(marker, (listing["id"], 1)), subject=order_id))
    await _status(platform, marker, "reserved")
    assert await stock(platform, listing["id"]) == (7, 1)


async def test_a_shipment_for_released_stock_moves_nothing(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller, on_hand=5)
    order_id = f"sale-{uuid.uuid4()}"
    placed = cloud_event(order_placed(order_id, (listing["id"], 2)), subject=order_id)
    cancelled = cloud_event(OrderCancelledV1(order_id=order_id, occurred_at=datetime.now(UTC)), subject=order_id)
    await produce(platform, ORDERS_TOPIC, placed, cancelled)
    await _status(platform, order_id, "released")
    await produce(platform, ORDERS_TOPIC, cloud_event(shipped(order_id, listing["id"], 2), subject=order_id))
    marker = f"sale-marker-{uuid.uuid4()}"
    await produce(platform, ORDERS_TOPIC, cloud_event(order_placed(marker, (listing["id"], 1)), subject=order_id))
    await _status(platform, marker, "reserved")
    assert await reservation_status(platform, order_id) == "released"
    assert await stock(platform, listing["id"]) == (5, 1)
