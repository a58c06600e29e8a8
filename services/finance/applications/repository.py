"""The queue and the seller's list: one filtered keyset query over applications."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.models import Application
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


class QueueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
