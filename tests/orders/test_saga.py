"""The order saga end to end through the gateway, with the real broker and the real catalogue."""

from __future__ import annotations

from tests.orders.conftest import (
    eventually,
    history,
    listing,
    order_body,
    place,
    ship,
    stock,
    wait_status,
)
from tests.support.factories import Seller
from tests.support.platform import Platform
from tests.support.problems import problem


async def test_an_order_with_stock_is_confirmed_and_captures_the_listing(platform: Platform, seller: Seller) -> None:
    made = await listing(platform, seller, on_hand=20, price={"amount": "15.00", "currency": "USD"})
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (made["id"], 3))
    assert order["status"] == "pending"
    assert order["marketplace_id"] == "mkt-tmall-global"
    line = order["lines"][0]
    assert (line["seller_id"], line["hs_code"], line["unit_price"], line["line_value"]) == (
        seller.id,
        "090111",
        {"amount": "15.00", "currency": "USD"},
        {"amount": "45.00", "currency": "USD"},
    )
    assert order["total"] == {"amount": "45.00", "currency": "USD"}
    assert order["gross_weight_kg"] == "3.000"
    confirmed = await wait_status(platform, order["id"], "confirmed")
    assert confirmed["reject_reason"] is None
    assert await stock(platform, made["id"]) == (20, 3)
    moves = [(t["from_status"], t["to_status"], t["action"]) for t in await history(platform, order["id"])]
    assert moves == [(None, "pending", "place"), ("pending", "confirmed", "stock_reserved")]


async def test_an_oversubscribed_order_is_rejected_with_the_reasons_per_line(
    platform: Platform, seller: Seller
) -> None:
    short = await listing(platform, seller, on_hand=2)
    plenty = await listing(platform, seller, on_hand=50)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (plenty["id"], 1), (short["id"], 5))
    rejected = await wait_status(platform, order["id"], "rejected")
    assert rejected["reject_reason"] == "stock"
    assert [(r["line_id"], r["reason"], r["available"]) for r in rejected["rejected_lines"]] == [
        ("2", "insufficient_stock", 2)
    ]
    assert await stock(platform, plenty["id"]) == (50, 0)


async def test_a_repeated_reference_returns_the_order_and_other_content_is_409(
    platform: Platform, seller: Seller
) -> None:
    made = await listing(platform, seller, on_hand=10)
    body = order_body((made["id"], 1))
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        first = await marketplace.post("/v1/orders", json=body)
        again = await marketplace.post("/v1/orders", json=body)
        changed = {**body, "lines": [{"listing_id": made["id"], "quantity": 2}]}
        other = await marketplace.post("/v1/orders", json=changed)
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    problem(other, 409)
    await wait_status(platform, first.json()["id"], "confirmed")
    assert await stock(platform, made["id"]) == (10, 1)


async def test_cancel_gives_the_stock_back_and_a_settled_order_cannot_be_cancelled(
    platform: Platform, seller: Seller
) -> None:
    made = await listing(platform, seller, on_hand=10)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (made["id"], 4))
        await wait_status(platform, order["id"], "confirmed")
        cancelled = await marketplace.post(f"/v1/orders/{order['id']}/cancel", json={"reason": "buyer changed mind"})
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"

        async def released() -> bool:
            return await stock(platform, made["id"]) == (10, 0)

        await eventually(released, what="catalogue to release the stock")
        body = problem(await marketplace.post(f"/v1/orders/{order['id']}/cancel"), 409)
    assert body["current_status"] == "cancelled"


async def test_shipping_turns_the_reservation_into_a_sale_once(platform: Platform, seller: Seller) -> None:
    made = await listing(platform, seller, on_hand=10)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (made["id"], 3))
    await wait_status(platform, order["id"], "confirmed")
    ids = await ship(platform, order["id"], "dispatched")
    await wait_status(platform, order["id"], "shipped")
    # A second dispatch (another event id for the same fact) changes nothing.
    await ship(platform, order["id"], "dispatched")
    await ship(platform, order["id"], "delivered")
    delivered = await wait_status(platform, order["id"], "delivered")
    assert delivered["shipment_id"] is not None

    async def sold() -> bool:
        return await stock(platform, made["id"]) == (7, 0)

    await eventually(sold, what="catalogue to turn the reservation into a sale")
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        problem(await marketplace.post(f"/v1/orders/{order['id']}/cancel"), 409)
    moves = [t["action"] for t in await history(platform, order["id"])]
    assert moves == ["place", "stock_reserved", "shipment_dispatched", "shipment_delivered"]
    assert ids


async def test_delivered_before_dispatched_still_ends_delivered_and_sold(platform: Platform, seller: Seller) -> None:
    made = await listing(platform, seller, on_hand=10)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (made["id"], 2))
    await wait_status(platform, order["id"], "confirmed")
    await ship(platform, order["id"], "delivered", "dispatched")
    await wait_status(platform, order["id"], "delivered")

    async def sold() -> bool:
        return await stock(platform, made["id"]) == (8, 0)

    await eventually(sold, what="catalogue to turn the reservation into a sale")
    moves = [(t["from_status"], t["to_status"]) for t in await history(platform, order["id"])]
    assert moves[-1] == ("confirmed", "delivered")
