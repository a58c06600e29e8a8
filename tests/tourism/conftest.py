"""Tourism test helpers: offers made by ops through the gateway, traveller apps with their own keys,
parties, Kigali dates, the fake clock and what "nothing written" is checked against.

Every test makes its own offers (unique ids), so tests never depend on each other's order or on the
seeded offers' dates.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.tourism.context import FakeClock, TourismContext
from services.tourism.domain import kigali_today
from services.tourism.models import Booking, Offer, OfferDate
from shared.contracts import CloudEvent
from shared.contracts.tourism import TOPIC
from shared.db import utcnow
from shared.tables import idempotency_table, outbox_table
from tests.support.events import wait_for_events
from tests.support.platform import Platform
from tests.support.problems import fields as fields
from tests.support.problems import problem as problem
from tests.support.waiting import eventually as eventually

#: RDB's permit terms (DOMAIN.md section 6): >= 30 days 80% back, none after; reschedule >= 30 days.
PERMIT_TERMS: dict[str, Any] = {
    "kind": "gorilla_permit",
    "name": "Mountain gorilla trekking permit (test)",
    "place": "Volcanoes National Park",
    "currency": "USD",
    "unit": "per_person",
    "prices": {
        "foreign_non_resident": "1500",
        "foreign_resident": "500",
        "eac_citizen": "200",
        "rwandan": "200",
    },
    "minimum_age": 15,
    "cancellation": [{"min_days_before": 30, "refund_percent": "80"}, {"min_days_before": 0, "refund_percent": "0"}],
    "reschedule": {"min_days_before": 30, "fee_percent": "0"},
    "default_capacity": 96,
    "max_quantity": 8,
}

#: The lodges' and experiences' assumed terms: 100% >= 30 days, 50% >= 7, none after.
STANDARD_TIERS = [
    {"min_days_before": 30, "refund_percent": "100"},
    {"min_days_before": 7, "refund_percent": "50"},
    {"min_days_before": 0, "refund_percent": "0"},
]


def today() -> date:
    return kigali_today(utcnow())


def ahead(days: int) -> date:
    return today() + timedelta(days=days)


def offer_body(**overrides: Any) -> dict[str, Any]:
    return {"id": f"t-{uuid.uuid4().hex[:16]}", **PERMIT_TERMS, **overrides}


async def create_offer(platform: Platform, **overrides: Any) -> dict[str, Any]:
    async with platform.client(platform.keys["ops"]) as ops:
        response = await ops.post("/v1/tourism/offers", json=offer_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


@dataclass(frozen=True)
class App:
    #: The app id: every key of the app carries it as its subject, and its bookings' `app_id` is it.
    app_id: str
    key: str

    def client(self, platform: Platform) -> httpx.AsyncClient:
        return platform.client(self.key)

    def another_key(self, platform: Platform) -> App:
        """The same app with a second key (as in a key rotation: issue a new key, revoke the old)."""
        return App(self.app_id, platform.issue_key("traveller_app", self.app_id))


def new_app(platform: Platform) -> App:
    """A traveller app with its own app id and one key bound to it."""
    app_id = f"app-{uuid.uuid4().hex[:12]}"
    return App(app_id, platform.issue_key("traveller_app", app_id))


@pytest.fixture(scope="module")
def app(platform: Platform) -> App:
    return new_app(platform)


def traveller(**overrides: Any) -> dict[str, Any]:
    return {
        "name": "Amina Uwase",
        "nationality": "GB",
        "visitor_category": "foreign_non_resident",
        "date_of_birth": "1990-05-17",
        **overrides,
    }


def hold_body(offer_id: str, visit_date: date, quantity: int = 1, **overrides: Any) -> dict[str, Any]:
    travellers = [traveller(name=f"Traveller {i + 1}") for i in range(quantity)]
    return {
        "offer_id": offer_id,
        "visit_date": visit_date.isoformat(),
        "quantity": quantity,
        "travellers": travellers,
        **overrides,
    }


async def hold(client: httpx.AsyncClient, offer_id: str, visit_date: date, quantity: int = 1) -> dict[str, Any]:
    response = await client.post("/v1/tourism/bookings", json=hold_body(offer_id, visit_date, quantity))
    assert response.status_code == 201, response.text
    return dict(response.json())


async def confirm(client: httpx.AsyncClient, booking_id: str, payment: str | None = None) -> httpx.Response:
    payment = payment or f"pay_{uuid.uuid4().hex[:12]}"
    return await client.post(
        f"/v1/tourism/bookings/{booking_id}/confirm",
        json={"payment_reference": payment},
        headers={"Idempotency-Key": f"confirm-{uuid.uuid4().hex}"},
    )


async def confirmed(client: httpx.AsyncClient, offer_id: str, visit_date: date, quantity: int = 1) -> dict[str, Any]:
    held = await hold(client, offer_id, visit_date, quantity)
    response = await confirm(client, held["id"])
    assert response.status_code == 200, response.text
    return dict(response.json())


async def remaining(client: httpx.AsyncClient, offer_id: str, day: date, party: int = 1) -> int:
    response = await client.get(
        "/v1/tourism/availability",
        params={"offer_id": offer_id, "from": day.isoformat(), "to": day.isoformat(), "party": party},
    )
    assert response.status_code == 200, response.text
    (item,) = response.json()["items"]
    return int(item["remaining"])


async def counts(platform: Platform) -> dict[str, int]:
    """Row counts that show whether a request wrote anything."""
    async with platform.db("tourism") as db, db.read() as session:
        out = {}
        for name, table in (
            ("offers", Offer.__table__),
            ("dates", OfferDate.__table__),
            ("bookings", Booking.__table__),
            ("outbox", outbox_table),
            ("idempotency", idempotency_table),
        ):
            out[name] = int((await session.execute(select(func.count()).select_from(table))).scalar_one())
        return out


async def taken(platform: Platform, offer_id: str, day: date) -> int:
    async with platform.db("tourism") as db, db.read() as session:
        value = await session.scalar(
            select(OfferDate.taken).where(OfferDate.offer_id == offer_id, OfferDate.day == day)
        )
        return int(value or 0)


async def booking_events(platform: Platform, booking_id: str, *types: str) -> list[CloudEvent]:
    """Wait until the booking's events of `types` are on the topic; all its events, in order."""
    wanted = [f"rw.ewtp.booking.{t}.v1" for t in types]

    def seen(evs: list[CloudEvent]) -> bool:
        mine = [e.type for e in evs if e.subject == booking_id]
        return all(w in mine for w in wanted)

    evs = await wait_for_events(platform.broker.bootstrap, TOPIC, seen, timeout_s=30)
    return [e for e in evs if e.subject == booking_id]


@pytest.fixture
def clock(platform: Platform) -> Iterator[FakeClock]:
    """The tourism service's clock, frozen at now and moved by the test; restored afterwards."""
    ctx = platform.app("tourism").state.tourism
    assert isinstance(ctx, TourismContext)
    fake = FakeClock()
    original = ctx.clock
    ctx.clock = fake
    try:
        yield fake
    finally:
        ctx.clock = original
