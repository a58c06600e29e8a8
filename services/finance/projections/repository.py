"""Finance's projections of seller and order events, and the marks saying how fresh they are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.models import OrderProjection, ProjectionMark, SellerProjection, SellerSectorProjection
from shared.db import utcnow

#: The streams whose last consumed event `ProjectionMark` records.
ORDERS_STREAM = "orders"
SELLERS_STREAM = "sellers"


class ProjectionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def seller(self, seller_id: str) -> SellerProjection | None:
        return await self.session.get(SellerProjection, seller_id)

    async def add_seller(self, seller: SellerProjection) -> None:
        self.session.add(seller)
        await self.session.flush()

    async def set_sectors(self, seller_id: str, sectors: Sequence[str]) -> None:
        await self.session.execute(delete(SellerSectorProjection).where(SellerSectorProjection.seller_id == seller_id))
        self.session.add_all([SellerSectorProjection(seller_id=seller_id, sector=s) for s in sorted(set(sectors))])
        await self.session.flush()

    async def order_parts(self, order_id: str) -> list[OrderProjection]:
        stmt = select(OrderProjection).where(OrderProjection.order_id == order_id).order_by(OrderProjection.seller_id)
        return list((await self.session.scalars(stmt)).all())

    async def orders_by_id(self, order_ids: Sequence[str]) -> list[OrderProjection]:
        if not order_ids:
            return []
        stmt = select(OrderProjection).where(OrderProjection.order_id.in_(list(order_ids)))
        return list((await self.session.scalars(stmt)).all())

    async def add_order_part(self, part: OrderProjection) -> None:
        self.session.add(part)
        await self.session.flush()

    async def mark_stage(self, order_id: str, column: str, at: datetime) -> None:
        """Set a stage date on every seller's part of the order, keeping the earliest one seen."""
        col = getattr(OrderProjection, column)
        await self.session.execute(
            update(OrderProjection)
            .where(OrderProjection.order_id == order_id, col.is_(None))
            .values({column: at, "updated_at": utcnow()})
            .execution_options(synchronize_session=False)
        )

    async def seller_orders_since(self, seller_id: str, since: datetime) -> list[OrderProjection]:
        stmt = select(OrderProjection).where(
            OrderProjection.seller_id == seller_id, OrderProjection.first_seen_at >= since
        )
        return list((await self.session.scalars(stmt)).all())

    async def mark(self, stream: str) -> ProjectionMark | None:
        return await self.session.get(ProjectionMark, stream)

    async def advance_mark(self, stream: str, event_id: str, at: datetime) -> None:
        mark = await self.session.get(ProjectionMark, stream)
        if mark is None:
            mark = ProjectionMark(stream=stream, last_event_at=at, last_event_id=event_id, updated_at=utcnow())
            self.session.add(mark)
        elif at >= mark.last_event_at:
            mark.last_event_at, mark.last_event_id, mark.updated_at = at, event_id, utcnow()
        await self.session.flush()
