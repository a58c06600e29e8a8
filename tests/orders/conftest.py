"""Helpers for the orders tests: sellers and listings made through the public API, orders placed
through the gateway, and waits on orders' own projection and on an order's status.

Every test makes its own sellers and listings, so tests never depend on each other's order.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.orders.models import ListingProjection, Order, OrderLine, OrderTransition
from shared.contracts import logistics
from shared.tables import outbox_table
from tests.catalogue.conftest import make_seller, published_listing
from tests.catalogue.conftest import stock as stock
from tests.support.events import cloud_event, produce_events
from tests.support.factories import Seller
from tests.support.platform import Platform
from tests.support.waiting import eventually

MARKETPLACE = "mkt-tmall-global"


@pytest.fixture(scope="module")
async def seller(platform: Platform) -> Seller:
    return await make_seller(platform)


async def projected(platform: Platform, listing_id: str, version: int | None = None) -> None:
    """Wait until orders' listing projection holds the listing (at `version` or later)."""

    async def seen() -> bool:
        async with platform.db("orders") as db, db.read() as session:
            found = await session.scalar(select(ListingProjection.version).where(ListingProjection.id == listing_id))
        return found is not None and (version is None or found >= version)

    await eventually(seen, what=f"orders to know listing {listing_id}")


async def listing(platform: Platform, seller: Seller, **overrides: Any) -> dict[str, Any]:
    """A published listing that orders' projection already knows."""
    made = await published_listing(platform, seller, **overrides)
    await projected(platform, made["id"], made["version"])
    return made


def buyer(country: str = "CN", city: str = "Hangzhou", name: str = "Li Wei") -> dict[str, Any]:
    return {"name": name, "country": country, "city": city, "address": "1 Wensan Road, Xihu District"}


def order_body(*lines: tuple[str, int], **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "reference": f"TM-{uuid.uuid4().hex[:16]}",
        "channel": "b2c_marketplace",
        "buyer": buyer(),
        "lines": [{"listing_id": lid, "quantity": q} for lid, q in lines],
        "currency": "USD",
    }
    body.update(overrides)
    return body


async def place(client: httpx.AsyncClient, *lines: tuple[str, int], **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/orders", json=order_body(*lines, **overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def order_status(platform: Platform, order_id: str) -> str:
    async with platform.client(platform.keys["ops"]) as ops:
        response = await ops.get(f"/v1/orders/{order_id}")
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


async def wait_status(platform: Platform, order_id: str, status: str, timeout_s: float = 30.0) -> dict[str, Any]:
    async def reached() -> dict[str, Any] | None:
        async with platform.client(platform.keys["ops"]) as ops:
            body = (await ops.get(f"/v1/orders/{order_id}")).json()
        return dict(body) if body["status"] == status else None

    return await eventually(reached, timeout_s=timeout_s, what=f"order {order_id} to be {status}")


async def history(platform: Platform, order_id: str) -> list[dict[str, Any]]:
    async with platform.client(platform.keys["ops"]) as ops:
        response = await ops.get(f"/v1/orders/{order_id}/history")
    assert response.status_code == 200, response.text
    return list(response.json()["transitions"])


async def ship(platform: Platform, order_id: str, *kinds: str, shipment_id: str | None = None) -> list[str]:
    """Put shipment events for the order on `logistics.events`, as logistics would; their ids."""
    shipment = shipment_id or f"shp-{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    made = []
    for i, kind in enumerate(kinds):
        at = now + timedelta(seconds=i)
        data: Any
        if kind == "dispatched":
            data = logistics.ShipmentDispatchedV1(order_id=order_id, occurred_at=at, shipment_id=shipment)
        elif kind == "delivered":
            data = logistics.ShipmentDeliveredV1(order_id=order_id, occurred_at=at, shipment_id=shipment)
        else:
            raise ValueError(kind)
        made.append(cloud_event(data, subject=order_id))
    await produce_events(platform.broker.bootstrap, logistics.TOPIC, *made)
    return [e.id for e in made]


async def counts(platform: Platform) -> dict[str, int]:
    """Row counts that show whether a request wrote anything."""
    async with platform.db("orders") as db, db.read() as session:
        out = {}
        for name, table in (
            ("orders", Order.__table__),
            ("lines", OrderLine.__table__),
            ("history", OrderTransition.__table__),
            ("outbox", outbox_table),
        ):
            out[name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
        return out


__all__ = [
    "MARKETPLACE",
    "buyer",
    "counts",
    "eventually",
    "history",
    "listing",
    "make_seller",
    "order_body",
    "order_status",
    "place",
    "projected",
    "ship",
    "stock",
    "wait_status",
]
