"""FX use cases: the rates behind indicative display prices (no change-log row, so no writers' lock)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.context import (
    FX_CLOCK_SKEW,
)
from services.catalogue.fx.repository import FxRepository
from services.catalogue.models import (
    FxRate,
    FxRateHistory,
)
from services.catalogue.repositories import Repositories
from services.catalogue.schemas import (
    FxRateIn,
    FxRateOut,
    FxRatesOut,
)
from shared.auth import Identity
from shared.db import utcnow
from shared.errors import (
    Conflict,
    invalid,
)
from shared.outbox import lock_aggregate


def _fx_out(rate: FxRate) -> FxRateOut:
    return FxRateOut(
        base=rate.base,
        quote=rate.quote,
        rate=rate.rate,
        source=rate.source,
        as_of=rate.as_of,
        set_by=rate.set_by,
        updated_at=rate.updated_at,
    )


async def set_fx_rate(session: AsyncSession, body: FxRateIn, identity: Identity) -> FxRateOut:
    now = utcnow()
    if body.as_of > now + FX_CLOCK_SKEW:
        raise invalid([{"field": "as_of", "reason": "must not lie in the future"}])
    repo = Repositories(session)
    # FX writes do not touch the change log, so they do not take the catalogue writers' lock; the
    # pair's own lock serialises two updates of one pair (the as-of check, then the upsert).
    await lock_aggregate(session, f"fx:{body.base}/{body.quote}")
    current = next((r for r in await repo.fx.fx_rates() if (r.base, r.quote) == (body.base, body.quote)), None)
    if current is not None and body.as_of < current.as_of:
        raise Conflict(
            f"A newer {body.base}/{body.quote} rate (as of {current.as_of.isoformat()}) is already set.",
            current_as_of=current.as_of.isoformat(),
        )
    rate_text = format(body.rate.normalize(), "f")
    values = {
        "base": body.base,
        "quote": body.quote,
        "rate": rate_text,
        "source": body.source,
        "as_of": body.as_of,
        "set_by": identity.actor,
    }
    stored = await repo.fx.put_fx_rate(FxRate(**values, updated_at=now), FxRateHistory(**values, at=now))
    return _fx_out(stored)


async def fx_rates(session: AsyncSession) -> FxRatesOut:
    return FxRatesOut(items=[_fx_out(r) for r in await FxRepository(session).fx_rates()])
