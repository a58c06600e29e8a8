"""SQL of the quote area: one Core insert per issued quote, one primary-key read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.models import QuoteRow

__all__ = ["QuoteRepository"]

_TABLE = QuoteRow.__table__
_INSERT = insert(QuoteRow)


class QuoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(_INSERT, [values])

    async def get(self, quote_id: str) -> tuple[str, Any] | None:
        """(owner, body) of a quote, or None."""
        stmt = select(_TABLE.c.owner, _TABLE.c.body).where(_TABLE.c.id == quote_id)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (row.owner, row.body)
