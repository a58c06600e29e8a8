"""The change-log pruner: rows older than the retention window go, and the cursor floor rises with them."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select

from services.catalogue import app as catalogue_app
from services.catalogue.feed.repository import FeedRepository
from services.catalogue.feed.tasks import run_pruner
from services.catalogue.models import ListingChange
from shared.db import Database, utcnow
from shared.migrations import upgrade_to_head
from tests.catalogue.conftest import eventually
from tests.support.databases import Databases

MIGRATIONS = Path(catalogue_app.__file__).parent / "migrations"


@pytest.fixture
async def fresh_db(databases: Databases) -> AsyncIterator[Database]:
    url = databases.url(f"catalogue_retention_{uuid.uuid4().hex[:8]}")
    await upgrade_to_head(MIGRATIONS, url)
    db = Database(url)
    yield db
    await db.dispose()


async def test_the_pruner_deletes_old_changes_and_raises_the_floor(fresh_db: Database) -> None:
    now = utcnow()
    async with fresh_db.transaction() as session:
        await session.execute(
            insert(ListingChange),
            [
                {"listing_id": f"l{i}", "op": "upsert", "version": 1, "reason": None, "changed_at": at}
                for i, at in enumerate([now - timedelta(days=40)] * 3 + [now - timedelta(days=1)] * 2)
            ],
        )
    task = asyncio.create_task(run_pruner(fresh_db, timedelta(days=30), interval_s=0.05))
    try:

        async def floor() -> int:
            async with fresh_db.read() as session:
                return await FeedRepository(session).pruned_through()

        assert await eventually(floor, what="the pruner's first pass") == 3
        async with fresh_db.read() as session:
            left = (await session.execute(select(ListingChange.seq).order_by(ListingChange.seq))).scalars().all()
            high_water = await FeedRepository(session).high_water()
        assert list(left) == [4, 5]
        assert high_water == 5
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    # Everything pruned: the high-water mark stays, and new seqs never reuse old ones.
    async with fresh_db.transaction() as session:
        await FeedRepository(session).prune_changes(utcnow() + timedelta(seconds=1))
    async with fresh_db.transaction() as session:
        await FeedRepository(session).log_changes(
            [{"listing_id": "l9", "op": "delete", "version": 2, "reason": "deleted", "changed_at": utcnow()}]
        )
    async with fresh_db.read() as session:
        assert await session.scalar(select(func.min(ListingChange.seq))) == 6
        assert await FeedRepository(session).pruned_through() == 5
