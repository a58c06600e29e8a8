"""The catalogue's area repositories over one session, for use cases that span areas.

Each area keeps its own SQL (`<area>/repository.py`); a use case that writes a listing, its stock
and the feed's change log in one transaction reaches them through this holder, as a unit of work
exposes its repositories. Repositories flush; they never commit.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.feed.repository import FeedRepository
from services.catalogue.fx.repository import FxRepository
from services.catalogue.listings.repository import ListingRepository
from services.catalogue.sellers.repository import SellerProjectionRepository
from services.catalogue.stock.repository import StockRepository

__all__ = ["Repositories"]


class Repositories:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.listings = ListingRepository(session)
        self.stock = StockRepository(session)
        self.feed = FeedRepository(session)
        self.fx = FxRepository(session)
        self.sellers = SellerProjectionRepository(session)

    async def lock_writes(self) -> None:
        """The catalogue writers' lock (see feed/repository.py for why it exists)."""
        await self.feed.lock_writes()
