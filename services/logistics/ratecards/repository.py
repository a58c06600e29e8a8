"""SQL of the rate-card area. Cards are insert-only: a new version is a new row."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.models import RateCardRow
from shared.db import insert_ignore
from shared.pagination import keyset_after

__all__ = ["RateCardRepository"]

_TABLE = RateCardRow.__table__


class RateCardRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def usable_on_or_after(self, day: date) -> list[RateCardRow]:
        """Every version still valid on `day` or later (an expired card can never price again)."""
        stmt = select(RateCardRow).where(RateCardRow.valid_to >= day).order_by(RateCardRow.seq)
        return list((await self.session.scalars(stmt)).all())

    async def latest_version(self, card_id: str) -> int:
        stmt = select(func.coalesce(func.max(RateCardRow.version), 0)).where(RateCardRow.card_id == card_id)
        return int(await self.session.scalar(stmt) or 0)

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(RateCardRow).values(values))

    async def add_if_missing(self, values: dict[str, Any]) -> bool:
        return await insert_ignore(self.session, _TABLE, values)  # type: ignore[arg-type]

    async def get(self, card_id: str, version: int) -> RateCardRow | None:
        stmt = select(RateCardRow).where(RateCardRow.card_id == card_id, RateCardRow.version == version)
        return (await self.session.scalars(stmt)).one_or_none()

    async def versions(self, card_id: str) -> list[RateCardRow]:
        stmt = select(RateCardRow).where(RateCardRow.card_id == card_id).order_by(RateCardRow.version.desc())
        return list((await self.session.scalars(stmt)).all())

    async def search(
        self,
        *,
        limit: int,
        after: tuple[str, int] | None,
        mode: str | None,
        origin: str | None,
        destination: str | None,
    ) -> list[RateCardRow]:
        stmt = select(RateCardRow)
        if mode:
            stmt = stmt.where(RateCardRow.mode == mode)
        if origin:
            stmt = stmt.where(RateCardRow.origin == origin)
        if destination:
            stmt = stmt.where(RateCardRow.destination == destination)
        if after:
            stmt = stmt.where(keyset_after([(RateCardRow.card_id, False), (RateCardRow.version, False)], after))
        stmt = stmt.order_by(RateCardRow.card_id, RateCardRow.version).limit(limit)
        return list((await self.session.scalars(stmt)).all())
