"""SQL of the offers area: offers, their dated capacity rows and the availability read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.tourism.domain import BookingStatus
from services.tourism.models import Booking, Offer, OfferDate
from shared.constraints import flush_or_raise
from shared.db import insert_ignore
from shared.errors import Conflict
from shared.pagination import keyset_after
from shared.text import LIKE_ESCAPE, contains_pattern


class OfferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, offer_id: str) -> Offer | None:
        return await self.session.get(Offer, offer_id)

    async def add(self, offer: Offer) -> None:
        self.session.add(offer)
        taken = lambda: Conflict(f"An offer with id {offer.id} already exists.")  # noqa: E731
        await flush_or_raise(self.session, {"pk_offers": taken, "uq_offers_id": taken})

    async def search(
        self,
        *,
        limit: int,
        after: str | None = None,
        kind: str | None = None,
        place: str | None = None,
        offer_id: str | None = None,
        active_only: bool = False,
    ) -> list[Offer]:
        stmt = select(Offer)
        if kind:
            stmt = stmt.where(Offer.kind == kind)
        if place:
            stmt = stmt.where(Offer.place.ilike(contains_pattern(place), escape=LIKE_ESCAPE))
        if offer_id:
            stmt = stmt.where(Offer.id == offer_id)
        if active_only:
            stmt = stmt.where(Offer.active.is_(True))
        if after is not None:
            stmt = stmt.where(keyset_after([(Offer.id, False)], [after]))
        return list((await self.session.scalars(stmt.order_by(Offer.id).limit(limit))).all())

    async def follow_default_capacity(self, offer_id: str, capacity: int) -> None:
        """Dates without an override follow a new default capacity."""
        await self.session.execute(
            update(OfferDate)
            .where(OfferDate.offer_id == offer_id, OfferDate.overridden.is_(False))
            .values(capacity=capacity, version=OfferDate.version + 1)
            .execution_options(synchronize_session=False)
        )

    async def ensure_date(self, offer_id: str, day: date, default_capacity: int) -> None:
        await insert_ignore(
            self.session,
            OfferDate.__table__,  # type: ignore[arg-type]
            {
                "offer_id": offer_id,
                "day": day,
                "capacity": default_capacity,
                "overridden": False,
                "closed": False,
                "taken": 0,
                "version": 1,
            },
        )

    async def set_date(self, offer_id: str, day: date, *, capacity: int, overridden: bool, closed: bool) -> None:
        await self.session.execute(
            update(OfferDate)
            .where(OfferDate.offer_id == offer_id, OfferDate.day == day)
            .values(capacity=capacity, overridden=overridden, closed=closed, version=OfferDate.version + 1)
            .execution_options(synchronize_session=False)
        )

    async def dates(self, offer_ids: Sequence[str], first: date, last: date) -> dict[tuple[str, date], OfferDate]:
        stmt = select(OfferDate).where(
            OfferDate.offer_id.in_(list(offer_ids)), OfferDate.day >= first, OfferDate.day <= last
        )
        return {(d.offer_id, d.day): d for d in (await self.session.scalars(stmt)).all()}

    async def expired_held(
        self, offer_ids: Sequence[str], first: date, last: date, now: datetime
    ) -> dict[tuple[str, date], int]:
        """Places still counted in `taken` by holds already past expiry: they are free to book."""
        stmt = (
            select(Booking.offer_id, Booking.visit_date, func.sum(Booking.quantity))
            .where(
                and_(
                    Booking.status == BookingStatus.HELD.value,
                    Booking.expires_at <= now,
                    Booking.offer_id.in_(list(offer_ids)),
                    Booking.visit_date >= first,
                    Booking.visit_date <= last,
                )
            )
            .group_by(Booking.offer_id, Booking.visit_date)
        )
        return {(o, d): int(q or 0) for o, d, q in (await self.session.execute(stmt)).all()}
