"""Export-opportunity insight (`GET /v1/insights/demand`) from the maintained demand aggregate.

The aggregate (models.Demand*) is kept per day and key in the transaction that confirms or cancels
an order, so a 90-day window reads at most 2 × 90 days × keys rows, whatever the number of orders:
sums for units and value (per seller too, for its share), a price histogram for the median,
per-city units, and a HyperLogLog sketch of buyers per day (sketch.py: distinct buyers are an
estimate within ~5%, exact in practice for small numbers). What counts is confirmed demand
(confirmed, shipped, delivered; a cancellation takes it back out), dated by the day the order was
placed (UTC).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession

from services.orders import sketch
from services.orders.domain import median_unit_price, share_percent, trend, validate_window
from services.orders.repository import OrderRepository
from services.orders.schemas import CityOut, DemandOut, DemandRow, Money, TrendOut
from shared.auth import Identity, Role
from shared.money import format_minor, minor_units

TOP_CITIES = 5

Key = tuple[str, str]


def _trend_out(current: int, previous: int) -> TrendOut:
    t = trend(current, previous)
    change = str(t.change_percent) if t.change_percent is not None else None
    return TrendOut(direction=t.direction, change_percent=change)


async def demand(
    session: AsyncSession, identity: Identity, *, window: int, category: str | None, hs_code: str | None
) -> DemandOut:
    days = validate_window(window)
    today = datetime.now(UTC).date()
    end = today + timedelta(days=1)  # today counts: whole UTC days [start, end)
    start = end - timedelta(days=days)
    previous_start = start - timedelta(days=days)
    repo = OrderRepository(session)

    current = await repo.demand_totals(start, end, category, hs_code)
    earlier = await repo.demand_totals(previous_start, start, category, hs_code)
    previous = {(r.category, r.hs_code, r.currency): r for r in earlier}
    prices: dict[tuple[str, str, str], list[tuple[int, int]]] = defaultdict(list)
    for r in await repo.demand_prices(start, end, category, hs_code):
        prices[(r.category, r.hs_code, r.currency)].append((int(r.unit_price_minor), int(r.lines)))
    cities: dict[Key, list[CityOut]] = defaultdict(list)
    for r in await repo.demand_cities(start, end, category, hs_code):
        cities[(r.category, r.hs_code)].append(CityOut(country=r.country, city=r.city, units=int(r.units)))
    sketches: dict[Key, list[bytes]] = defaultdict(list)
    for r in await repo.demand_buyer_sketches(start, end, category, hs_code):
        sketches[(r.category, r.hs_code)].append(bytes(r.sketch))
    buyers = {key: sketch.estimate(sketch.merge(found)) for key, found in sketches.items()}
    own: dict[tuple[str, str, str], int] = {}
    is_seller = identity.role is Role.SELLER
    if is_seller and identity.subject:
        rows = await repo.seller_totals(identity.subject, start, end, category, hs_code)
        own = {(r.category, r.hs_code, r.currency): int(r.value_minor) for r in rows}

    out: list[DemandRow] = []
    for r in current:
        units, value = int(r.units), int(r.value_minor)
        if units <= 0:
            continue
        key = (r.category, r.hs_code, r.currency)
        before = previous.get(key)
        places = minor_units(r.currency)
        median = _histogram_median(prices.get(key, []), places, r.currency)
        top = sorted(cities.get((r.category, r.hs_code), []), key=lambda c: (-c.units, c.country, c.city))[:TOP_CITIES]
        out.append(
            DemandRow(
                category=r.category,
                hs_code=r.hs_code,
                currency=r.currency,
                units=units,
                value=Money(amount=format_minor(value, r.currency), currency=r.currency),
                distinct_buyers=buyers.get((r.category, r.hs_code), 0),
                median_unit_price=median,
                top_cities=top,
                units_trend=_trend_out(units, int(before.units) if before else 0),
                value_trend=_trend_out(value, int(before.value_minor) if before else 0),
                seller_share_percent=str(share_percent(own.get(key, 0), value)) if is_seller else None,
            )
        )
    out.sort(key=lambda row: (-Decimal(row.value.amount), row.category, row.hs_code, row.currency))
    return DemandOut(
        window_days=days,
        start=datetime.combine(start, datetime.min.time(), UTC),
        end=datetime.combine(end, datetime.min.time(), UTC),
        rows=out,
    )


def _histogram_median(histogram: list[tuple[int, int]], places: int, currency: str) -> Money | None:
    """The median of the lines' unit prices from (price, lines) pairs, as domain.median_unit_price rounds it."""
    ordered = sorted((p, n) for p, n in histogram if n > 0)
    total = sum(n for _, n in ordered)
    if total == 0:
        return None
    # The one or two middle observations, found by walking the cumulative counts.
    wanted = [(total - 1) // 2, total // 2]
    picked: list[Decimal] = []
    seen = 0
    for price, n in ordered:
        for index in wanted:
            if seen <= index < seen + n:
                picked.append(Decimal(price).scaleb(-places))
        seen += n
    value = median_unit_price(picked, currency)
    return None if value is None else Money(amount=f"{value:.{places}f}", currency=currency)
