"""Helpers for the catalogue tests: verified sellers made through the sellers API, listings, events.

Every test makes its own sellers (unique TINs) and listings (unique SKUs), so tests never depend on
each other's order. Tests look into the catalogue database through `platform.db("catalogue")`.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from services.catalogue.models import Listing, ListingChange, Reservation, SellerProjection, StockAdjustment
from shared.contracts import CloudEvent
from shared.contracts.orders import OrderLine, OrderPlacedV1
from shared.tables import outbox_table
from tests.support.events import cloud_event as cloud_event
from tests.support.events import produce_events
from tests.support.factories import Seller as Seller
from tests.support.factories import create_listing as create_listing
from tests.support.factories import listing_body as listing_body
from tests.support.factories import new_sku as new_sku
from tests.support.factories import new_tin as new_tin
from tests.support.factories import verified_seller
from tests.support.platform import Platform
from tests.support.problems import fields as fields
from tests.support.problems import problem as problem
from tests.support.waiting import eventually as eventually

#: The exporter the catalogue tests sell as: in coffee, tea and handicrafts, so every category applies.
EXPORTER = {
    "legal_name": "Huye Mountain Coffee",
    "sectors": ["coffee", "tea", "handicrafts"],
    "district": "huye",
    "contact_email": "export@huyemountain.rw",
    "contact_phone": "+250788555111",
    "naeb_registration_number": "NAEB-CE-0101",
}


async def projection_status(platform: Platform, seller_id: str) -> str | None:
    async with platform.db("catalogue") as db, db.read() as session:
        return await session.scalar(select(SellerProjection.status).where(SellerProjection.id == seller_id))


async def wait_seller_status(platform: Platform, seller_id: str, status: str) -> None:
    async def seen() -> bool:
        return await projection_status(platform, seller_id) == status

    await eventually(seen, what=f"catalogue to see seller {seller_id} {status}")


async def make_seller(platform: Platform, *, verified: bool = True) -> Seller:
    """A seller (tests/support/factories.py) that the catalogue's projection already knows."""
    name = f"{EXPORTER['legal_name']} {uuid.uuid4().hex[:6]}"
    made = await verified_seller(platform, verified=verified, **{**EXPORTER, "legal_name": name})
    await wait_seller_status(platform, made.id, "verified" if verified else "pending_verification")
    return made


@pytest.fixture
async def seller(platform: Platform) -> Seller:
    return await make_seller(platform)


@pytest.fixture(scope="module")
async def module_seller(platform: Platform) -> Seller:
    """One verified seller for a module whose tests write nothing (bad input, refusals)."""
    return await make_seller(platform)


async def published_listing(platform: Platform, seller: Seller, **overrides: Any) -> dict[str, Any]:
    async with platform.client(seller.key) as client:
        listing = await create_listing(client, **overrides)
        response = await client.post(f"/v1/listings/{listing['id']}/publish")
        assert response.status_code == 200, response.text
        return dict(response.json())


async def counts(platform: Platform) -> dict[str, int]:
    """Row counts that show whether a request wrote anything."""
    async with platform.db("catalogue") as db, db.read() as session:
        out = {}
        for name, table in (
            ("listings", Listing.__table__),
            ("changes", ListingChange.__table__),
            ("adjustments", StockAdjustment.__table__),
            ("outbox", outbox_table),
        ):
            out[name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
        return out


async def produce(platform: Platform, topic: str, *events: CloudEvent) -> None:
    await produce_events(platform.broker.bootstrap, topic, *events)


def order_placed(order_id: str, *lines: tuple[str, int], marketplace: str = "mkt-tmall-global") -> OrderPlacedV1:
    return OrderPlacedV1(
        order_id=order_id,
        occurred_at=datetime.now(UTC),
        marketplace_id=marketplace,
        lines=[OrderLine(line_id=f"l{i}", listing_id=lid, quantity=q) for i, (lid, q) in enumerate(lines, 1)],
    )


async def reservation_status(platform: Platform, order_id: str) -> str | None:
    async with platform.db("catalogue") as db, db.read() as session:
        return await session.scalar(select(Reservation.status).where(Reservation.order_id == order_id))


async def stock(platform: Platform, listing_id: str) -> tuple[int, int]:
    """(on_hand, reserved) straight from the catalogue database."""
    async with platform.db("catalogue") as db, db.read() as session:
        row = (await session.execute(select(Listing.on_hand, Listing.reserved).where(Listing.id == listing_id))).one()
        return int(row.on_hand), int(row.reserved)
