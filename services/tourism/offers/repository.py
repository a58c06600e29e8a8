"""SQL of the offers area: offers, their dated capacity rows and the availability read.

`OFFERS` caches the offers table per database (shared/cache.py): every hold and every availability
search needs an offer's terms, and the table is small and changes only when ops change an offer.
Each writer of `offers` calls `OFFERS.changed(session)`, which drops the cache everywhere at commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from services.tourism.domain import (
    BookingStatus,
    CancellationPolicy,
    CapacityRules,
    OfferKind,
    OfferTerms,
    PricingUnit,
    RescheduleRule,
    VisitorCategory,
)
from services.tourism.models import Booking, Offer, OfferDate
from shared.cache import HotTableCache
from shared.constraints import flush_or_raise
from shared.db import Database, insert_ignore
from shared.errors import Conflict
from shared.fastread import Query, rows_as_dicts
from shared.pagination import keyset_after
from shared.text import LIKE_ESCAPE, contains_pattern

_ALL_OFFERS = Query(select(*Offer.__table__.columns).order_by(Offer.id))


def terms_of(offer: Offer) -> OfferTerms:
    """The domain's view of an offer row: what every rule reads."""
    reschedule = (
        None
        if offer.reschedule_min_days is None
        else RescheduleRule(offer.reschedule_min_days, Decimal(offer.reschedule_fee_percent))
    )
    return OfferTerms(
        kind=OfferKind(offer.kind),
        currency=offer.currency,
        unit=PricingUnit(offer.unit),
        prices={VisitorCategory(c): Decimal(p) for c, p in offer.prices.items()},
        minimum_age=offer.minimum_age,
        cancellation=CancellationPolicy.of((int(d), Decimal(p)) for d, p in offer.refund_tiers),
        reschedule=reschedule,
        capacity=CapacityRules(default=offer.default_capacity),
        max_quantity=offer.max_quantity,
        room_occupancy=offer.room_occupancy,
        hold_ttl=timedelta(seconds=offer.hold_ttl_s),
    )


@dataclass(frozen=True)
class CachedOffer:
    """An offer as the cache holds it: a detached row (never added to a session) and its terms."""

    offer: Offer
    terms: OfferTerms


async def load_offers(db: Database) -> dict[str, CachedOffer]:
    """Every offer by id, with its terms worked out once per load, for `OFFERS`."""
    rows = rows_as_dicts(_ALL_OFFERS, await db.fetch(_ALL_OFFERS))
    offers = [Offer(**row) for row in rows]
    return {o.id: CachedOffer(o, terms_of(o)) for o in offers}


#: The offers by id, cached in process until a write to the offers table commits.
OFFERS: HotTableCache[dict[str, CachedOffer]] = HotTableCache("tourism_offers", load_offers)


class OfferRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, offer_id: str) -> Offer | None:
        return await self.session.get(Offer, offer_id)

    async def add(self, offer: Offer) -> None:
        self.session.add(offer)
        taken = lambda: Conflict(f"An offer with id {offer.id} already exists.")  # noqa: E731
        await flush_or_raise(self.session, {"pk_offers": taken, "uq_offers_id": taken})
        await OFFERS.changed(self.session)

    async def changed(self) -> None:
        """An offer was changed in this transaction: drop the cached offers when it commits."""
        await self.session.flush()
        await OFFERS.changed(self.session)

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
