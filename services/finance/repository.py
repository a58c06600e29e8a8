"""All SQL of the finance service. Repositories flush; they never commit."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, case, delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.models import (
    Application,
    Instalment,
    OrderClaim,
    OrderProjection,
    ProjectionMark,
    Repayment,
    SellerProjection,
    SellerSectorProjection,
    StatusChange,
)
from shared.db import insert_ignore, utcnow
from shared.pagination import keyset_after


@dataclass(frozen=True)
class QueueFilter:
    seller_id: str | None = None
    statuses: Sequence[str] = ()
    product: str | None = None
    currency: str | None = None
    min_minor: int | None = None
    max_minor: int | None = None
    submitted_before: datetime | None = None
    submitted_after: datetime | None = None


class ApplicationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------ applications

    async def get(self, application_id: str, *, lock: bool = False) -> Application | None:
        """The application; `lock` holds its row until commit (PostgreSQL; SQLite writers are serial)."""
        return await self.session.get(Application, application_id, with_for_update=lock, populate_existing=lock)

    async def add(self, application: Application) -> None:
        self.session.add(application)
        await self.session.flush()

    async def flush(self) -> None:
        await self.session.flush()

    async def open_of_seller(self, seller_id: str, statuses: Sequence[str]) -> list[Application]:
        """The seller's applications in `statuses`, locked, in id order (a stable lock order)."""
        stmt = (
            select(Application)
            .where(Application.seller_id == seller_id, Application.status.in_(list(statuses)))
            .order_by(Application.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return list((await self.session.scalars(stmt)).all())

    async def ids_in_status(self, status: str) -> list[str]:
        stmt = select(Application.id).where(Application.status == status).order_by(Application.id)
        return list((await self.session.scalars(stmt)).all())

    async def search(self, filters: QueueFilter, *, limit: int, after: tuple[datetime, str] | None) -> list[Row[Any]]:
        a = Application
        stmt = select(
            a.id,
            a.seller_id,
            a.product,
            a.status,
            a.requested_minor,
            a.currency,
            a.tenor_days,
            a.eligible,
            a.created_at,
            a.submitted_at,
        )
        conditions: list[ColumnElement[bool]] = []
        if filters.seller_id is not None:
            conditions.append(a.seller_id == filters.seller_id)
        if filters.statuses:
            conditions.append(a.status.in_(list(filters.statuses)))
        if filters.product is not None:
            conditions.append(a.product == filters.product)
        if filters.currency is not None:
            conditions.append(a.currency == filters.currency)
        if filters.min_minor is not None:
            conditions.append(a.requested_minor >= filters.min_minor)
        if filters.max_minor is not None:
            conditions.append(a.requested_minor <= filters.max_minor)
        if filters.submitted_before is not None:
            conditions.append(a.submitted_at <= filters.submitted_before)
        if filters.submitted_after is not None:
            conditions.append(a.submitted_at >= filters.submitted_after)
        if after is not None:
            conditions.append(keyset_after([(a.created_at, False), (a.id, False)], after))
        stmt = stmt.where(*conditions).order_by(a.created_at, a.id).limit(limit)
        rows: list[Row[Any]] = list((await self.session.execute(stmt)).all())  # type: ignore[arg-type]
        return rows

    # ------------------------------------------------------------------ history

    async def add_history(self, change: StatusChange) -> None:
        self.session.add(change)
        await self.session.flush()

    async def history(self, application_id: str) -> list[StatusChange]:
        stmt = select(StatusChange).where(StatusChange.application_id == application_id).order_by(StatusChange.id)
        return list((await self.session.scalars(stmt)).all())

    # ------------------------------------------------------------------ order claims

    async def claim(self, order_id: str, seller_id: str, application_id: str) -> None:
        """Claim the seller's part of an order for this application unless another holds it."""
        await insert_ignore(
            self.session,
            OrderClaim.__table__,  # type: ignore[arg-type]
            {"order_id": order_id, "seller_id": seller_id, "application_id": application_id, "claimed_at": utcnow()},
        )

    async def claim_holders(self, seller_id: str, order_ids: Sequence[str]) -> dict[str, str]:
        """order id -> the application financing the seller's part of it."""
        if not order_ids:
            return {}
        stmt = select(OrderClaim.order_id, OrderClaim.application_id).where(
            OrderClaim.seller_id == seller_id, OrderClaim.order_id.in_(list(order_ids))
        )
        return {r.order_id: r.application_id for r in (await self.session.execute(stmt)).all()}

    async def release_claims(self, application_id: str) -> None:
        await self.session.execute(delete(OrderClaim).where(OrderClaim.application_id == application_id))

    # ------------------------------------------------------------------ schedule and repayments

    async def add_schedule(self, rows: Sequence[Instalment]) -> None:
        self.session.add_all(rows)
        await self.session.flush()

    async def schedule(self, application_id: str) -> list[Instalment]:
        stmt = select(Instalment).where(Instalment.application_id == application_id).order_by(Instalment.number)
        return list((await self.session.scalars(stmt)).all())

    async def add_repayment(self, repayment: Repayment) -> None:
        self.session.add(repayment)
        await self.session.flush()

    async def repayments(self, application_id: str) -> list[Repayment]:
        stmt = (
            select(Repayment)
            .where(Repayment.application_id == application_id)
            .order_by(Repayment.recorded_at, Repayment.id)
        )
        return list((await self.session.scalars(stmt)).all())

    # ------------------------------------------------------------------ portfolio

    async def portfolio_by_product(self) -> list[Row[Any]]:
        a = Application
        stmt = (
            select(a.currency, a.product, *_portfolio_columns())
            .where(a.approved_minor.is_not(None), a.status != "withdrawn")
            .group_by(a.currency, a.product)
            .order_by(a.currency, a.product)
        )
        return list((await self.session.execute(stmt)).all())

    async def portfolio_by_sector(self) -> list[Row[Any]]:
        a, s = Application, SellerSectorProjection
        sector = func.coalesce(s.sector, "unknown")
        stmt = (
            select(a.currency, sector.label("sector"), *_portfolio_columns())
            .select_from(a)
            .outerjoin(s, s.seller_id == a.seller_id)
            .where(a.approved_minor.is_not(None), a.status != "withdrawn")
            .group_by(a.currency, sector)
            .order_by(a.currency, sector)
        )
        return list((await self.session.execute(stmt)).all())


_LIVE = ("disbursed", "in_arrears")


def _portfolio_columns() -> list[ColumnElement[Any]]:
    a = Application
    outstanding = a.principal_outstanding_minor + a.interest_outstanding_minor + a.fees_outstanding_minor
    zero = 0
    return [
        func.count().label("applications"),
        func.coalesce(func.sum(a.approved_minor), zero).label("approved_minor"),
        func.coalesce(func.sum(case((a.disbursed_on.is_not(None), a.approved_minor), else_=zero)), zero).label(
            "disbursed_minor"
        ),
        func.coalesce(func.sum(case((a.status.in_(_LIVE), outstanding), else_=zero)), zero).label("outstanding_minor"),
        func.coalesce(func.sum(case((a.status == "in_arrears", outstanding), else_=zero)), zero).label(
            "in_arrears_minor"
        ),
        func.coalesce(func.sum(a.repaid_minor), zero).label("repaid_minor"),
    ]


class ProjectionRepository:
    """Finance's projections of seller and order events."""

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
