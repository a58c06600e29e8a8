"""The portfolio's totals: sums over applications, by product and by seller sector."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Row, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.models import Application, SellerSectorProjection


class PortfolioRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def by_product(self) -> list[Row[Any]]:
        a = Application
        stmt = (
            select(a.currency, a.product, *_portfolio_columns())
            .where(a.approved_minor.is_not(None), a.status != "withdrawn")
            .group_by(a.currency, a.product)
            .order_by(a.currency, a.product)
        )
        return list((await self.session.execute(stmt)).all())

    async def by_sector(self) -> list[Row[Any]]:
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
