"""Helpers for the catalogue tests: verified sellers made through the sellers API, listings, events.

Every test makes its own sellers (unique TINs) and listings (unique SKUs), so tests never depend on
each other's order. Tests look into the catalogue database through `platform.db("catalogue")`.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import httpx
import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import func, select

from services.catalogue.models import Listing, ListingChange, Reservation, SellerProjection, StockAdjustment
from shared.contracts import CloudEvent, EventData, new_event
from shared.contracts.envelope import CONTENT_TYPE
from shared.contracts.orders import OrderLine, OrderPlacedV1
from shared.tables import outbox_table
from tests.support.platform import Platform

T = TypeVar("T")


def new_tin() -> str:
    return f"{random.randrange(10**8, 10**9)}"


def new_sku(prefix: str = "SKU") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Seller:
    id: str
    key: str


async def eventually(check: Callable[[], Awaitable[T | None]], timeout_s: float = 20.0, what: str = "") -> T:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = await check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what or check}")
        await asyncio.sleep(0.05)


async def projection_status(platform: Platform, seller_id: str) -> str | None:
    async with platform.db("catalogue") as db, db.read() as session:
        return await session.scalar(select(SellerProjection.status).where(SellerProjection.id == seller_id))


async def wait_seller_status(platform: Platform, seller_id: str, status: str) -> None:
    async def seen() -> bool:
        return await projection_status(platform, seller_id) == status

    await eventually(seen, what=f"catalogue to see seller {seller_id} {status}")


async def make_seller(platform: Platform, *, verified: bool = True) -> Seller:
    """An exporter registered (and verified) by an RDB officer through the sellers API, with its key."""
    body = {
        "legal_name": f"Huye Mountain Coffee {uuid.uuid4().hex[:6]}",
        "tin": new_tin(),
        "sectors": ["coffee", "tea", "handicrafts"],
        "district": "huye",
        "contact_email": "export@huyemountain.rw",
        "contact_phone": "+250788555111",
        "naeb_registration_number": "NAEB-CE-0101",
    }
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        created = await officer.post("/v1/sellers", json=body)
        assert created.status_code == 201, created.text
        seller_id = created.json()["id"]
        if verified:
            response = await officer.post(f"/v1/sellers/{seller_id}/verify", json={"reason": "documents checked"})
            assert response.status_code == 200, response.text
    await wait_seller_status(platform, seller_id, "verified" if verified else "pending_verification")
    return Seller(id=seller_id, key=platform.issue_key("seller", seller_id))


@pytest.fixture
async def seller(platform: Platform) -> Seller:
    return await make_seller(platform)


@pytest.fixture(scope="module")
async def module_seller(platform: Platform) -> Seller:
    """One verified seller for a module whose tests write nothing (bad input, refusals)."""
    return await make_seller(platform)


def listing_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "sku": new_sku("RW-GC"),
        "title": "Rwanda Huye Mountain green coffee, fully washed, 1 kg",
        "description": "Red Bourbon from the Huye Mountain washing station, grown at 1,900 m.",
        "category": "coffee.green",
        "hs_code": "090111",
        "national_tariff_code": "0901110000",
        "price": {"amount": "15.00", "currency": "USD"},
        "unit_net_weight_g": 1000,
        "packed_dimensions": {"length_cm": 30, "width_cm": 20, "height_cm": 10.5},
        "brand": "Huye Mountain",
        "mpn": "HM-GC-1KG",
        "images": ["https://images.example.rw/huye/1.jpg", "https://images.example.rw/huye/2.jpg"],
        "attributes": {"process": "fully_washed", "variety": "Red Bourbon", "altitude_m": 1900, "cupping_score": 86.5},
        "certifications": ["rainforest_alliance"],
        "on_hand": 100,
    }
    body.update(overrides)
    return body


async def create_listing(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/v1/listings", json=listing_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


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


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


def fields(body: dict[str, Any]) -> set[str]:
    return {e["field"] for e in body.get("errors") or []}


def cloud_event(data: EventData, subject: str) -> CloudEvent:
    return new_event(data, source="/tests", subject=subject)


async def produce(platform: Platform, topic: str, *events: CloudEvent) -> None:
    """Put events on a topic as the producing service's relay would (structured CloudEvents, keyed)."""
    producer = AIOKafkaProducer(bootstrap_servers=platform.broker.bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic,
                event.to_bytes(),
                key=(event.subject or event.id).encode(),
                headers=[("content-type", CONTENT_TYPE.encode())],
            )
    finally:
        await producer.stop()


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
