"""The order saga's logistics side on the real broker: order.confirmed books a shipment exactly once
(or fails with a reason), ops' tracking events drive its status and the dispatched/delivered events,
order.cancelled cancels a shipment that has not left."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from services.logistics.models import ShipmentRow
from shared.contracts import logistics as contract
from tests.logistics.conftest import (
    as_event,
    ask_quote,
    counts,
    eventually,
    fields,
    logistics_events,
    new_order_id,
    order_cancelled,
    order_confirmed,
    problem,
    produce_orders,
    shipment_of,
)
from tests.support.platform import Platform

SHIPMENTS = "/v1/logistics/shipments"


@pytest.fixture(scope="module")
def seller_key(platform: Platform) -> str:
    return platform.issue_key("seller", f"seller-{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
async def quote(platform: Platform, seller_key: str) -> dict[str, Any]:
    """One multi-option quote (every mode) shared by the module's orders."""
    return await ask_quote(platform, seller_key)


def option(quote: dict[str, Any], mode: str) -> dict[str, Any]:
    return next(o for o in quote["options"] if o["mode"] == mode)


async def booked(platform: Platform, order_id: str) -> dict[str, Any]:
    async def found() -> dict[str, Any] | None:
        return await shipment_of(platform, order_id)

    return await eventually(found, what=f"a shipment decision for {order_id}")


async def track(platform: Platform, shipment_id: str, code: str, at: datetime, **extra: Any) -> dict[str, Any]:
    body = {"code": code, "at": at.isoformat(), "location": "RWKGL", **extra}
    async with platform.client(platform.keys["ops"]) as ops:
        response = await ops.post(f"{SHIPMENTS}/{shipment_id}/tracking-events", json=body)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def test_quote_booking_tracking_dispatch_and_delivery(
    platform: Platform, quote: dict[str, Any], seller_key: str
) -> None:
    order_id = new_order_id()
    air = option(quote, "air")
    await produce_orders(platform, as_event(order_confirmed(order_id, quote["id"], option_id=air["option_id"])))
    shipment = await booked(platform, order_id)
    assert shipment["status"] == "booked" and shipment["option_id"] == air["option_id"]
    assert (shipment["mode"], shipment["carrier"], shipment["total"]) == ("air", air["carrier"], air["total"])
    start = datetime.now(UTC) - timedelta(hours=6)
    sid = shipment["id"]
    await track(platform, sid, "picked_up", start)
    await track(platform, sid, "departed", start + timedelta(hours=3), classifier="estimated")
    state = await track(platform, sid, "export_cleared", start + timedelta(hours=2))
    assert state["status"] == "export_cleared"
    state = await track(platform, sid, "departed", start + timedelta(hours=4))
    assert state["status"] == "in_transit"
    again = await track(platform, sid, "departed", start + timedelta(hours=4))  # a carrier's repeat
    assert again["timeline"] == state["timeline"]
    late = await track(platform, sid, "booked", start - timedelta(hours=1))  # arrives last, happened first
    assert late["status"] == "in_transit"
    assert [e["code"] for e in late["timeline"]] == ["booked", "picked_up", "export_cleared", "departed", "departed"]
    delivered = await track(platform, sid, "delivered", start + timedelta(hours=5))
    assert delivered["status"] == "delivered"
    found = await logistics_events(
        platform,
        order_id,
        {contract.ShipmentBookedV1.TYPE, contract.ShipmentDispatchedV1.TYPE, contract.ShipmentDeliveredV1.TYPE},
    )
    assert [e.type for e in found] == [
        contract.ShipmentBookedV1.TYPE,
        contract.ShipmentDispatchedV1.TYPE,
        contract.ShipmentDeliveredV1.TYPE,
    ]
    booked_event = contract.ShipmentBookedV1.from_event(found[0])
    assert (booked_event.shipment_id, booked_event.quote_id) == (sid, quote["id"])
    assert booked_event.tracking_number == shipment["tracking_number"]
    for key in (seller_key, platform.keys["marketplace"], platform.keys["ops"]):  # quote owner, order's marketplace
        async with platform.client(key) as client:
            response = await client.get(f"{SHIPMENTS}/{sid}")
        assert response.status_code == 200 and response.json() == delivered
    stranger = platform.issue_key("seller", f"seller-{uuid.uuid4().hex[:8]}")
    async with platform.client(stranger) as client:
        problem(await client.get(f"{SHIPMENTS}/{sid}"), 404)
        assert (await client.get(SHIPMENTS, params={"order_id": order_id})).json()["items"] == []
    async with platform.client(seller_key) as client:
        body = {"code": "arrived", "at": start.isoformat(), "location": "CNPVG"}
        problem(await client.post(f"{SHIPMENTS}/{sid}/tracking-events", json=body), 403)


