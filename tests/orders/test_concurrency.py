"""Many marketplaces' orders racing for the last units, and events delivered twice or out of order."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from services.orders.models import Order
from shared.contracts import catalogue, logistics
from shared.tables import inbox_table
from tests.orders.conftest import eventually, history, listing, order_body, place, stock, wait_status
from tests.support.events import cloud_event, produce_events
from tests.support.factories import Seller
from tests.support.platform import Platform


@pytest.mark.timeout(240)  # 400 saga hops on a shared, loaded machine: generous, never a wall-time assertion
async def test_200_concurrent_orders_for_the_last_10_units_confirm_exactly_10(
    platform: Platform, seller: Seller
) -> None:
    made = await listing(platform, seller, on_hand=10)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        responses = await asyncio.gather(
            *(marketplace.post("/v1/orders", json=order_body((made["id"], 1))) for _ in range(200))
        )
    assert Counter(r.status_code for r in responses) == {201: 200}
    ids = [r.json()["id"] for r in responses]

    async def settled() -> Counter[str] | None:
        async with platform.db("orders") as db, db.read() as session:
            stmt = select(Order.status, func.count()).where(Order.id.in_(ids)).group_by(Order.status)
            seen = Counter({status: int(n) for status, n in (await session.execute(stmt)).all()})
        return seen if seen["pending"] == 0 else None

    outcome = await eventually(settled, timeout_s=200, what="every racing order to be decided")
    assert outcome == {"confirmed": 10, "rejected": 190}
    assert await stock(platform, made["id"]) == (10, 10)
    async with platform.client(platform.keys["ops"]) as ops:
        confirmed = await ops.get("/v1/orders", params={"seller_id": seller.id, "status": "confirmed", "limit": 200})
    assert len({o["id"] for o in confirmed.json()["items"]} & set(ids)) == 10


async def test_a_redelivered_or_repeated_event_takes_effect_once(platform: Platform, seller: Seller) -> None:
    made = await listing(platform, seller, on_hand=10)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (made["id"], 2))
    await wait_status(platform, order["id"], "confirmed")
    now = datetime.now(UTC)
    again = cloud_event(
        catalogue.StockReservedV1(
            order_id=order["id"],
            occurred_at=now,
            lines=[catalogue.ReservedLine(line_id="1", listing_id=made["id"], quantity=2)],
        ),
        subject=order["id"],
    )
    dispatched = cloud_event(
        logistics.ShipmentDispatchedV1(order_id=order["id"], occurred_at=now, shipment_id="shp-redelivered"),
        subject=order["id"],
    )
    delivered = cloud_event(
        logistics.ShipmentDeliveredV1(order_id=order["id"], occurred_at=now, shipment_id="shp-redelivered"),
        subject=order["id"],
    )
    # The same dispatch twice (a redelivery: same event id) and a second stock.reserved (a repeat).
    # Delivered comes after the copies on the order's partition: once it shows, the copies were consumed.
    await produce_events(platform.broker.bootstrap, catalogue.TOPIC, again)
    await produce_events(platform.broker.bootstrap, logistics.TOPIC, dispatched, dispatched, delivered)
    await wait_status(platform, order["id"], "delivered")

    async def consumed() -> bool:
        async with platform.db("orders") as db, db.read() as session:
            stmt = select(func.count()).select_from(inbox_table).where(inbox_table.c.event_id == again.id)
            return int((await session.execute(stmt)).scalar_one()) == 1

    await eventually(consumed, what="the repeated stock.reserved to be consumed")

    async def sold() -> bool:
        return await stock(platform, made["id"]) == (8, 0)

    await eventually(sold, what="the sale")
    moves = [t["action"] for t in await history(platform, order["id"])]
    assert moves == ["place", "stock_reserved", "shipment_dispatched", "shipment_delivered"]
