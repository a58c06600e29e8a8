"""All SQL of the orders service. Repositories flush; they never commit."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.orders import sketch
from services.orders.models import (
    DemandBuyers,
    DemandCity,
    DemandDaily,
    DemandPrice,
    DemandSellerDaily,
    ListingProjection,
    Order,
    OrderLine,
    OrderTransition,
    QuoteProjection,
)
from shared.pagination import keyset_after

__all__ = ["DemandKey", "OrderRepository"]

#: (day, category, hs_code)
DemandKey = tuple[date, str, str]


def _insert(session: AsyncSession, table: Table) -> Any:
    return (pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert)(table)


class OrderRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ---------------------------------------------------------------------------------------------
    # Projections

    async def upsert_listing(self, values: dict[str, Any]) -> None:
        """Insert or update a listing's copy; an older version never overwrites a newer one."""
        table = ListingProjection.__table__
        stmt = _insert(self.session, table).values(values)  # type: ignore[arg-type]
        stmt = stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={k: stmt.excluded[k] for k in values if k != "id"},
            where=table.c.version < stmt.excluded.version,
        )
        await self.session.execute(stmt)

    async def listings(self, ids: Iterable[str]) -> dict[str, ListingProjection]:
        stmt = select(ListingProjection).where(ListingProjection.id.in_(list(ids)))
        return {row.id: row for row in (await self.session.scalars(stmt)).all()}

    async def upsert_quote(self, values: dict[str, Any]) -> None:
        stmt = _insert(self.session, QuoteProjection.__table__).values(values)  # type: ignore[arg-type]
        stmt = stmt.on_conflict_do_nothing(index_elements=["id"])
        await self.session.execute(stmt)

    async def quote(self, quote_id: str) -> QuoteProjection | None:
        return await self.session.get(QuoteProjection, quote_id)

    # ---------------------------------------------------------------------------------------------
    # Orders

    async def by_reference(self, marketplace_id: str, reference: str) -> Order | None:
        stmt = select(Order).where(Order.marketplace_id == marketplace_id, Order.reference == reference)
        return (await self.session.scalars(stmt)).one_or_none()

    async def add_order(self, order: dict[str, Any], lines: Sequence[dict[str, Any]]) -> bool:
        """Insert the order and its lines; False if the marketplace's reference was taken meanwhile.

        The unique (marketplace, reference) decides a race: the loser inserts nothing (ON CONFLICT DO
        NOTHING, no savepoint round trips) and returns the winner's order.
        """
        stmt = _insert(self.session, Order.__table__).values(order)  # type: ignore[arg-type]
        stmt = stmt.on_conflict_do_nothing(index_elements=["marketplace_id", "reference"])
        result = await self.session.execute(stmt)
        if not getattr(result, "rowcount", 0):
            return False
        await self.session.execute(insert(cast(Table, OrderLine.__table__)), list(lines))
        return True

    async def get(self, order_id: str, *, lock: bool = False) -> Order | None:
        stmt = select(Order).where(Order.id == order_id).execution_options(populate_existing=True)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def lines(self, order_id: str) -> list[OrderLine]:
        stmt = select(OrderLine).where(OrderLine.order_id == order_id).order_by(OrderLine.line_id)
        return list((await self.session.scalars(stmt)).all())

    async def lines_of(self, order_ids: Sequence[str]) -> dict[str, list[OrderLine]]:
        out: dict[str, list[OrderLine]] = {oid: [] for oid in order_ids}
        if not order_ids:
            return out
        stmt = select(OrderLine).where(OrderLine.order_id.in_(list(order_ids))).order_by(OrderLine.line_id)
        for line in (await self.session.scalars(stmt)).all():
            out[line.order_id].append(line)
        return out

    async def set_status(self, order_id: str, expected: str, values: dict[str, Any]) -> bool:
        """Compare-and-set of the status, so one event or command wins a race and the others see it."""
        result = await self.session.execute(
            update(Order)
            .where(Order.id == order_id, Order.status == expected)
            .values(version=Order.version + 1, **values)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def update(self, order_id: str, values: dict[str, Any]) -> None:
        await self.session.execute(
            update(Order).where(Order.id == order_id).values(**values).execution_options(synchronize_session=False)
        )

    async def add_transition(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(cast(Table, OrderTransition.__table__)), [values])

    async def history(self, order_id: str) -> list[OrderTransition]:
        stmt = select(OrderTransition).where(OrderTransition.order_id == order_id).order_by(OrderTransition.id)
        return list((await self.session.scalars(stmt)).all())

    async def search(
        self,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        status: str | None,
        marketplace_id: str | None,
        seller_id: str | None,
        placed_from: datetime | None,
        placed_to: datetime | None,
    ) -> list[Order]:
        """Newest first, keyset-paginated on (placed_at, id)."""
        stmt = select(Order)
        if status:
            stmt = stmt.where(Order.status == status)
        if marketplace_id:
            stmt = stmt.where(Order.marketplace_id == marketplace_id)
        if seller_id:
            stmt = stmt.where(Order.id.in_(select(OrderLine.order_id).where(OrderLine.seller_id == seller_id)))
        if placed_from:
            stmt = stmt.where(Order.placed_at >= placed_from)
        if placed_to:
            stmt = stmt.where(Order.placed_at < placed_to)
        if after:
            stmt = stmt.where(keyset_after([(Order.placed_at, True), (Order.id, True)], after))
        stmt = stmt.order_by(Order.placed_at.desc(), Order.id.desc()).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    async def overdue(self, now: datetime, limit: int) -> list[str]:
        stmt = (
            select(Order.id)
            .where(Order.status == "pending", Order.deadline_at <= now)
            .order_by(Order.deadline_at)
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def buyer_cbec_since(self, buyer_key: str, since: datetime, counted: Sequence[str]) -> int:
        """Fen of CBEC customs value the buyer already imported since `since` (orders in `counted` states)."""
        stmt = select(func.coalesce(func.sum(Order.customs_value_cny_minor), 0)).where(
            Order.buyer_key == buyer_key, Order.placed_at >= since, Order.status.in_(list(counted))
        )
        return int((await self.session.execute(stmt)).scalar_one())

    # ---------------------------------------------------------------------------------------------
    # Demand aggregate

    async def _add(self, model: Any, keys: dict[str, Any], counts: dict[str, int]) -> None:
        table = model.__table__
        stmt = _insert(self.session, table).values({**keys, **counts})
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys), set_={k: table.c[k] + stmt.excluded[k] for k in counts}
        )
        await self.session.execute(stmt)

    async def add_demand(
        self,
        key: DemandKey,
        *,
        currency: str,
        seller_id: str,
        units: int,
        value_minor: int,
        unit_price_minor: int,
        country: str,
        city: str,
        buyer_key: str,
        sign: int,
    ) -> None:
        """Count one order line in (sign=1) or out of (sign=-1) the demand aggregate."""
        day, category, hs_code = key
        base = {"day": day, "category": category, "hs_code": hs_code}
        counts = {"units": sign * units, "value_minor": sign * value_minor}
        await self._add(DemandDaily, {**base, "currency": currency}, {**counts, "lines": sign})
        await self._add(DemandSellerDaily, {**base, "currency": currency, "seller_id": seller_id}, counts)
        price = {**base, "currency": currency, "unit_price_minor": unit_price_minor}
        await self._add(DemandPrice, price, {"lines": sign})
        await self._add(DemandCity, {**base, "country": country, "city": city}, {"units": sign * units})
        if sign > 0:
            await self._add_buyer(base, buyer_key)

    async def _add_buyer(self, key: dict[str, Any], buyer_key: str) -> None:
        """Count the buyer in the day's sketch (a sketch cannot forget: cancellations leave it)."""
        current = await self.session.scalar(
            select(DemandBuyers.sketch)
            .where(*(getattr(DemandBuyers, k) == v for k, v in key.items()))
            .with_for_update()
        )
        updated = sketch.add(current, buyer_key)
        if current == updated:
            return
        stmt = _insert(self.session, DemandBuyers.__table__).values({**key, "sketch": updated})  # type: ignore[arg-type]
        stmt = stmt.on_conflict_do_update(index_elements=list(key), set_={"sketch": stmt.excluded.sketch})
        await self.session.execute(stmt)

    def _window(self, model: Any, start: date, end: date, category: str | None, hs_code: str | None) -> list[Any]:
        conds: list[ColumnElement[bool]] = [model.day >= start, model.day < end]
        if category:
            conds.append(model.category == category)
        if hs_code:
            conds.append(model.hs_code == hs_code)
        return conds

    async def demand_totals(self, start: date, end: date, category: str | None, hs_code: str | None) -> list[Any]:
        """(category, hs_code, currency, units, value_minor) per key over [start, end)."""
        stmt = (
            select(
                DemandDaily.category,
                DemandDaily.hs_code,
                DemandDaily.currency,
                func.sum(DemandDaily.units).label("units"),
                func.sum(DemandDaily.value_minor).label("value_minor"),
            )
            .where(*self._window(DemandDaily, start, end, category, hs_code))
            .group_by(DemandDaily.category, DemandDaily.hs_code, DemandDaily.currency)
        )
        return list((await self.session.execute(stmt)).all())

    async def seller_totals(
        self, seller_id: str, start: date, end: date, category: str | None, hs_code: str | None
    ) -> list[Any]:
        conds = [
            DemandSellerDaily.seller_id == seller_id,
            *self._window(DemandSellerDaily, start, end, category, hs_code),
        ]
        stmt = (
            select(
                DemandSellerDaily.category,
                DemandSellerDaily.hs_code,
                DemandSellerDaily.currency,
                func.sum(DemandSellerDaily.value_minor).label("value_minor"),
            )
            .where(*conds)
            .group_by(DemandSellerDaily.category, DemandSellerDaily.hs_code, DemandSellerDaily.currency)
        )
        return list((await self.session.execute(stmt)).all())

    async def demand_prices(self, start: date, end: date, category: str | None, hs_code: str | None) -> list[Any]:
        conds = self._window(DemandPrice, start, end, category, hs_code)
        stmt = (
            select(
                DemandPrice.category,
                DemandPrice.hs_code,
                DemandPrice.currency,
                DemandPrice.unit_price_minor,
                func.sum(DemandPrice.lines).label("lines"),
            )
            .where(*conds)
            .group_by(DemandPrice.category, DemandPrice.hs_code, DemandPrice.currency, DemandPrice.unit_price_minor)
            .having(func.sum(DemandPrice.lines) > 0)
        )
        return list((await self.session.execute(stmt)).all())

    async def demand_cities(self, start: date, end: date, category: str | None, hs_code: str | None) -> list[Any]:
        conds = self._window(DemandCity, start, end, category, hs_code)
        stmt = (
            select(
                DemandCity.category,
                DemandCity.hs_code,
                DemandCity.country,
                DemandCity.city,
                func.sum(DemandCity.units).label("units"),
            )
            .where(*conds)
            .group_by(DemandCity.category, DemandCity.hs_code, DemandCity.country, DemandCity.city)
            .having(func.sum(DemandCity.units) > 0)
        )
        return list((await self.session.execute(stmt)).all())

    async def demand_buyer_sketches(
        self, start: date, end: date, category: str | None, hs_code: str | None
    ) -> list[Any]:
        conds = self._window(DemandBuyers, start, end, category, hs_code)
        stmt = select(DemandBuyers.category, DemandBuyers.hs_code, DemandBuyers.sketch).where(*conds)
        return list((await self.session.execute(stmt)).all())
