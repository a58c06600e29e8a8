"""Stock use cases: adjustments by sellers and ops, and the order saga's reservations and releases."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.context import (
    EVENTS,
    RECENT_ADJUSTMENTS,
)
from services.catalogue.domain import (
    ChangeOp,
    ListingStatus,
    RejectReason,
    ReservationStatus,
)
from services.catalogue.feed.service import change_row
from services.catalogue.listings.service import load_listing, stock_level
from services.catalogue.models import (
    Listing,
    Reservation,
    ReservationLine,
    StockAdjustment,
)
from services.catalogue.repositories import Repositories
from services.catalogue.schemas import (
    StockAdjustmentIn,
    StockAdjustmentOut,
    StockOut,
)
from services.catalogue.stock.repository import MAX_ON_HAND
from shared.auth import Identity
from shared.contracts import catalogue as events
from shared.contracts.orders import OrderPlacedV1
from shared.db import utcnow
from shared.errors import (
    Conflict,
    invalid,
)


def _adjustment_out(a: StockAdjustment) -> StockAdjustmentOut:
    return StockAdjustmentOut(
        id=a.id, delta=a.delta, on_hand_after=a.on_hand_after, reason=a.reason, note=a.note, actor=a.actor, at=a.at
    )


async def _stock_out(repo: Repositories, listing: Listing) -> StockOut:
    recent = await repo.stock.adjustments(listing.id, RECENT_ADJUSTMENTS)
    return StockOut(
        listing_id=listing.id,
        version=listing.version,
        stock=stock_level(listing),
        recent_adjustments=[_adjustment_out(a) for a in recent],
    )


async def get_stock(session: AsyncSession, listing_id: str, identity: Identity) -> StockOut:
    repo = Repositories(session)
    return await _stock_out(repo, await load_listing(repo, listing_id, identity))


async def adjust_stock(session: AsyncSession, listing_id: str, body: StockAdjustmentIn, identity: Identity) -> StockOut:
    if (body.delta is None) == (body.on_hand is None):
        raise invalid([{"field": "delta", "reason": "give exactly one of delta or on_hand"}])
    if body.delta == 0:
        raise invalid([{"field": "delta", "reason": "must not be zero"}])
    repo = Repositories(session)
    await repo.lock_writes()
    listing = await load_listing(repo, listing_id, identity)
    if listing.status == ListingStatus.DELETED:
        raise Conflict("A deleted listing has no stock to adjust.")
    delta = body.delta if body.delta is not None else (body.on_hand or 0) - listing.on_hand
    field_name = "delta" if body.delta is not None else "on_hand"
    now = utcnow()
    if delta != 0:
        row = await repo.stock.adjust_on_hand(listing.id, delta, now)
        if row is None:
            after = listing.on_hand + delta
            reason = (
                f"would bring on hand to {after}, above the most a listing can hold ({MAX_ON_HAND})"
                if after > MAX_ON_HAND
                else f"would leave on hand at {after}, below the {listing.reserved} reserved for orders (or below zero)"
            )
            raise invalid([{"field": field_name, "reason": reason}])
        if row.status == ListingStatus.PUBLISHED:
            await repo.feed.log_changes([change_row(listing.id, ChangeOp.UPSERT, row.version, now)])
    listing = await repo.listings.get_listing(listing_id) or listing
    await repo.stock.add_adjustment(
        StockAdjustment(
            listing_id=listing.id,
            delta=delta,
            on_hand_after=listing.on_hand,
            reason=body.reason.value,
            note=body.note,
            actor=identity.actor,
            at=now,
        )
    )
    return await _stock_out(repo, listing)


class _NotReservable(Exception):
    pass


def _requested(order: OrderPlacedV1) -> dict[str, int]:
    wanted: dict[str, int] = {}
    for line in order.lines:
        wanted[line.listing_id] = wanted.get(line.listing_id, 0) + line.quantity
    return wanted


async def reserve_for_order(session: AsyncSession, order: OrderPlacedV1) -> bool:
    """Reserve every line of the order or none; emit stock.reserved or stock.rejected. True if reserved.

    Each listing's stock moves by one conditional UPDATE (`on_hand - reserved >= :q`), so no
    interleaving can oversell. The attempt runs in a savepoint: if any line cannot be reserved, the
    lines already reserved are rolled back and the rejection (with a reason per failing line) is
    recorded instead, in the same transaction as the consumer's inbox row.
    """
    repo = Repositories(session)
    await repo.lock_writes()
    if await repo.stock.get_reservation(order.order_id) is not None:
        return False  # this order was already decided (a second order.placed for it)
    now = utcnow()
    wanted = _requested(order)
    versions: dict[str, int] = {}
    try:
        async with session.begin_nested():
            for listing_id in sorted(wanted):
                version = await repo.stock.try_reserve(listing_id, wanted[listing_id], now)
                if version is None:
                    raise _NotReservable(listing_id)
                versions[listing_id] = version
    except _NotReservable:
        await _reject(session, repo, order, wanted, now)
        return False
    await repo.feed.log_changes([change_row(lid, ChangeOp.UPSERT, v, now) for lid, v in versions.items()])
    await repo.stock.add_reservation(
        Reservation(
            order_id=order.order_id,
            marketplace_id=order.marketplace_id,
            status=ReservationStatus.RESERVED.value,
            release_reason=None,
            created_at=now,
            updated_at=now,
        ),
        [
            ReservationLine(
                order_id=order.order_id, line_id=line.line_id, listing_id=line.listing_id, quantity=line.quantity
            )
            for line in order.lines
        ],
    )
    reserved = [
        events.ReservedLine(line_id=line.line_id, listing_id=line.listing_id, quantity=line.quantity)
        for line in order.lines
    ]
    await EVENTS.publish(
        session,
        events.StockReservedV1(order_id=order.order_id, occurred_at=now, lines=reserved),
        subject=order.order_id,
    )
    return True


async def _reject(
    session: AsyncSession, repo: Repositories, order: OrderPlacedV1, wanted: Mapping[str, int], now: datetime
) -> None:
    facts = await repo.stock.stock_facts(list(wanted))
    rejected: list[events.RejectedLine] = []
    for line in order.lines:
        found = facts.get(line.listing_id)
        reason: RejectReason | None
        available: int | None = None
        if found is None:
            reason = RejectReason.UNKNOWN_LISTING
        elif found[0] != ListingStatus.PUBLISHED:
            reason = RejectReason.NOT_PUBLISHED
        else:
            available = max(found[1] - found[2], 0)
            reason = RejectReason.INSUFFICIENT_STOCK if available < wanted[line.listing_id] else None
        if reason is not None:
            rejected.append(
                events.RejectedLine(
                    line_id=line.line_id,
                    listing_id=line.listing_id,
                    quantity=line.quantity,
                    reason=reason.value,
                    available=available,
                )
            )
    if not rejected:  # cannot happen while writers are serialised; say so rather than reject silently
        rejected = [
            events.RejectedLine(
                line_id=line.line_id,
                listing_id=line.listing_id,
                quantity=line.quantity,
                reason=RejectReason.INSUFFICIENT_STOCK.value,
            )
            for line in order.lines
        ]
    await repo.stock.add_reservation(
        Reservation(
            order_id=order.order_id,
            marketplace_id=order.marketplace_id,
            status=ReservationStatus.REJECTED.value,
            release_reason=None,
            created_at=now,
            updated_at=now,
        ),
        [],
    )
    await EVENTS.publish(
        session,
        events.StockRejectedV1(order_id=order.order_id, occurred_at=now, lines=rejected),
        subject=order.order_id,
    )


async def release_for_order(session: AsyncSession, order_id: str, reason: str, *, cancelled: bool) -> bool:
    """Give back an order's reserved stock once; emit stock.released. True if something was released.

    Idempotent by reservation state: only a `reserved` reservation is released (compare-and-set), so
    a redelivered or repeated cancel/reject does nothing. A cancel that overtakes its order leaves a
    `released` marker, so a late order.placed reserves nothing.
    """
    if len(order_id) > 64:
        return False  # no order with such an id was ever reserved (see reserve_for_order)
    repo = Repositories(session)
    await repo.lock_writes()
    now = utcnow()
    reservation = await repo.stock.get_reservation(order_id)
    if reservation is None:
        if cancelled:
            await repo.stock.add_reservation(
                Reservation(
                    order_id=order_id,
                    marketplace_id="",
                    status=ReservationStatus.RELEASED.value,
                    release_reason=f"{reason} before any reservation",
                    created_at=now,
                    updated_at=now,
                ),
                [],
            )
        return False
    if reservation.status != ReservationStatus.RESERVED:
        return False
    if not await repo.stock.set_reservation_status(
        order_id, ReservationStatus.RESERVED.value, ReservationStatus.RELEASED.value, reason, now
    ):
        return False
    lines = await repo.stock.reservation_lines(order_id)
    totals: dict[str, int] = {}
    for line in lines:
        totals[line.listing_id] = totals.get(line.listing_id, 0) + line.quantity
    changes = []
    for listing_id in sorted(totals):
        row = await repo.stock.release(listing_id, totals[listing_id], now)
        if row is not None and row.status == ListingStatus.PUBLISHED:
            changes.append(change_row(listing_id, ChangeOp.UPSERT, row.version, now))
    await repo.feed.log_changes(changes)
    await EVENTS.publish(
        session,
        events.StockReleasedV1(
            order_id=order_id,
            occurred_at=now,
            lines=[events.ReservedLine(line_id=x.line_id, listing_id=x.listing_id, quantity=x.quantity) for x in lines],
            reason=reason,
        ),
        subject=order_id,
    )
    return True


async def sell_for_order(session: AsyncSession, order_id: str, at: datetime | None = None) -> bool:
    """The order shipped: its reserved units leave stock (on hand and reserved drop), exactly once.

    Idempotent by reservation state, like a release: only a `reserved` reservation becomes `sold`
    (compare-and-set), so a redelivered or repeated order.shipped changes nothing. A shipment for an
    order whose stock was released or never reserved moves no stock (orders flags that story).
    """
    if len(order_id) > 64:
        return False
    repo = Repositories(session)
    await repo.lock_writes()
    now = at or utcnow()
    if not await repo.stock.set_reservation_status(
        order_id, ReservationStatus.RESERVED.value, ReservationStatus.SOLD.value, "order_shipped", now
    ):
        return False
    totals: dict[str, int] = {}
    for line in await repo.stock.reservation_lines(order_id):
        totals[line.listing_id] = totals.get(line.listing_id, 0) + line.quantity
    changes = []
    for listing_id in sorted(totals):
        row = await repo.stock.sell(listing_id, totals[listing_id], now)
        if row is None:  # the reservation guarantees the units; a CHECK would refuse anything else
            raise Conflict(f"Listing {listing_id} does not hold the units reserved for order {order_id}.")
        if row.status == ListingStatus.PUBLISHED:
            changes.append(change_row(listing_id, ChangeOp.UPSERT, row.version, now))
    await repo.feed.log_changes(changes)
    return True
