"""Helpers for the logistics tests: quote bodies, row counts, order events put on the real broker.

Tests call the gateway with real keys, look into the logistics database through
`platform.db("logistics")`, and drive the order saga by producing `order.confirmed` /
`order.cancelled` onto `orders.events` exactly as the orders service's relay would.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from services.logistics.models import QuoteRow, RateCardRow, ShipmentRow, TrackingEventRow
from shared.contracts import CloudEvent
from shared.contracts.logistics import TOPIC as LOGISTICS_TOPIC
from shared.contracts.orders import TOPIC as ORDERS_TOPIC
from shared.contracts.orders import OrderCancelledV1, OrderConfirmedV1, PricedOrderLine
from shared.tables import outbox_table
from tests.support.events import cloud_event, produce_events, wait_for_events
from tests.support.platform import Platform
from tests.support.problems import fields as fields
from tests.support.problems import problem as problem
from tests.support.waiting import eventually as eventually

MARKETPLACE = "mkt-tmall-global"


def parcel(count: int = 1, kg: Any = "12.5", dims: tuple[Any, Any, Any] = ("60", "40", "40")) -> dict[str, Any]:
    return {"count": count, "weight_kg": kg, "length_cm": dims[0], "width_cm": dims[1], "height_cm": dims[2]}


def quote_body(**overrides: Any) -> dict[str, Any]:
    """The benchmark's request too: 3 parcel lines, Kigali to Shanghai, every mode FCA allows."""
    body: dict[str, Any] = {
        "origin": "RWKGL",
        "destination": "CNPVG",
        "incoterm": "FCA",
        "parcels": [parcel(3, "12.5"), parcel(1, "4", ("30", "30", "20")), parcel(2, "20.25", ("50", "40", "30"))],
    }
    body.update(overrides)
    return body


async def counts(platform: Platform) -> dict[str, int]:
    """Row counts that show whether a request wrote anything."""
    async with platform.db("logistics") as db, db.read() as session:
        out = {}
        for name, table in (
            ("quotes", QuoteRow.__table__),
            ("rate_cards", RateCardRow.__table__),
            ("shipments", ShipmentRow.__table__),
            ("tracking", TrackingEventRow.__table__),
            ("outbox", outbox_table),
        ):
            out[name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
        return out


async def ask_quote(platform: Platform, key: str, **overrides: Any) -> dict[str, Any]:
    async with platform.client(key) as client:
        response = await client.post("/v1/logistics/quotes", json=quote_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def order_confirmed(
    order_id: str,
    quote_id: str | None,
    *,
    option_id: str | None = None,
    weight: str | None = "10",
    at: datetime | None = None,
    incoterm: str | None = "FCA",
) -> OrderConfirmedV1:
    return OrderConfirmedV1(
        order_id=order_id,
        occurred_at=at or datetime.now(UTC),
        marketplace_id=MARKETPLACE,
        channel="b2c_marketplace",
        currency="USD",
        total="30.00",
        buyer_country="CN",
        buyer_city="Shanghai",
        lines=[PricedOrderLine(line_id="l1", listing_id="lst-1", quantity=2, seller_id="s1", unit_price="15.00",
                               line_value="30.00")],
        logistics_quote_id=quote_id,
        logistics_option_id=option_id,
        incoterm=incoterm,
        gross_weight_kg=weight,
    )  # fmt: skip


def order_cancelled(order_id: str) -> OrderCancelledV1:
    return OrderCancelledV1(order_id=order_id, occurred_at=datetime.now(UTC), reason="buyer changed their mind")


def new_order_id() -> str:
    return f"ord-{uuid.uuid4().hex[:12]}"


async def produce_orders(platform: Platform, *events: CloudEvent) -> None:
    await produce_events(platform.broker.bootstrap, ORDERS_TOPIC, *events)


def as_event(data: OrderConfirmedV1 | OrderCancelledV1) -> CloudEvent:
    return cloud_event(data, subject=data.order_id)


async def logistics_events(platform: Platform, subject: str, types: set[str]) -> list[CloudEvent]:
    """The events on `logistics.events` about `subject`, once every type in `types` is there."""

    def complete(seen: list[CloudEvent]) -> bool:
        return types <= {e.type for e in seen if e.subject == subject}

    found = await wait_for_events(platform.broker.bootstrap, LOGISTICS_TOPIC, complete)
    return [e for e in found if e.subject == subject]


async def shipment_of(platform: Platform, order_id: str) -> dict[str, Any] | None:
    async with platform.client(platform.keys["ops"]) as ops:
        response = await ops.get("/v1/logistics/shipments", params={"order_id": order_id})
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    return dict(items[0]) if items else None


def money(value: dict[str, str]) -> Decimal:
    return Decimal(value["amount"])
