"""Offers use cases: ops create and change offers and their dates; anyone with a key searches availability.

An offer row stores its terms as data (prices per visitor category, refund tiers, reschedule rule);
`terms_of` turns a row back into the domain's `OfferTerms`, which every rule reads.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.tourism.config import TourismFigures
from services.tourism.context import TourismContext
from services.tourism.domain import (
    CancellationPolicy,
    OfferKind,
    PricingUnit,
    VisitorCategory,
    check_visit_date,
    price_party,
)
from services.tourism.models import Offer, OfferDate
from services.tourism.offers.repository import CachedOffer, OfferRepository, terms_of
from services.tourism.schemas import (
    AvailabilityOut,
    AvailabilityPage,
    DateOut,
    DateSettingIn,
    OfferCreate,
    OfferOut,
    OfferUpdate,
    RefundTierIn,
    RefundTierOut,
    RescheduleIn,
    RescheduleOut,
)
from services.tourism.seed import seed_offers
from shared.errors import NotFound, UnprocessableContent, invalid
from shared.money import Money, quantize
from shared.pagination import Page, cursor_id, decode_cursor, fetch_size, keyset_page

#: The longest date range one availability search covers.
MAX_SEARCH_DAYS = 62


def offer_out(offer: Offer) -> OfferOut:
    return OfferOut(
        id=offer.id,
        kind=OfferKind(offer.kind),
        name=offer.name,
        place=offer.place,
        currency=offer.currency,
        unit=PricingUnit(offer.unit),
        prices={VisitorCategory(c): p for c, p in offer.prices.items()},
        minimum_age=offer.minimum_age,
        cancellation=[RefundTierOut(min_days_before=int(d), refund_percent=str(p)) for d, p in offer.refund_tiers],
        reschedule=None
        if offer.reschedule_min_days is None
        else RescheduleOut(min_days_before=offer.reschedule_min_days, fee_percent=offer.reschedule_fee_percent),
        default_capacity=offer.default_capacity,
        max_quantity=offer.max_quantity,
        room_occupancy=offer.room_occupancy,
        hold_ttl_s=offer.hold_ttl_s,
        active=offer.active,
        version=offer.version,
        created_at=offer.created_at,
        updated_at=offer.updated_at,
    )


def _prices(prices: dict[VisitorCategory, Decimal], currency: str) -> dict[str, str]:
    """Prices as decimal strings in the currency's places; more places than it has is a 422."""
    errors = [
        {"field": f"prices.{c.value}", "reason": f"{currency} allows no more places than {quantize(p, currency)}"}
        for c, p in prices.items()
        if quantize(p, currency) != p
    ]
    if errors:
        raise invalid(errors)
    return {c.value: str(quantize(p, currency)) for c, p in sorted(prices.items())}


def _tiers(tiers: list[RefundTierIn]) -> list[list[Any]]:
    try:
        policy = CancellationPolicy.of((t.min_days_before, t.refund_percent) for t in tiers)
    except ValueError as exc:
        raise invalid([{"field": "cancellation", "reason": str(exc)}]) from None
    return [[t.min_days_before, str(t.refund_percent)] for t in policy.tiers]


def _reschedule(rule: RescheduleIn | None) -> tuple[int | None, str]:
    if rule is None:
        return None, "0"
    if rule.fee_percent > 100:
        raise invalid([{"field": "reschedule.fee_percent", "reason": "must not exceed 100"}])
    return rule.min_days_before, str(rule.fee_percent)


def _ttl(ttl_s: int | None, figures: TourismFigures) -> int:
    most = int(figures.hold_ttl_max.total_seconds())
    if ttl_s is None:
        return min(int(figures.hold_ttl.total_seconds()), most)
    if ttl_s > most:
        raise invalid([{"field": "hold_ttl_s", "reason": f"must not exceed {most} seconds"}])
    return ttl_s


def _check_terms(offer: Offer) -> None:
    """The domain's own checks on the assembled terms (a room offer's occupancy, the currency)."""
    try:
        terms_of(offer)
    except ValueError as exc:
        raise UnprocessableContent(str(exc)) from None


