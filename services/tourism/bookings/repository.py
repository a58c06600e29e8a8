"""SQL of the bookings area, and the one place capacity is taken and given back.

Capacity guarantee: places move only through conditional UPDATEs of the date's counter row
(`offer_dates.taken + :q <= capacity`), which alone keep confirmed bookings plus unreleased holds
within the date's capacity under any interleaving, on SQLite (writers serialised by BEGIN IMMEDIATE)
and on PostgreSQL (READ COMMITTED re-checks the WHERE on the newest row version after waiting).

Expired holds: a hold past `expires_at` still counts in `taken` until it is released. When a take
fails, `take` locks the counter row, reclaims the date's expired holds (compare-and-set held ->
expired) and gives their places back, all in the caller's transaction, then tries once more; so an
expired hold never blocks a booking, whether or not the sweeper has run. The reclaimed holds are
returned so the caller publishes `booking.expired` for each.

Lock order, to stay free of deadlocks on PostgreSQL: a date's counter row before any booking row of
that date; several dates in ascending order. Confirming locks only its booking row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, String, and_, false, literal, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.tourism.domain import BookingStatus
from services.tourism.models import Booking, Offer, OfferDate
from shared.pagination import keyset_after

__all__ = ["BookingRepository", "Reclaimed"]

HELD = BookingStatus.HELD.value
EXPIRED = BookingStatus.EXPIRED.value


@dataclass(frozen=True)
class Reclaimed:
    """An expired hold released by a reclaim or the sweeper: what `booking.expired` needs."""

    id: str
    app_id: str
    offer_id: str
    offer_kind: str
    visit_date: date
    quantity: int
    currency: str
    total_minor: int
    expires_at: datetime


class BookingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # --- capacity ----------------------------------------------------------------------------------

    async def _try_take(self, offer_id: str, day: date, quantity: int) -> bool:
        result = await self.session.execute(
            update(OfferDate)
            .where(
                OfferDate.offer_id == offer_id,
                OfferDate.day == day,
                OfferDate.closed.is_(False),
                OfferDate.taken + quantity <= OfferDate.capacity,
            )
            .values(taken=OfferDate.taken + quantity, version=OfferDate.version + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def take(self, offer_id: str, day: date, quantity: int, now: datetime) -> tuple[bool, list[Reclaimed]]:
        """Take `quantity` places on `day` if they remain (reclaiming expired holds if need be).

        Returns whether the places were taken, and the expired holds reclaimed on the way.
        """
        if await self._try_take(offer_id, day, quantity):
            return True, []
        if await self._add_date(offer_id, day):
            return await self._try_take(offer_id, day, quantity), []
        reclaimed = await self.reclaim_expired(offer_id, day, now)
        if not reclaimed:
            return False, []
        return await self._try_take(offer_id, day, quantity), reclaimed

    async def _add_date(self, offer_id: str, day: date) -> bool:
        """The date's counter row at the offer's default capacity, read in the same statement (not
        from the cached offer, which may be a moment old); False if it exists already."""
        dialect = self.session.get_bind().dialect.name
        insert_fn: Any = pg_insert if dialect == "postgresql" else sqlite_insert
        source = select(
            literal(offer_id, String),
            literal(day, Date),
            Offer.default_capacity,
            false(),
            false(),
            literal(0, Integer),
            literal(1, Integer),
        ).where(Offer.id == offer_id)
        columns = ["offer_id", "day", "capacity", "overridden", "closed", "taken", "version"]
        stmt = insert_fn(OfferDate).from_select(columns, source).on_conflict_do_nothing()
        result = await self.session.execute(stmt)
        return bool(getattr(result, "rowcount", 0))

    async def lock_date(self, offer_id: str, day: date) -> bool:
        """Hold the date's counter row until the transaction ends; False if the date has no row."""
        result = await self.session.execute(
            update(OfferDate)
            .where(OfferDate.offer_id == offer_id, OfferDate.day == day)
            .values(version=OfferDate.version + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def give_back(self, offer_id: str, day: date, quantity: int) -> None:
        """Return places to the date (a released hold, a cancelled or moved booking); locks the row."""
        await self.session.execute(
            update(OfferDate)
            .where(OfferDate.offer_id == offer_id, OfferDate.day == day)
            .values(taken=OfferDate.taken - quantity, version=OfferDate.version + 1)
            .execution_options(synchronize_session=False)
        )

    async def reclaim_expired(self, offer_id: str, day: date, now: datetime) -> list[Reclaimed]:
        """Release the date's holds past expiry and give their places back, under the counter's lock."""
        if not await self.lock_date(offer_id, day):
            return []
        result = await self.session.execute(
            update(Booking)
            .where(
                Booking.offer_id == offer_id,
                Booking.visit_date == day,
                Booking.status == HELD,
                Booking.expires_at <= now,
            )
            .values(status=EXPIRED, updated_at=now, version=Booking.version + 1)
            .returning(
                Booking.id,
                Booking.app_id,
                Booking.offer_id,
                Booking.offer_kind,
                Booking.visit_date,
                Booking.quantity,
                Booking.currency,
                Booking.total_minor,
                Booking.expires_at,
            )
            .execution_options(synchronize_session=False)
        )
        reclaimed = sorted((Reclaimed(*row) for row in result.all()), key=lambda r: r.id)
        places = sum(r.quantity for r in reclaimed)
        if places:
            await self.give_back(offer_id, day, places)
        return reclaimed

    async def expired_dates(self, now: datetime, limit: int) -> list[tuple[str, date]]:
        """Dates with holds past expiry still counted (the sweeper's work list), oldest expiry first."""
        stmt = (
            select(Booking.offer_id, Booking.visit_date)
            .where(Booking.status == HELD, Booking.expires_at <= now)
            .order_by(Booking.expires_at)
            .limit(limit)
        )
        return list(dict.fromkeys((o, d) for o, d in (await self.session.execute(stmt)).all()))

    # --- bookings ----------------------------------------------------------------------------------

    async def offer(self, offer_id: str) -> Offer | None:
        return await self.session.get(Offer, offer_id)

    async def add(self, values: dict[str, Any]) -> None:
        await self.session.execute(Booking.__table__.insert().values(values))  # type: ignore[attr-defined]

    async def get(self, booking_id: str, app_id: str | None) -> Booking | None:
        stmt = select(Booking).where(Booking.id == booking_id)
        if app_id is not None:
            stmt = stmt.where(Booking.app_id == app_id)
        return (await self.session.scalars(stmt.execution_options(populate_existing=True))).one_or_none()

    async def compare_and_set(self, booking: Booking, values: dict[str, Any], *extra: Any) -> bool:
        """Update the booking only if nobody changed it since it was read (its version), plus `extra`."""
        result = await self.session.execute(
            update(Booking)
            .where(Booking.id == booking.id, Booking.version == booking.version, *extra)
            .values(**values, version=Booking.version + 1)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def confirm(
        self, booking_id: str, app_id: str, reference: str, payment_reference: str, now: datetime
    ) -> bool:
        """held -> confirmed, only while the hold has not expired (compare-and-set on status and time)."""
        result = await self.session.execute(
            update(Booking)
            .where(
                Booking.id == booking_id,
                Booking.app_id == app_id,
                Booking.status == HELD,
                Booking.expires_at > now,
            )
            .values(
                status=BookingStatus.CONFIRMED.value,
                booking_reference=reference,
                payment_reference=payment_reference,
                confirmed_at=now,
                updated_at=now,
                version=Booking.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def search(
        self,
        *,
        limit: int,
        after: tuple[datetime, str] | None,
        now: datetime,
        app_id: str | None,
        status: BookingStatus | None,
        offer_id: str | None,
        visit_from: date | None,
        visit_to: date | None,
    ) -> Sequence[Booking]:
        stmt = select(Booking)
        if app_id is not None:
            stmt = stmt.where(Booking.app_id == app_id)
        if status is BookingStatus.HELD:
            stmt = stmt.where(Booking.status == HELD, Booking.expires_at > now)
        elif status is BookingStatus.EXPIRED:
            stmt = stmt.where(or_(Booking.status == EXPIRED, and_(Booking.status == HELD, Booking.expires_at <= now)))
        elif status is not None:
            stmt = stmt.where(Booking.status == status.value)
        if offer_id is not None:
            stmt = stmt.where(Booking.offer_id == offer_id)
        if visit_from is not None:
            stmt = stmt.where(Booking.visit_date >= visit_from)
        if visit_to is not None:
            stmt = stmt.where(Booking.visit_date <= visit_to)
        order = [(Booking.created_at, True), (Booking.id, True)]
        if after is not None:
            stmt = stmt.where(keyset_after(order, after))
        stmt = stmt.order_by(Booking.created_at.desc(), Booking.id.desc()).limit(limit)
        return (await self.session.scalars(stmt)).all()
