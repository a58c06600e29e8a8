"""Sellers test helpers; the factories and the problem assertion live in tests/support."""

from __future__ import annotations

from sqlalchemy import func, select

from services.sellers.models import Seller
from shared.tables import outbox_table
from tests.support.factories import new_tin as new_tin
from tests.support.factories import register as register
from tests.support.factories import seller_body as seller_body
from tests.support.platform import Platform
from tests.support.problems import problem as problem


async def counts(platform: Platform) -> tuple[int, int]:
    """(sellers, outbox rows) in the sellers database: what 'nothing written' is checked against."""
    async with platform.db("sellers") as db, db.read() as session:
        sellers = (await session.execute(select(func.count()).select_from(Seller))).scalar_one()
        events = (await session.execute(select(func.count()).select_from(outbox_table))).scalar_one()
    return int(sellers), int(events)