async def create(session: AsyncSession, body: OfferCreate, ctx: TourismContext) -> OfferOut:
    now = ctx.now()
    minimum, fee = _reschedule(body.reschedule)
    offer = Offer(
        id=body.id,
        kind=body.kind.value,
        name=body.name,
        place=body.place,
        currency=body.currency,
        unit=body.unit.value,
        prices=_prices(body.prices, body.currency),
        minimum_age=body.minimum_age,
        refund_tiers=_tiers(body.cancellation),
        reschedule_min_days=minimum,
        reschedule_fee_percent=fee,
        default_capacity=body.default_capacity,
        max_quantity=body.max_quantity,
        room_occupancy=body.room_occupancy if body.unit is PricingUnit.PER_ROOM else 1,
        hold_ttl_s=_ttl(body.hold_ttl_s, ctx.figures),
        active=True,
        version=1,
        created_at=now,
        updated_at=now,
    )
    _check_terms(offer)
    await OfferRepository(session).add(offer)
    return offer_out(offer)


async def _load(repo: OfferRepository, offer_id: str) -> Offer:
    offer = await repo.get(offer_id)
    if offer is None:
        raise NotFound(f"Offer {offer_id} does not exist.")
    return offer


async def update(session: AsyncSession, offer_id: str, body: OfferUpdate, ctx: TourismContext) -> OfferOut:
    repo = OfferRepository(session)
    offer = await _load(repo, offer_id)
    changes = body.changes()
    if "name" in changes:
        offer.name = body.name or offer.name
    if "place" in changes:
        offer.place = body.place or offer.place
    if body.prices is not None:
        offer.prices = _prices(body.prices, offer.currency)
    if "minimum_age" in changes:
        offer.minimum_age = body.minimum_age
    if body.cancellation is not None:
        offer.refund_tiers = _tiers(body.cancellation)
    if "reschedule" in changes:
        offer.reschedule_min_days, offer.reschedule_fee_percent = _reschedule(body.reschedule)
    if body.max_quantity is not None:
        offer.max_quantity = body.max_quantity
    if body.hold_ttl_s is not None:
        offer.hold_ttl_s = _ttl(body.hold_ttl_s, ctx.figures)
    if body.active is not None:
        offer.active = body.active
    if body.default_capacity is not None and body.default_capacity != offer.default_capacity:
        offer.default_capacity = body.default_capacity
        await repo.follow_default_capacity(offer.id, body.default_capacity)
    _check_terms(offer)
    offer.version += 1
    offer.updated_at = ctx.now()
    await repo.changed()
    return offer_out(offer)


async def get(session: AsyncSession, offer_id: str) -> OfferOut:
    return offer_out(await _load(OfferRepository(session), offer_id))


async def search(
    session: AsyncSession,
    *,
    limit: int,
    cursor: str | None,
    kind: OfferKind | None,
    place: str | None,
    active_only: bool,
) -> Page[OfferOut]:
    after = cursor_id(decode_cursor(cursor, ("id",))["id"]) if cursor else None
    offers = await OfferRepository(session).search(
        limit=fetch_size(limit), after=after, kind=kind.value if kind else None, place=place, active_only=active_only
    )
    page, next_cursor = keyset_page(offers, limit, lambda o: {"id": o.id})
    return Page[OfferOut](items=[offer_out(o) for o in page], next_cursor=next_cursor)


async def set_date(
    session: AsyncSession, offer_id: str, day: date, body: DateSettingIn, ctx: TourismContext
) -> DateOut:
    """Override a date's capacity (or return it to the default) and open or close it."""
    check_visit_date(day, ctx.now(), ctx.figures)
    repo = OfferRepository(session)
    offer = await _load(repo, offer_id)
    await repo.ensure_date(offer.id, day, offer.default_capacity)
    capacity = offer.default_capacity if body.capacity is None else body.capacity
    await repo.set_date(offer.id, day, capacity=capacity, overridden=body.capacity is not None, closed=body.closed)
    return (await _dates(repo, offer, day, day, ctx.now()))[0]


async def dates(session: AsyncSession, offer_id: str, first: date, last: date, ctx: TourismContext) -> list[DateOut]:
    _check_range(first, last)
    repo = OfferRepository(session)
    return await _dates(repo, await _load(repo, offer_id), first, last, ctx.now())


def _check_range(first: date, last: date) -> None:
    if last < first:
        raise invalid([{"field": "to", "reason": "must not be before from"}])
    if (last - first).days >= MAX_SEARCH_DAYS:
        raise invalid([{"field": "to", "reason": f"a search covers at most {MAX_SEARCH_DAYS} days"}])


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


