"""Capacity under concurrency: confirmed bookings plus unexpired holds never exceed a date's capacity,
and an expired hold never blocks a booking, whether or not the sweeper has run yet."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
from sqlalchemy import func, select

from services.tourism.bookings import service
from services.tourism.context import FakeClock, TourismContext
from services.tourism.models import Booking
from services.tourism.offers.repository import load_offers
from services.tourism.schemas import HoldCreate
from shared.auth import Identity, Role
from shared.db import utcnow
from tests.support.platform import Platform
from tests.tourism.conftest import (
    App,
    ahead,
    create_offer,
    hold_body,
    remaining,
    taken,
)


async def test_500_concurrent_holds_of_one_permit_for_a_date_with_96_hold_exactly_96(
    platform: Platform, app: App
) -> None:
    offer = await create_offer(platform)
    day = ahead(60)
    # 500 requests in flight: queueing for the client's 100 connections is not a failure.
    timeout = httpx.Timeout(60, pool=None)
    headers = {"Authorization": f"Bearer {app.key}"}
    async with httpx.AsyncClient(base_url=platform.gateway_url, headers=headers, timeout=timeout) as client:
        responses = await asyncio.gather(
            *(client.post("/v1/tourism/bookings", json=hold_body(offer["id"], day, 1)) for _ in range(500))
        )
        statuses = sorted(r.status_code for r in responses)
        assert statuses.count(201) == 96, {s: statuses.count(s) for s in set(statuses)}
        assert statuses.count(409) == 404
        assert await remaining(client, offer["id"], day) == 0
    assert await taken(platform, offer["id"], day) == 96
    async with platform.db("tourism") as db, db.read() as session:
        held = await session.scalar(
            select(func.coalesce(func.sum(Booking.quantity), 0)).where(
                Booking.offer_id == offer["id"], Booking.visit_date == day, Booking.status == "held"
            )
        )
    assert held == 96


async def test_an_expired_hold_is_reclaimed_by_the_next_hold_before_the_sweeper_sees_it(platform: Platform) -> None:
    """Both holds run in one transaction, which the sweeper cannot see into: the second hold alone
    can have freed the first one's places."""
    offer = await create_offer(platform, default_capacity=1)
    day = ahead(30)
    body = HoldCreate.model_validate(hold_body(offer["id"], day, 1))
    identity = Identity(principal="k-test01", role=Role.TRAVELLER_APP, subject="app-test", request_id="r1")
    earlier = TourismContext(clock=FakeClock(utcnow() - timedelta(hours=1)))
    current = TourismContext()
    async with platform.db("tourism") as db:
        async with db.transaction() as session:
            offers = await load_offers(db)
            expired = await service.hold(session, body, identity, earlier, offers)
            assert expired.expires_at < utcnow()
            second = await service.hold(session, body, identity, current, offers)
        async with db.read() as session:
            statuses = dict(
                (await session.execute(select(Booking.id, Booking.status).where(Booking.offer_id == offer["id"]))).all()
            )
    assert statuses == {expired.id: "expired", second.id: "held"}
    assert await taken(platform, offer["id"], day) == 1
