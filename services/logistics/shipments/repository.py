"""SQL of the shipment area: shipments (one per order) and their tracking timelines."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.logistics.models import ShipmentRow, TrackingEventRow
from shared.db import insert_ignore
from shared.pagination import keyset_after

__all__ = ["ShipmentRepository"]


class ShipmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, shipment_id: str, *, lock: bool = False) -> ShipmentRow | None:
        """The shipment; with `lock`, its row stays locked until the transaction ends (PostgreSQL:
        FOR UPDATE; SQLite: every write transaction already holds the database's write lock)."""
        stmt = select(ShipmentRow).where(ShipmentRow.id == shipment_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def by_order(self, order_id: str, *, lock: bool = False) -> ShipmentRow | None:
        stmt = select(ShipmentRow).where(ShipmentRow.order_id == order_id)
        if lock:
            stmt = stmt.with_for_update()
        return (await self.session.scalars(stmt)).one_or_none()

    async def add(self, values: dict[str, Any]) -> bool:
        """Insert unless the order already has its shipment (the unique order id decides)."""
        return await insert_ignore(self.session, ShipmentRow.__table__, values)  # type: ignore[arg-type]

    async def flush(self) -> None:
        await self.session.flush()

    async def timeline(self, shipment_id: str) -> list[TrackingEventRow]:
        stmt = select(TrackingEventRow).where(TrackingEventRow.shipment_id == shipment_id)
        return list((await self.session.scalars(stmt)).all())

    async def timelines(self, shipment_ids: list[str]) -> dict[str, list[TrackingEventRow]]:
        """The timelines of several shipments in one query (a page of a list), by shipment id."""
        found: dict[str, list[TrackingEventRow]] = {sid: [] for sid in shipment_ids}
        if shipment_ids:
            stmt = select(TrackingEventRow).where(TrackingEventRow.shipment_id.in_(shipment_ids))
            for row in (await self.session.scalars(stmt)).all():
                found[row.shipment_id].append(row)
        return found

    async def add_event(self, values: dict[str, Any]) -> None:
        await self.session.execute(insert(TrackingEventRow).values(values))

    async def search(
        self,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        order_id: str | None,
        status: str | None,
        visible: ColumnElement[bool] | None,
    ) -> list[ShipmentRow]:
        stmt = select(ShipmentRow)
        if order_id:
            stmt = stmt.where(ShipmentRow.order_id == order_id)
        if status:
            stmt = stmt.where(ShipmentRow.status == status)
        if visible is not None:
            stmt = stmt.where(visible)
        if after:
            stmt = stmt.where(keyset_after([(ShipmentRow.created_at, False), (ShipmentRow.id, False)], after))
        stmt = stmt.order_by(ShipmentRow.created_at, ShipmentRow.id).limit(limit)
        return list((await self.session.scalars(stmt)).all())
