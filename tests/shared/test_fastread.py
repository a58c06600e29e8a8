"""Reads near the driver (`Database.fetch`) read exactly what the ORM reads, never block the loop on a
long SQLite read, and the hot-table cache drops its value when a write commits (on every replica)."""

import asyncio
from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import Boolean, Column, Date, Integer, MetaData, Numeric, String, Table, bindparam, select, text

from shared.cache import HotTableCache
from shared.db import Database, UTCDateTime
from shared.fastread import Query
from tests.support.databases import on_postgres

meta = MetaData()
things = Table(
    "things",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(50), nullable=False),
    Column("at", UTCDateTime, nullable=True),
    Column("day", Date, nullable=True),
    Column("flag", Boolean, nullable=False),
    Column("amount", Numeric(12, 4), nullable=True),
)
BY_ID = Query(select(things).where(things.c.id == bindparam("id")))
NAMES = Query(select(things.c.name).order_by(things.c.id))


async def _setup(db: Database) -> None:
    async with db.engine.begin() as conn:
        await conn.run_sync(meta.create_all)


async def test_fetch_reads_what_the_orm_reads(db: Database) -> None:
    await _setup(db)
    at = datetime(2026, 5, 1, 12, 30, 15, 123456, tzinfo=UTC)
    async with db.transaction() as s:
        await s.execute(
            things.insert(),
            [
                {
                    "id": 1,
                    "name": "ü & \u2603",
                    "at": at,
                    "day": date(2026, 5, 1),
                    "flag": True,
                    "amount": Decimal("1.5"),
                },
                {"id": 2, "name": "empty", "at": None, "day": None, "flag": False, "amount": None},
            ],
        )
    for thing_id in (1, 2):
        async with db.read() as s:
            expected = tuple((await s.execute(select(things).where(things.c.id == thing_id))).one())
        assert await db.fetch_one(BY_ID, {"id": thing_id}) == expected
    row = await db.fetch_one(BY_ID, {"id": 1})
    assert row is not None and row[2] == at and row[2].tzinfo is not None
    assert await db.fetch_one(BY_ID, {"id": 3}) is None
    assert db.fetch_columns(BY_ID) == ("id", "name", "at", "day", "flag", "amount")


async def test_a_long_sqlite_read_leaves_the_loop_free(db: Database) -> None:
    if on_postgres():
        return  # the inline path exists on SQLite only
    await _setup(db)
    long_read = Query(
        select(
            text(
                "count(*) FROM (WITH RECURSIVE n(i) AS"
                " (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 2000000) SELECT i FROM n)"
            )
        )
    )
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    try:
        await asyncio.sleep(0)
        before = ticks
        assert await db.fetch(long_read) == [(2000000,)]
        assert ticks - before > 1  # the loop ran while the read did (it moved to a thread)
    finally:
        task.cancel()
    reader = db._fast_reader()
    assert reader.thread_reads >= 1
    await db.fetch(NAMES)
    assert reader.inline_reads >= 1  # a short read stays on the loop


async def _names(db: Database) -> list[str]:
    return [r[0] for r in await db.fetch(NAMES)]


async def test_the_cache_drops_its_value_when_a_write_commits(db: Database) -> None:
    await _setup(db)
    loads = 0

    async def load(d: Database) -> list[str]:
        nonlocal loads
        loads += 1
        return await _names(d)

    cache: HotTableCache[list[str]] = HotTableCache("test_things", load)
    other = Database(db.url) if on_postgres() else db  # PostgreSQL: another replica on the same database
    try:
        for d in {id(db): db, id(other): other}.values():
            await _wait_cached(cache, d)
        async with db.transaction() as s:
            await s.execute(things.insert().values(id=10, name="new", flag=True))
            await cache.changed(s)
            assert await cache.get(db) == []  # not committed yet: the old value, but not kept
        assert await cache.get(db) == ["new"]  # this process reads its own write at once
        async with asyncio.timeout(10):
            while await cache.get(other) != ["new"]:  # another replica: once the NOTIFY arrives
                await asyncio.sleep(0.01)
        async with asyncio.timeout(10):  # kept again (on PostgreSQL once our own NOTIFY came back too)
            while True:
                calls = loads
                await cache.get(db)
                if loads == calls:
                    break
                await asyncio.sleep(0.01)
    finally:
        if other is not db:
            await other.dispose()


async def _wait_cached(cache: HotTableCache[list[str]], db: Database) -> None:
    """Until the value is kept (on PostgreSQL, once the replica's listener is connected)."""
    async with asyncio.timeout(10):
        while True:
            assert await cache.get(db) == []
            if cache._states[db.engine.sync_engine].loaded:
                return
            await asyncio.sleep(0.01)