async def _dates(repo: OfferRepository, offer: Offer, first: date, last: date, now: datetime) -> list[DateOut]:
    rows = await repo.dates([offer.id], first, last)
    expired = await repo.expired_held([offer.id], first, last, now)
    out = []
    for day in _days(first, last):
        capacity, closed, taken, overridden = _level(offer, rows.get((offer.id, day)), expired.get((offer.id, day), 0))
        remaining = 0 if closed else max(capacity - taken, 0)
        out.append(
            DateOut(
                offer_id=offer.id,
                date=day,
                capacity=capacity,
                overridden=overridden,
                closed=closed,
                taken=taken,
                remaining=remaining,
            )
        )
    return out


def _level(offer: Offer, row: OfferDate | None, expired: int) -> tuple[int, bool, int, bool]:
    """(capacity, closed, places taken by confirmed bookings and unexpired holds, overridden)."""
    if row is None:
        return offer.default_capacity, False, 0, False
    return row.capacity, row.closed, max(row.taken - expired, 0), row.overridden


async def availability(
    session: AsyncSession,
    ctx: TourismContext,
    offers: Mapping[str, CachedOffer],
    *,
    first: date,
    last: date,
    party: int,
    category: VisitorCategory,
    kind: OfferKind | None,
    place: str | None,
    offer_id: str | None,
) -> AvailabilityPage:
    """Every matching active offer on every date of the range: places left and the party's price.

    `offers` is the cached offers table (`OFFERS`); only the dates' counters are read here.
    """
    _check_range(first, last)
    now = ctx.now()
    wanted = place.casefold() if place else None
    matching = [
        c
        for _, c in sorted(offers.items())
        if c.offer.active
        and (kind is None or c.terms.kind is kind)
        and (wanted is None or wanted in c.offer.place.casefold())
        and (offer_id is None or c.offer.id == offer_id)
    ]
    repo = OfferRepository(session)
    ids = [c.offer.id for c in matching]
    rows = await repo.dates(ids, first, last) if ids else {}
    expired = await repo.expired_held(ids, first, last, now) if ids else {}
    items: list[AvailabilityOut] = []
    for cached in matching:
        offer, terms = cached.offer, cached.terms
        units = party if terms.unit is PricingUnit.PER_PERSON else math.ceil(party / terms.room_occupancy)
        price = None
        if category in terms.prices:
            party_price = price_party(terms, units, [category] * party)
            price = Money.from_minor(party_price.total_minor, terms.currency)
        for day in _days(first, last):
            capacity, closed, taken, _ = _level(offer, rows.get((offer.id, day)), expired.get((offer.id, day), 0))
            remaining = 0 if closed else max(capacity - taken, 0)
            bookable = _bookable(day, now, ctx.figures)
            items.append(
                AvailabilityOut(
                    offer_id=offer.id,
                    offer_name=offer.name,
                    kind=terms.kind,
                    place=offer.place,
                    date=day,
                    capacity=capacity,
                    closed=closed,
                    remaining=remaining,
                    quantity=units,
                    available=bookable and price is not None and units <= min(remaining, terms.max_quantity),
                    price=price,
                )
            )
    return AvailabilityPage(items=items)


def _bookable(day: date, now: datetime, figures: TourismFigures) -> bool:
    try:
        check_visit_date(day, now, figures)
    except UnprocessableContent:
        return False
    return True


async def seed(session: AsyncSession, ctx: TourismContext) -> int:
    """Insert the starting offers that do not exist yet; an existing offer (maybe changed by ops) stays."""
    repo = OfferRepository(session)
    now = ctx.now()
    added = 0
    for item in seed_offers(ctx.figures):
        if await repo.get(item.offer_id) is not None:
            continue
        t = item.terms
        offer = Offer(
            id=item.offer_id,
            kind=t.kind.value,
            name=item.name,
            place=item.place,
            currency=t.currency,
            unit=t.unit.value,
            prices={c.value: str(quantize(p, t.currency)) for c, p in sorted(t.prices.items())},
            minimum_age=t.minimum_age,
            refund_tiers=[[tier.min_days_before, str(tier.refund_percent)] for tier in t.cancellation.tiers],
            reschedule_min_days=None if t.reschedule is None else t.reschedule.min_days_before,
            reschedule_fee_percent="0" if t.reschedule is None else str(t.reschedule.fee_percent),
            default_capacity=t.capacity.default,
            max_quantity=t.max_quantity,
            room_occupancy=t.room_occupancy,
            hold_ttl_s=int(t.hold_ttl.total_seconds()),
            active=True,
            version=1,
            created_at=now,
            updated_at=now,
        )
        await repo.add(offer)
        added += 1
    return added
