"""The whole saga through the gateway, every service real: a marketplace asks logistics for a quote,
places an order with the option it chose, catalogue reserves the stock, orders confirms, logistics
books the shipment, ops post the carrier's tracking, and the order is shipped then delivered."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from services.orders.models import QuoteProjection
from tests.logistics.conftest import eventually, parcel, shipment_of
from tests.orders.conftest import listing, place, wait_status
from tests.orders.conftest import seller as seller  # the orders tests' module-scoped verified seller
from tests.support.factories import Seller
from tests.support.platform import Platform


async def orders_knows_quote(platform: Platform, quote_id: str) -> None:
    async def seen() -> bool:
        async with platform.db("orders") as db, db.read() as session:
            return await session.scalar(select(QuoteProjection.id).where(QuoteProjection.id == quote_id)) is not None

    await eventually(seen, what=f"orders to know quote {quote_id}")


async def test_quote_order_confirmation_booking_tracking_shipped_and_delivered(
    platform: Platform, seller: Seller
) -> None:
    made = await listing(platform, seller, on_hand=20, price={"amount": "15.00", "currency": "USD"})
    request = {
        "origin": "RWKGL",
        "destination": "CNPVG",
        "incoterm": "DAP",
        "parcels": [parcel(1, "3.5", ("30", "20", "35"))],
    }
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        asked = await marketplace.post("/v1/logistics/quotes", json=request)
        assert asked.status_code == 201, asked.text
        quote = asked.json()
        air = next(o for o in quote["options"] if o["mode"] == "air")
        await orders_knows_quote(platform, quote["id"])
        order = await place(
            marketplace,
            (made["id"], 3),
            logistics_quote_id=quote["id"],
            logistics_option_id=air["option_id"],
            incoterm="DAP",
        )
    await wait_status(platform, order["id"], "confirmed")

    async def booked() -> dict[str, object] | None:
        found = await shipment_of(platform, order["id"])
        return found if found and found["status"] == "booked" else None

    shipment = await eventually(booked, what="logistics to book the shipment")
    assert (shipment["quote_id"], shipment["option_id"], shipment["gross_weight_kg"]) == (
        quote["id"],
        air["option_id"],
        "3.000",
    )
    async with platform.client(platform.keys["ops"]) as ops:
        path = f"/v1/logistics/shipments/{shipment['id']}/tracking-events"
        for code, location in (("picked_up", "RWKGL"), ("export_cleared", "RWKGL"), ("departed", "RWKGL")):
            response = await ops.post(path, json={"code": code, "at": _now(), "location": location})
            assert response.status_code == 200, response.text
        shipped = await wait_status(platform, order["id"], "shipped")
        assert shipped["shipment_id"] == shipment["id"]
        for code in ("arrived", "import_cleared", "out_for_delivery", "delivered"):
            response = await ops.post(path, json={"code": code, "at": _now(), "location": "CNPVG"})
            assert response.status_code == 200, response.text
    assert response.json()["status"] == "delivered"
    await wait_status(platform, order["id"], "delivered")


def _now() -> str:
    return datetime.now(UTC).isoformat()
