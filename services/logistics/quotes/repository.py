"""SQL of the quote area: one Core insert per issued quote, one primary-key read."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.models import QuoteRow
from shared.db import Database
from shared.fastread import Query

__all__ = ["QuoteReads", "QuoteRepository"]

_TABLE = QuoteRow.__table__
_INSERT = insert(QuoteRow)
_GET = Query(select(_TABLE.c.owner, _TABLE.c.body).where(_TABLE.c.id == bindparam("id")))


class QuoteRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add_many(self, rows: list[dict[str, Any]]) -> None:
        await self.session.execute(_INSERT, rows)

    async def get(self, quote_id: str) -> tuple[str, str] | None:
        """(owner, body) of a quote, or None."""
        stmt = select(_TABLE.c.owner, _TABLE.c.body).where(_TABLE.c.id == quote_id)
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else (str(row.owner), str(row.body))


class QuoteReads:
    """The hot read: a quote's owner and stored answer, straight from the driver (shared/fastread.py)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def get(self, quote_id: str) -> tuple[str, str] | None:
        row = await self.db.fetch_one(_GET, {"id": quote_id})
        return None if row is None else (str(row[0]), str(row[1]))
