"""SQL of the FX area: the current rate per pair and its history, and the in-process rate cache.

`RATES` caches the rate table per database (shared/cache.py): a listing read needs it for its
display prices, and reloading it on every request doubled the queries of a read. `put_fx_rate`
drops it everywhere when its transaction commits.
"""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import (
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import Rate
from services.catalogue.models import (
    FxRate,
    FxRateHistory,
)
from shared.cache import HotTableCache
from shared.db import Database
from shared.fastread import Query

__all__ = ["RATES", "FxRepository", "RateTable", "load_rates"]

RateTable = dict[tuple[str, str], Rate]

_fx = FxRate.__table__.c
_RATES = Query(select(_fx.base, _fx.quote, _fx.rate, _fx.source, _fx.as_of).order_by(_fx.base, _fx.quote))


async def load_rates(db: Database) -> RateTable:
    return {(b, q): Rate(b, q, Decimal(r), src, as_of) for b, q, r, src, as_of in await db.fetch(_RATES)}


#: The current rates by (base, quote), cached in process until an FX write commits.
RATES: HotTableCache[RateTable] = HotTableCache("catalogue_fx_rates", load_rates)


class FxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def fx_rates(self) -> list[FxRate]:
        return list((await self.session.scalars(select(FxRate).order_by(FxRate.base, FxRate.quote))).all())

    async def put_fx_rate(self, rate: FxRate, history: FxRateHistory) -> FxRate:
        merged = await self.session.merge(rate)
        self.session.add(history)
        await self.session.flush()
        await RATES.changed(self.session)
        return merged