async def test_booking_happens_exactly_once_per_order_under_redelivery(
    platform: Platform, quote: dict[str, Any]
) -> None:
    order_id = new_order_id()
    confirmed = as_event(order_confirmed(order_id, quote["id"], option_id=option(quote, "courier")["option_id"]))
    again = as_event(order_confirmed(order_id, quote["id"], option_id=option(quote, "air")["option_id"]))
    await produce_orders(platform, confirmed, confirmed, again)
    shipment = await booked(platform, order_id)
    assert shipment["mode"] == "courier"
    marker = new_order_id()  # an order produced after the three: once it is decided, they all were
    await produce_orders(platform, as_event(order_confirmed(marker, quote["id"], option_id="nope")))
    await booked(platform, marker)
    async with platform.db("logistics") as db, db.read() as session:
        stmt = select(func.count()).select_from(ShipmentRow).where(ShipmentRow.order_id == order_id)
        assert await session.scalar(stmt) == 1
    found = await logistics_events(platform, order_id, {contract.ShipmentBookedV1.TYPE})
    assert len(found) == 1


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("expired", "quote expired"),
        ("heavier than quoted", "more than the"),
        ("no option chosen", "options and the order chose none"),
        ("unknown option", "has no option"),
        ("unknown quote", "unknown quote"),
        ("another Incoterm", "differs from the quote's FCA"),
    ],
)
async def test_a_booking_that_cannot_be_made_fails_with_its_reason(
    platform: Platform, quote: dict[str, Any], case: str, reason: str
) -> None:
    order_id = new_order_id()
    air = option(quote, "air")["option_id"]
    data = {
        "expired": order_confirmed(order_id, quote["id"], option_id=air, at=datetime.now(UTC) + timedelta(days=2)),
        "heavier than quoted": order_confirmed(order_id, quote["id"], option_id=air, weight="500"),
        "no option chosen": order_confirmed(order_id, quote["id"]),
        "unknown option": order_confirmed(order_id, quote["id"], option_id=f"{quote['id']}-99"),
        "unknown quote": order_confirmed(order_id, str(uuid.uuid4()), option_id=air),
        "another Incoterm": order_confirmed(order_id, quote["id"], option_id=air, incoterm="CIP"),
    }[case]
    await produce_orders(platform, as_event(data))
    shipment = await booked(platform, order_id)
    assert shipment["status"] == "booking_failed" and reason in shipment["failure_reason"]
    found = await logistics_events(platform, order_id, {contract.ShipmentBookingFailedV1.TYPE})
    failed = contract.ShipmentBookingFailedV1.from_event(found[0])
    assert reason in failed.reason and failed.quote_id == data.logistics_quote_id
    async with platform.client(platform.keys["ops"]) as ops:
        body = {"code": "picked_up", "at": datetime.now(UTC).isoformat(), "location": "RWKGL"}
        problem(await ops.post(f"{SHIPMENTS}/{shipment['id']}/tracking-events", json=body), 409)


async def test_an_order_cancelled_before_departure_cancels_its_shipment(
    platform: Platform, quote: dict[str, Any]
) -> None:
    order_id, departed_id = new_order_id(), new_order_id()
    sea = option(quote, "sea")["option_id"]
    await produce_orders(
        platform,
        as_event(order_confirmed(order_id, quote["id"], option_id=sea)),
        as_event(order_confirmed(departed_id, quote["id"], option_id=sea)),
    )
    shipment, gone = await booked(platform, order_id), await booked(platform, departed_id)
    await track(platform, gone["id"], "departed", datetime.now(UTC) - timedelta(hours=1))
    await produce_orders(platform, as_event(order_cancelled(order_id)), as_event(order_cancelled(departed_id)))
    found = await logistics_events(platform, order_id, {contract.ShipmentCancelledV1.TYPE})
    assert contract.ShipmentCancelledV1.from_event(found[-1]).shipment_id == shipment["id"]

    async def cancelled() -> bool:
        now = await shipment_of(platform, order_id)
        return now is not None and now["status"] == "cancelled"

    await eventually(cancelled, what="the shipment cancelled")
    assert (await shipment_of(platform, departed_id) or {})["status"] == "in_transit"


async def test_shipments_list_by_status_with_a_cursor(platform: Platform, quote: dict[str, Any]) -> None:
    orders = [new_order_id() for _ in range(3)]
    await produce_orders(platform, *(as_event(order_confirmed(o, quote["id"])) for o in orders))
    for order_id in orders:
        await booked(platform, order_id)
    seen: list[str] = []
    cursor = None
    async with platform.client(platform.keys["ops"]) as ops:
        while True:
            params: dict[str, Any] = {"status": "booking_failed", "limit": 2}
            if cursor:
                params["cursor"] = cursor
            page = (await ops.get(SHIPMENTS, params=params)).json()
            assert all(s["status"] == "booking_failed" for s in page["items"])
            seen += [s["order_id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert set(orders) <= set(seen) and len(seen) == len(set(seen))
        problem(await ops.get(SHIPMENTS, params={"cursor": "eyJ0IjoieCJ9"}), 400)
        problem(await ops.get(SHIPMENTS, params={"status": "lost"}), 422)


async def test_bad_tracking_events_are_422_and_write_nothing(platform: Platform, quote: dict[str, Any]) -> None:
    order_id = new_order_id()
    await produce_orders(
        platform, as_event(order_confirmed(order_id, quote["id"], option_id=option(quote, "air")["option_id"]))
    )
    sid = (await booked(platform, order_id))["id"]
    now = datetime.now(UTC)
    good = {"code": "picked_up", "at": now.isoformat(), "location": "RWKGL"}
    bad = [
        ({"location": "rwkgl"}, "location"),
        ({"location": "RWKG٣"}, "location"),
        ({"code": "lost"}, "code"),
        ({"classifier": "planned"}, "classifier"),
        ({"at": "2026-11-30T10:00:00"}, "at"),
        ({"at": (now + timedelta(days=1)).isoformat()}, "at"),
        ({"at": "0001-01-01T00:00:00+14:00"}, "at"),
        ({"note": "x"}, "note"),
    ]
    before = await counts(platform)
    async with platform.client(platform.keys["ops"]) as ops:
        for changes, field in bad:
            body = problem(await ops.post(f"{SHIPMENTS}/{sid}/tracking-events", json={**good, **changes}), 422)
            assert field in fields(body), (changes, body)
        problem(await ops.post(f"{SHIPMENTS}/{uuid.uuid4()}/tracking-events", json=good), 404)
    assert await counts(platform) == before
