"""All SQL of the sellers service. Repositories flush; they never commit."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import joinedload

from services.sellers.models import Seller, SellerDocument, SellerSector, SellerStatusChange
from shared.constraints import flush_or_raise
from shared.errors import Conflict
from shared.text import LIKE_ESCAPE, contains_pattern


class SellerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, seller_id: str) -> Seller | None:
        # One round trip for the seller and its sectors (a list uses the relationship's selectin).
        return await self.session.get(Seller, seller_id, options=[joinedload(Seller.sectors)])

    async def tin_taken(self, tin: str) -> bool:
        return (await self.session.scalar(select(Seller.id).where(Seller.tin == tin))) is not None

    async def add(self, seller: Seller) -> None:
        self.session.add(seller)
        # Two registrations of one TIN racing: the unique constraint decides.
        taken = {"uq_sellers_tin": lambda: Conflict(f"A seller with TIN {seller.tin} is already registered.")}
        await flush_or_raise(self.session, taken)

    async def set_status(self, seller: Seller, expected: str, new: str, at: datetime) -> bool:
        """Compare-and-set of the status, so two officers deciding at once cannot both win."""
        result = await self.session.execute(
            update(Seller)
            .where(Seller.id == seller.id, Seller.status == expected)
            .values(status=new, updated_at=at, version=Seller.version + 1)
            .execution_options(synchronize_session=False)
        )
        if not getattr(result, "rowcount", 0):
            return False
        await self.session.refresh(seller)
        return True

    async def replace_sectors(self, seller: Seller, sectors: list[str]) -> None:
        seller.sectors = [SellerSector(seller_id=seller.id, sector=s) for s in sorted(set(sectors))]

    async def search(
        self,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        status: str | None,
        sector: str | None,
        district: str | None,
        name: str | None,
        only_id: str | None,
    ) -> list[Seller]:
        stmt = select(Seller)
        if status:
            stmt = stmt.where(Seller.status == status)
        if district:
            stmt = stmt.where(Seller.district == district)
        if sector:
            stmt = stmt.where(Seller.id.in_(select(SellerSector.seller_id).where(SellerSector.sector == sector)))
        if name:
            stmt = stmt.where(Seller.legal_name.ilike(contains_pattern(name), escape=LIKE_ESCAPE))
        if only_id:
            stmt = stmt.where(Seller.id == only_id)
        if after:
            created, last_id = after
            stmt = stmt.where(or_(Seller.created_at > created, and_(Seller.created_at == created, Seller.id > last_id)))
        stmt = stmt.order_by(Seller.created_at, Seller.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def add_history(self, change: SellerStatusChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def history(self, seller_id: str) -> list[SellerStatusChange]:
        stmt = (
            select(SellerStatusChange).where(SellerStatusChange.seller_id == seller_id).order_by(SellerStatusChange.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def add_document(self, document: SellerDocument) -> None:
        self.session.add(document)
        await self.session.flush()

    async def documents(self, seller_id: str) -> list[SellerDocument]:
        stmt = (
            select(SellerDocument)
            .where(SellerDocument.seller_id == seller_id)
            .order_by(SellerDocument.created_at, SellerDocument.id)
        )
        return list((await self.session.scalars(stmt)).all())
