"""SQL of the FX area: the current rate per pair and its history."""

from __future__ import annotations

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.models import (
    FxRate,
    FxRateHistory,
)

__all__ = ["FxRepository"]


class FxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fx_rates(self) -> list[FxRate]:
        return list((await self.session.scalars(select(FxRate).order_by(FxRate.base, FxRate.quote))).all())

    async def put_fx_rate(self, rate: FxRate, history: FxRateHistory) -> FxRate:
        merged = await self.session.merge(rate)
        self.session.add(history)
        await self.session.flush()
        return merged
