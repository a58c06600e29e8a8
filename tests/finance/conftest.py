"""Helpers for the finance tests: sellers made through the sellers API, order events on the real broker.

Every test makes its own sellers (unique TINs) and orders (unique ids), so tests never depend on each
other's order. Tests look into the finance database through `platform.db("finance")`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from services.finance.models import Application, OrderProjection, SellerProjection, StatusChange
from shared.contracts import orders as order_events
from shared.contracts.orders import OrderConfirmedV1, PricedOrderLine
from shared.tables import outbox_table
from tests.support.events import cloud_event, produce_events
from tests.support.factories import Seller, verified_seller
from tests.support.platform import Platform
from tests.support.waiting import eventually

BASE = "/v1/finance/applications"


async def finance_seller_status(platform: Platform, seller_id: str) -> str | None:
    async with platform.db("finance") as db, db.read() as session:
        return await session.scalar(select(SellerProjection.status).where(SellerProjection.id == seller_id))


async def wait_seller_status(platform: Platform, seller_id: str, status: str) -> None:
    async def seen() -> bool:
        return await finance_seller_status(platform, seller_id) == status

    await eventually(seen, what=f"finance to see seller {seller_id} {status}")


async def make_seller(platform: Platform, *, verified: bool = True) -> Seller:
    """A seller registered (and verified) through the sellers API, once finance's projection knows it."""
    made = await verified_seller(platform, verified=verified)
    await wait_seller_status(platform, made.id, "verified" if verified else "pending_verification")
    return made


def new_order_id() -> str:
    return f"ord-{uuid.uuid4().hex[:16]}"


def confirmed(
    order_id: str,
    seller_id: str,
    value: str,
    *,
    currency: str = "USD",
    marketplace: str = "mkt-tmall-global",
    event: type[order_events._OrderFacts] = OrderConfirmedV1,
) -> order_events._OrderFacts:
    """An order of one line for `seller_id` worth `value`, as the orders service would publish it."""
    line = PricedOrderLine(
        line_id="l1", listing_id="lst-1", quantity=1, seller_id=seller_id, unit_price=value, line_value=value
    )
    return event(
        order_id=order_id,
        occurred_at=datetime.now(UTC),
        marketplace_id=marketplace,
        channel="b2c_marketplace",
        currency=currency,
        total=value,
        buyer_country="CN",
        buyer_city="Hangzhou",
        lines=[line],
    )


async def produce_orders(platform: Platform, *data: order_events._OrderEvent) -> None:
    await produce_events(
        platform.broker.bootstrap, order_events.TOPIC, *(cloud_event(d, subject=d.order_id) for d in data)
    )


async def wait_order(platform: Platform, order_id: str, seller_id: str, stage: str = "confirmed_at") -> None:
    async def seen() -> bool:
        async with platform.db("finance") as db, db.read() as session:
            at = await session.scalar(
                select(getattr(OrderProjection, stage)).where(
                    OrderProjection.order_id == order_id, OrderProjection.seller_id == seller_id
                )
            )
        return at is not None

    await eventually(seen, what=f"finance to see order {order_id} {stage}")


async def confirmed_order(platform: Platform, seller_id: str, value: str, **kwargs: Any) -> str:
    """A confirmed order on the real broker, once finance's projection holds it."""
    order_id = new_order_id()
    await produce_orders(platform, confirmed(order_id, seller_id, value, **kwargs))
    await wait_order(platform, order_id, seller_id)
    return order_id


def application_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "product": "purchase_order_finance",
        "amount": "800.00",
        "currency": "USD",
        "tenor_days": 90,
        "purpose": "Buy cherry for a 20 t container of fully washed green coffee.",
        "linked_order_ids": [],
        "trade": {
            "buyer_name": "Hangzhou Coffee Imports Ltd",
            "buyer_country": "CN",
            "po_number": "PO-2026-0042",
            "incoterm": "FOB",
            "expected_shipment_on": "2027-01-15",
            "expected_payment_on": "2027-03-15",
        },
        "guarantee_scheme": "bdf_partial_credit",
        "documents": [{"type": "purchase_order", "reference": "PO-2026-0042"}],
    }
    body.update(overrides)
    return body


async def counts(platform: Platform) -> dict[str, int]:
    """Row counts that show whether a request wrote anything."""
    async with platform.db("finance") as db, db.read() as session:
        out = {}
        for name, table in (
            ("applications", Application.__table__),
            ("history", StatusChange.__table__),
            ("outbox", outbox_table),
        ):
            out[name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
        return out


def minor(amount: str) -> int:
    return int(Decimal(amount) * 100)
