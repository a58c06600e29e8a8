"""Holds and bookings: the traveller app's use cases and the sweeper's pass.

Each command runs inside the one transaction its caller owns (the request's CommandRunner, or the
sweeper's pass) and only flushes. "Now" comes from the context's clock, never from the system clock,
so the policy tiers and the expiry can be tested at any instant. Capacity moves only through
`BookingRepository.take` / `give_back` (see the guarantee in bookings/repository.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.tourism.bookings.repository import BookingRepository, Reclaimed
from services.tourism.context import EVENTS, TourismContext
from services.tourism.domain import (
    Action,
    BookingStatus,
    InsufficientCapacity,
    Traveller,
    VisitorCategory,
    check_minimum_age,
    check_name_change,
    check_party,
    check_reschedule,
    check_visit_date,
    check_visitor_category,
    days_before,
    effective_status,
    hold_expires_at,
    new_booking_reference,
    next_status,
    price_party,
    refund,
    reschedule_fee_minor,
)
from services.tourism.models import Booking
from services.tourism.offers.repository import CachedOffer, terms_of
from services.tourism.schemas import (
    BookingOut,
    CancelIn,
    ConfirmIn,
    HoldCreate,
    NameChangeIn,
    RescheduleBookingIn,
    TravellerOut,
)
from shared.auth import Identity, Role
from shared.contracts import tourism as events
from shared.db import Database
from shared.errors import Conflict, Forbidden, NotFound, invalid
from shared.money import Money, format_minor
from shared.pagination import Page, cursor_datetime, cursor_id, decode_cursor, fetch_size, keyset_page

#: A booking's `app_id` travels in its events, whose ids are at most 64 characters.
MAX_APP_ID = 64


def app_of(identity: Identity) -> str:
    """The traveller app a booking is bound to: the key's subject, the app id every key of that app
    carries, so the app's bookings survive a key rotation (issue a new key, revoke the old).

    Never the key id: a traveller_app key issued before the gateway required an app id has none, and
    is refused (403) rather than bound to a key whose bookings would vanish at the next rotation.
    """
    subject = identity.subject
    if subject is None or len(subject) > MAX_APP_ID:
        raise Forbidden(
            "This traveller_app key is not bound to an app id: ask ops for a key issued with the app's subject_id."
        )
    return subject


def _scope(identity: Identity) -> str | None:
    """Ops see every booking; a traveller app only its own (another's reads as absent: 404)."""
    return None if identity.role is Role.OPS else app_of(identity)


def _money(minor: int, currency: str) -> Money:
    return Money.from_minor(minor, currency)


def _amount(minor: int, currency: str) -> events.Amount:
    return events.Amount(amount=format_minor(minor, currency), currency=currency)


def booking_out(b: Booking, now: datetime) -> BookingOut:
    return BookingOut(
        id=b.id,
        app_id=b.app_id,
        offer_id=b.offer_id,
        offer_kind=b.offer_kind,
        visit_date=b.visit_date,
        quantity=b.quantity,
        status=effective_status(BookingStatus(b.status), b.expires_at, now),
        expires_at=b.expires_at,
        travellers=[TravellerOut.model_validate(t) for t in b.travellers],
        total=_money(b.total_minor, b.currency),
        booking_reference=b.booking_reference,
        payment_reference=b.payment_reference,
        name_changes=b.name_changes,
        refund=None if b.refund_minor is None else _money(b.refund_minor, b.currency),
        fees=_money(b.fees_minor, b.currency),
        confirmed_at=b.confirmed_at,
        cancelled_at=b.cancelled_at,
        version=b.version,
        created_at=b.created_at,
        updated_at=b.updated_at,
    )


def _base(b: Booking, now: datetime) -> dict[str, object]:
    """The fields every booking event carries."""
    return {
        "booking_id": b.id,
        "app_id": b.app_id,
        "offer_id": b.offer_id,
        "offer_kind": b.offer_kind,
        "visit_date": b.visit_date,
        "quantity": b.quantity,
        "total": _amount(b.total_minor, b.currency),
        "occurred_at": now,
    }


async def publish_expired(session: AsyncSession, reclaimed: Sequence[Reclaimed], now: datetime) -> None:
    for r in reclaimed:  # sorted by id (see BookingRepository.reclaim_expired)
        await EVENTS.publish(
            session,
            events.BookingExpiredV1(
                booking_id=r.id,
                app_id=r.app_id,
                offer_id=r.offer_id,
                offer_kind=r.offer_kind,
                visit_date=r.visit_date,
                quantity=r.quantity,
                total=_amount(r.total_minor, r.currency),
                occurred_at=now,
                expired_at=r.expires_at,
            ),
            subject=r.id,
        )


def _on_sale(offers: Mapping[str, CachedOffer], offer_id: str) -> CachedOffer:
    cached = offers.get(offer_id)
    if cached is None or not cached.offer.active:
        raise invalid([{"field": "offer_id", "reason": f"no offer {offer_id} is on sale"}])
    return cached


def _travellers(body: HoldCreate, ctx: TourismContext) -> list[Traveller]:
    travellers = [
        Traveller(name=t.name, nationality=t.nationality, category=t.visitor_category, date_of_birth=t.date_of_birth)
        for t in body.travellers
    ]
    for index, traveller in enumerate(travellers):
        check_visitor_category(traveller, ctx.figures, index=index)
    return travellers


def prepare_hold(
    body: HoldCreate, identity: Identity, ctx: TourismContext, offers: Mapping[str, CachedOffer], now: datetime
) -> Booking:
    """Every rule a hold must pass before it may take places (no database): the booking to insert."""
    app_id = app_of(identity)
    check_visit_date(body.visit_date, now, ctx.figures, name="visit_date")
    cached = _on_sale(offers, body.offer_id)
    offer, terms = cached.offer, cached.terms
    travellers = _travellers(body, ctx)
    check_party(terms, body.quantity, travellers)
    check_minimum_age(travellers, terms.minimum_age, body.visit_date)
    price = price_party(terms, body.quantity, [t.category for t in travellers])
    return Booking(
        id=str(uuid.uuid4()),
        app_id=app_id,
        offer_id=offer.id,
        offer_kind=offer.kind,
        visit_date=body.visit_date,
        quantity=body.quantity,
        status=BookingStatus.HELD.value,
        travellers=[t.model_dump(mode="json") for t in body.travellers],
        currency=terms.currency,
        total_minor=price.total_minor,
        expires_at=hold_expires_at(now, terms.hold_ttl),
        booking_reference=None,
        payment_reference=None,
        name_changes=0,
        refund_minor=None,
        fees_minor=0,
        confirmed_at=None,
        cancelled_at=None,
        version=1,
        created_at=now,
        updated_at=now,
    )


def booking_row(booking: Booking) -> dict[str, Any]:
    return {c.name: getattr(booking, c.key) for c in Booking.__table__.columns}


def held_event(booking: Booking, now: datetime) -> events.BookingHeldV1:
    return events.BookingHeldV1(**_base(booking, now), expires_at=booking.expires_at)


def no_room(booking: Booking) -> InsufficientCapacity:
    return InsufficientCapacity(
        f"Not enough places left on {booking.visit_date.isoformat()} for {booking.quantity}.",
        offer_id=booking.offer_id,
        visit_date=booking.visit_date.isoformat(),
    )


async def hold(
    session: AsyncSession,
    body: HoldCreate,
    identity: Identity,
    ctx: TourismContext,
    offers: Mapping[str, CachedOffer],
) -> BookingOut:
    """Hold places for the party until `expires_at`; 409 if the date has too few left.

    `offers` is the cached offers table (`OFFERS`): the terms are read without a query. Holds sent
    without an Idempotency-Key take the batched path instead (bookings/batcher.py), with the same rules.
    """
    now = ctx.now()
    booking = prepare_hold(body, identity, ctx, offers, now)
    repo = BookingRepository(session)
    await repo.add(booking_row(booking))
    await EVENTS.publish(session, held_event(booking, now), subject=booking.id)
    # The places are taken last: on PostgreSQL the date's counter row stays locked from this UPDATE
    # to the commit, so every other statement runs before it, and a hot date's holds queue on one
    # round trip each rather than on the whole request. A refusal rolls the booking back.
    taken, reclaimed = await repo.take(booking.offer_id, booking.visit_date, booking.quantity, now)
    if not taken:
        raise no_room(booking)
    await publish_expired(session, reclaimed, now)
    return booking_out(booking, now)


async def _load(repo: BookingRepository, booking_id: str, identity: Identity) -> Booking:
    booking = await repo.get(booking_id, _scope(identity))
    if booking is None:
        raise NotFound(f"Booking {booking_id} does not exist.")
    return booking


async def confirm(
    session: AsyncSession, booking_id: str, body: ConfirmIn, identity: Identity, ctx: TourismContext
) -> BookingOut:
    """held -> confirmed with a booking reference, before expiry only (409 after, nothing confirmed)."""
    now = ctx.now()
    repo = BookingRepository(session)
    booking = await _load(repo, booking_id, identity)
    if booking.status == BookingStatus.CONFIRMED and booking.payment_reference == body.payment_reference:
        return booking_out(booking, now)  # the same payment confirmed twice: nothing more to do
    next_status(effective_status(BookingStatus(booking.status), booking.expires_at, now), Action.CONFIRM)
    reference = new_booking_reference()
    if not await repo.confirm(booking.id, booking.app_id, reference, body.payment_reference, now):
        raise Conflict("The hold expired or changed meanwhile; nothing was confirmed.")
    booking = await _load(repo, booking_id, identity)
    await EVENTS.publish(
        session,
        events.BookingConfirmedV1(
            **_base(booking, now), booking_reference=reference, payment_reference=body.payment_reference
        ),
        subject=booking.id,
    )
    return booking_out(booking, now)


async def cancel(
    session: AsyncSession, booking_id: str, body: CancelIn, identity: Identity, ctx: TourismContext
) -> BookingOut:
    """Release a hold (no refund) or cancel a confirmed booking (refund per the tier at `now`)."""
    now = ctx.now()
    repo = BookingRepository(session)
    booking = await _load(repo, booking_id, identity)
    current = effective_status(BookingStatus(booking.status), booking.expires_at, now)
    action = Action.RELEASE if current is BookingStatus.HELD else Action.CANCEL
    target = next_status(current, action)
    ahead = days_before(booking.visit_date, now)
    if current is BookingStatus.CONFIRMED:
        offer = await repo.offer(booking.offer_id)
        assert offer is not None  # bookings reference their offer
        policy = terms_of(offer).cancellation
        percent = policy.refund_percent(ahead)
        refund_minor = refund(policy, booking.total_minor, booking.currency, booking.visit_date, now)
    else:
        percent, refund_minor = Decimal(0), 0
    await repo.give_back(booking.offer_id, booking.visit_date, booking.quantity)  # the date's lock first
    guard = [Booking.status == booking.status]
    if current is BookingStatus.HELD:
        guard.append(Booking.expires_at > now)
    values = {"status": target.value, "refund_minor": refund_minor, "cancelled_at": now, "updated_at": now}
    if not await repo.compare_and_set(booking, values, *guard):
        raise Conflict("The booking changed meanwhile; reload it and try again.")
    booking = await _load(repo, booking_id, identity)
    await EVENTS.publish(
        session,
        events.BookingCancelledV1(
            **_base(booking, now),
            previous_status=current.value,
            days_before=max(min(ahead, 100_000), -100_000),
            refund_percent=format(percent.normalize(), "f"),
            refund=_amount(refund_minor, booking.currency),
            reason=body.reason,
        ),
        subject=booking.id,
    )
    return booking_out(booking, now)


async def reschedule(
    session: AsyncSession, booking_id: str, body: RescheduleBookingIn, identity: Identity, ctx: TourismContext
) -> BookingOut:
    """Move a confirmed booking to another date: within the offer's rule, subject to capacity, for its fee."""
    now = ctx.now()
    repo = BookingRepository(session)
    booking = await _load(repo, booking_id, identity)
    current = effective_status(BookingStatus(booking.status), booking.expires_at, now)
    next_status(current, Action.RESCHEDULE)
    offer = await repo.offer(booking.offer_id)
    assert offer is not None
    terms = terms_of(offer)
    check_reschedule(terms.reschedule, booking.visit_date, now)
    assert terms.reschedule is not None
    old, new = booking.visit_date, body.visit_date
    if new == old:
        raise invalid([{"field": "visit_date", "reason": "is the booking's date already"}])
    check_visit_date(new, now, ctx.figures, name="visit_date")
    travellers = [
        Traveller(
            t["name"], t["nationality"], VisitorCategory(t["visitor_category"]), date.fromisoformat(t["date_of_birth"])
        )
        for t in booking.travellers
    ]
    check_minimum_age(travellers, terms.minimum_age, new)
    reclaimed: list[Reclaimed] = []
    for day in sorted((old, new)):  # dates' locks in ascending order (see the repository)
        if day == old:
            await repo.give_back(booking.offer_id, old, booking.quantity)
            continue
        taken, reclaimed = await repo.take(booking.offer_id, new, booking.quantity, now)
        if not taken:
            raise InsufficientCapacity(
                f"Not enough places left on {new.isoformat()} for {booking.quantity}.", visit_date=new.isoformat()
            )
    fee_minor = reschedule_fee_minor(terms.reschedule, booking.total_minor)
    values = {"visit_date": new, "fees_minor": booking.fees_minor + fee_minor, "updated_at": now}
    if not await repo.compare_and_set(booking, values, Booking.status == BookingStatus.CONFIRMED.value):
        raise Conflict("The booking changed meanwhile; reload it and try again.")
    await publish_expired(session, reclaimed, now)
    booking = await _load(repo, booking_id, identity)
    await EVENTS.publish(
        session,
        events.BookingRescheduledV1(
            **_base(booking, now), previous_visit_date=old, fee=_amount(fee_minor, booking.currency)
        ),
        subject=booking.id,
    )
    return booking_out(booking, now)


async def change_names(
    session: AsyncSession, booking_id: str, body: NameChangeIn, identity: Identity, ctx: TourismContext
) -> BookingOut:
    """Replace the travellers' names: at most twice, up to a day before the visit (RDB)."""
    now = ctx.now()
    repo = BookingRepository(session)
    booking = await _load(repo, booking_id, identity)
    current = effective_status(BookingStatus(booking.status), booking.expires_at, now)
    if current not in (BookingStatus.HELD, BookingStatus.CONFIRMED):
        raise Conflict(f"The names of a {current.value} booking cannot change.", current_status=current.value)
    if len(body.names) != len(booking.travellers):
        reason = f"must list {len(booking.travellers)} name(s), one per traveller in order"
        raise invalid([{"field": "names", "reason": reason}])
    check_name_change(booking.name_changes, booking.visit_date, now, ctx.figures)
    travellers = [{**t, "name": name} for t, name in zip(booking.travellers, body.names, strict=True)]
    if travellers == booking.travellers:
        raise invalid([{"field": "names", "reason": "are the names already booked"}])
    values = {"travellers": travellers, "name_changes": booking.name_changes + 1, "updated_at": now}
    if not await repo.compare_and_set(booking, values):
        raise Conflict("The booking changed meanwhile; reload it and try again.")
    return booking_out(await _load(repo, booking_id, identity), now)


async def get(session: AsyncSession, booking_id: str, identity: Identity, ctx: TourismContext) -> BookingOut:
    return booking_out(await _load(BookingRepository(session), booking_id, identity), ctx.now())


async def search(
    session: AsyncSession,
    identity: Identity,
    ctx: TourismContext,
    *,
    limit: int,
    cursor: str | None,
    status: BookingStatus | None,
    offer_id: str | None,
    app_id: str | None,
    visit_from: date | None,
    visit_to: date | None,
) -> Page[BookingOut]:
    """Newest first. A traveller app lists its own bookings; ops list everyone's (or one app's)."""
    now = ctx.now()
    after = None
    if cursor:
        position = decode_cursor(cursor, ("t", "id"))
        after = (cursor_datetime(position["t"]), cursor_id(position["id"]))
    scope = _scope(identity)
    rows = await BookingRepository(session).search(
        limit=fetch_size(limit),
        after=after,
        now=now,
        app_id=scope if scope is not None else app_id,
        status=status,
        offer_id=offer_id,
        visit_from=visit_from,
        visit_to=visit_to,
    )
    page, next_cursor = keyset_page(rows, limit, lambda b: {"t": b.created_at.isoformat(), "id": b.id})
    return Page[BookingOut](items=[booking_out(b, now) for b in page], next_cursor=next_cursor)


async def sweep(db: Database, ctx: TourismContext) -> int:
    """One sweeper pass: release every hold past expiry, one date per transaction; how many released."""
    now = ctx.now()
    async with db.read() as session:
        dates = await BookingRepository(session).expired_dates(now, ctx.sweep_batch)
    released = 0
    for offer_id, day in dates:
        async with db.transaction() as session:
            reclaimed = await BookingRepository(session).reclaim_expired(offer_id, day, now)
            await publish_expired(session, reclaimed, now)
            released += len(reclaimed)
    return released
