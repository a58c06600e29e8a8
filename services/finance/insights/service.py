"""Read models for lenders: the seller's trade profile and the portfolio totals."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.finance.aggregate import load_visible
from services.finance.insights.profile import WINDOWS, OrderFacts, trade_windows
from services.finance.insights.repository import PortfolioRepository
from services.finance.projections.repository import ORDERS_STREAM, ProjectionRepository
from services.finance.repository import ApplicationRepository
from services.finance.schemas import MoneyOut, PortfolioOut, PortfolioRow, TradeProfileOut, WindowOut
from shared.auth import Identity
from shared.db import utcnow
from shared.money import format_minor


def _values(by_currency: dict[str, int]) -> list[MoneyOut]:
    return [MoneyOut(amount=format_minor(v, c), currency=c) for c, v in sorted(by_currency.items())]


def _rate(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:f}"


async def trade_profile(session: AsyncSession, application_id: str, identity: Identity) -> TradeProfileOut:
    app = await load_visible(ApplicationRepository(session), application_id, identity, lock=False)
    projections = ProjectionRepository(session)
    now = utcnow()
    longest = max(length for _, length in WINDOWS)
    parts = await projections.seller_orders_since(app.seller_id, now - longest)
    facts = [
        OrderFacts(
            marketplace_id=p.marketplace_id,
            currency=p.currency,
            value_minor=p.value_minor,
            first_seen_at=p.first_seen_at,
            confirmed_at=p.confirmed_at,
            shipped_at=p.shipped_at,
            delivered_at=p.delivered_at,
            cancelled_at=p.cancelled_at,
            rejected_at=p.rejected_at,
        )
        for p in parts
    ]
    mark = await projections.mark(ORDERS_STREAM)
    as_of = mark.last_event_at if mark else None
    note = (
        f"From finance's own record of order events, as of the last one consumed ({as_of.isoformat()})."
        if as_of
        else "Finance has consumed no order event yet."
    )
    windows = [
        WindowOut(
            window=w.label,
            since=w.since,
            orders_seen=w.orders_seen,
            orders_confirmed=w.confirmed,
            orders_shipped=w.shipped,
            orders_delivered=w.delivered,
            orders_cancelled=w.cancelled,
            orders_rejected=w.rejected,
            confirmed_value=_values(w.confirmed_value_minor),
            shipped_value=_values(w.shipped_value_minor),
            delivered_value=_values(w.delivered_value_minor),
            cancellation_rate=_rate(w.cancellation_rate),
            rejection_rate=_rate(w.rejection_rate),
            delivered_share=_rate(w.delivered_share),
            top_marketplace=w.top_marketplace,
            top_marketplace_share=_rate(w.top_marketplace_share),
        )
        for w in trade_windows(facts, now)
    ]
    return TradeProfileOut(seller_id=app.seller_id, as_of=as_of, note=note, windows=windows)


def _row(row: Row[Any], **key: str) -> PortfolioRow:
    c = row.currency
    return PortfolioRow(
        currency=c,
        applications=row.applications,
        approved=format_minor(int(row.approved_minor), c),
        disbursed=format_minor(int(row.disbursed_minor), c),
        outstanding=format_minor(int(row.outstanding_minor), c),
        in_arrears=format_minor(int(row.in_arrears_minor), c),
        repaid=format_minor(int(row.repaid_minor), c),
        **key,
    )


async def portfolio(session: AsyncSession) -> PortfolioOut:
    repo = PortfolioRepository(session)
    return PortfolioOut(
        by_product=[_row(r, product=r.product) for r in await repo.by_product()],
        by_sector=[_row(r, sector=r.sector) for r in await repo.by_sector()],
    )
