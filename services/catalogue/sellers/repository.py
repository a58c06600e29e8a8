"""SQL of the seller projection: the catalogue's copy of each seller's status."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.models import (
    SellerProjection,
)

__all__ = ["SellerProjectionRepository"]


class SellerProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_seller(self, seller_id: str) -> SellerProjection | None:
        return await self.session.get(SellerProjection, seller_id)

    async def add_seller(self, seller: SellerProjection) -> None:
        self.session.add(seller)
        await self.session.flush()
