"""The in-process rate-card cache: quotes are pure computation over it, with no database read.

Guarantees:
- A card change made by this process is seen by the next quote: the writer invalidates the cache
  after its transaction commits (never before, or a quote could reload the old rows and keep them).
- A load that raced with an invalidation is used once but not kept: each invalidation bumps a
  generation, and a load stores its result only if no invalidation happened while it ran.
- A change made by another replica is seen within `refresh_s`: a background check compares the
  table's change marker (`max(seq)`; cards are insert-only) with the one loaded.
- Seed cards are inserted (if missing) before the first load, so the first quote already sees them.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.domain import RateCard
from services.logistics.ratecards.convert import card_from_row, card_values
from services.logistics.ratecards.repository import RateCardRepository
from shared.db import Database, utcnow
from shared.periodic import run_periodically

__all__ = ["RateCardCache"]

#: Cards that expired more than this long ago are not loaded (a quote only uses cards valid today).
_KEEP_EXPIRED = timedelta(days=2)


class RateCardCache:
    def __init__(self, db: Database, seed: tuple[RateCard, ...] = ()) -> None:
        self._db = db
        self._seed = seed
        self._seeded = not seed
        self._cards: tuple[RateCard, ...] | None = None
        self._marker = -1
        self._generation = 0
        self._lock = asyncio.Lock()

    def invalidate(self) -> None:
        self._generation += 1
        self._cards = None

    def invalidate_after_commit(self, session: AsyncSession) -> None:
        """Invalidate once `session`'s transaction has committed (a rollback changes nothing)."""
        event.listen(session.sync_session, "after_commit", lambda _s: self.invalidate(), once=True)

    async def cards(self) -> tuple[RateCard, ...]:
        cards = self._cards
        if cards is not None:
            return cards
        async with self._lock:
            if self._cards is not None:
                return self._cards
            if not self._seeded:
                await self._insert_seed()
            generation = self._generation
            since: date = (utcnow() - _KEEP_EXPIRED).date()
            async with self._db.read() as session:
                repo = RateCardRepository(session)
                marker = await repo.marker()
                rows = await repo.usable_on_or_after(since)
            loaded = tuple(card_from_row(row) for row in rows)
            if generation == self._generation:
                self._cards, self._marker = loaded, marker
            return loaded

    async def _insert_seed(self) -> None:
        now = utcnow()
        async with self._db.transaction() as session:
            repo = RateCardRepository(session)
            for card in self._seed:
                await repo.add_if_missing(card_values(card, created_by="seed", created_at=now))
        self._seeded = True

    async def check(self) -> int:
        """Drop the cache if another replica changed the cards; 1 if it was dropped."""
        async with self._db.read() as session:
            marker = await RateCardRepository(session).marker()
        if self._cards is not None and marker != self._marker:
            self.invalidate()
            return 1
        return 0

    async def run(self, refresh_s: float) -> None:
        """Warm the cache at start-up, then watch for other replicas' changes until cancelled."""
        await self.cards()
        if refresh_s > 0:
            await run_periodically("rate-card refresh", refresh_s, self.check)
