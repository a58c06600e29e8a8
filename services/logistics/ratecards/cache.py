"""The in-process rate-card cache: quotes are pure computation over it, with no database read.

Built on `shared.cache.HotTableCache` (the catalogue's FX rates use the same), whose guarantees
carry over: a publisher calls `changed(session)` in its transaction, so this process drops the
cards right after the commit (a load racing the commit is not kept), and on PostgreSQL every other
replica drops them on the commit's NOTIFY (a replica not listening does not cache at all). A stale
card therefore never prices a quote after its replacement committed, beyond the notification's
flight time.

Seed cards (seed.py) are inserted, if missing, before this process's first load, so the first
quote already sees them.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.domain.ratecards import RateCard
from services.logistics.ratecards.convert import card_from_row, card_values
from services.logistics.ratecards.repository import RateCardRepository
from shared.cache import HotTableCache
from shared.db import Database, utcnow

__all__ = ["RateCardCache"]

#: Cards that expired more than this long ago are not loaded (a quote only uses cards valid today,
#: and an expired card never becomes valid again, so a value loaded days ago holds a superset).
_KEEP_EXPIRED = timedelta(days=2)


class RateCardCache:
    def __init__(self, db: Database, seed: tuple[RateCard, ...] = ()) -> None:
        self._db = db
        self._seed = seed
        self._seeded = asyncio.Event()
        if not seed:
            self._seeded.set()
        self._seeding = asyncio.Lock()
        self._cache: HotTableCache[tuple[RateCard, ...]] = HotTableCache("logistics_rate_cards", self._load)

    async def cards(self) -> tuple[RateCard, ...]:
        return await self._cache.get(self._db)

    async def changed(self, session: AsyncSession) -> None:
        """Inside a publisher's transaction: every replica drops its cards once it commits."""
        await self._cache.changed(session)

    async def run(self) -> None:
        """Warm the cache (seeding the cards) at start-up."""
        await self.cards()

    async def _load(self, db: Database) -> tuple[RateCard, ...]:
        if not self._seeded.is_set():
            await self._insert_seed(db)
        since: date = (utcnow() - _KEEP_EXPIRED).date()
        async with db.read() as session:
            rows = await RateCardRepository(session).usable_on_or_after(since)
        return tuple(card_from_row(row) for row in rows)

    async def _insert_seed(self, db: Database) -> None:
        async with self._seeding:
            if self._seeded.is_set():
                return
            now = utcnow()
            async with db.transaction() as session:
                repo = RateCardRepository(session)
                for card in self._seed:
                    await repo.add_if_missing(card_values(card, created_by="seed", created_at=now))
            self._seeded.set()
