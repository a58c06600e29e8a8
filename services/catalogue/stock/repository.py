"""SQL of the stock area: stock on hand, adjustments and the order saga's reservations.

Stock moves only through conditional UPDATEs (`on_hand - reserved >= :q`), which alone keep
available stock from going negative, whatever the interleaving; a CHECK constraint backs them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    cast,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import ListingStatus
from services.catalogue.models import (
    Listing,
    Reservation,
    ReservationLine,
    StockAdjustment,
)

__all__ = ["MAX_ON_HAND", "StockRepository", "StockRow"]

#: Stock on hand is an INTEGER column: no running total may pass it.
MAX_ON_HAND = 2**31 - 1


@dataclass(frozen=True)
class StockRow:
    version: int
    status: str
    on_hand: int
    reserved: int


def _available() -> ColumnElement[int]:
    return Listing.on_hand - Listing.reserved


class StockRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def try_reserve(self, listing_id: str, quantity: int, at: datetime) -> int | None:
        """Reserve `quantity` if that much is available on a published listing; the new version or None."""
        if quantity > MAX_ON_HAND:  # the sum of an order's lines for one listing: no listing holds that much,
            return None  # and as a parameter it would overflow PostgreSQL's INTEGER (a 500, then the DLQ)
        stmt = (
            update(Listing)
            .where(
                Listing.id == listing_id,
                Listing.status == ListingStatus.PUBLISHED.value,
                Listing.on_hand - Listing.reserved >= quantity,
            )
            .values(reserved=Listing.reserved + quantity, version=Listing.version + 1, updated_at=at)
            .returning(Listing.version)
            .execution_options(synchronize_session=False)
        )
        return (await self.session.execute(stmt)).scalar_one_or_none()

    async def release(self, listing_id: str, quantity: int, at: datetime) -> StockRow | None:
        stmt = (
            update(Listing)
            .where(Listing.id == listing_id, Listing.reserved >= quantity)
            .values(reserved=Listing.reserved - quantity, version=Listing.version + 1, updated_at=at)
            .returning(Listing.version, Listing.status, Listing.on_hand, Listing.reserved)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else StockRow(*row)

    async def sell(self, listing_id: str, quantity: int, at: datetime) -> StockRow | None:
        """Turn `quantity` reserved units into a sale: on hand and reserved both drop by it."""
        stmt = (
            update(Listing)
            .where(Listing.id == listing_id, Listing.reserved >= quantity, Listing.on_hand >= quantity)
            .values(
                on_hand=Listing.on_hand - quantity,
                reserved=Listing.reserved - quantity,
                version=Listing.version + 1,
                updated_at=at,
            )
            .returning(Listing.version, Listing.status, Listing.on_hand, Listing.reserved)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else StockRow(*row)

    async def adjust_on_hand(self, listing_id: str, delta: int, at: datetime) -> StockRow | None:
        """Move stock on hand by `delta` unless it would fall below what is reserved (or zero) or rise
        past the INTEGER column (the running total is compared in BIGINT: in INTEGER arithmetic
        PostgreSQL would raise "integer out of range", a 500, where SQLite silently stored it)."""
        after = cast(Listing.on_hand, BigInteger) + delta
        stmt = (
            update(Listing)
            .where(
                Listing.id == listing_id,
                after >= Listing.reserved,
                after >= 0,
                after <= MAX_ON_HAND,
            )
            .values(on_hand=Listing.on_hand + delta, version=Listing.version + 1, updated_at=at)
            .returning(Listing.version, Listing.status, Listing.on_hand, Listing.reserved)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(stmt)).one_or_none()
        return None if row is None else StockRow(*row)

    async def add_adjustment(self, adjustment: StockAdjustment) -> None:
        self.session.add(adjustment)
        await self.session.flush()

    async def adjustments(self, listing_id: str, limit: int) -> list[StockAdjustment]:
        stmt = (
            select(StockAdjustment)
            .where(StockAdjustment.listing_id == listing_id)
            .order_by(StockAdjustment.id.desc())
            .limit(limit)
        )
        return list((await self.session.scalars(stmt)).all())

    async def stock_facts(self, listing_ids: Sequence[str]) -> dict[str, tuple[str, int, int]]:
        """listing id → (status, on_hand, reserved), for explaining a rejected reservation."""
        stmt = select(Listing.id, Listing.status, Listing.on_hand, Listing.reserved).where(
            Listing.id.in_(list(listing_ids))
        )
        return {r.id: (r.status, r.on_hand, r.reserved) for r in (await self.session.execute(stmt)).all()}

    async def get_reservation(self, order_id: str) -> Reservation | None:
        return await self.session.get(Reservation, order_id, populate_existing=True)

    async def add_reservation(self, reservation: Reservation, lines: Sequence[ReservationLine]) -> None:
        self.session.add(reservation)
        self.session.add_all(lines)
        await self.session.flush()

    async def set_reservation_status(
        self, order_id: str, expected: str, new: str, reason: str | None, at: datetime
    ) -> bool:
        """Compare-and-set, so an order's stock is released at most once."""
        result = await self.session.execute(
            update(Reservation)
            .where(Reservation.order_id == order_id, Reservation.status == expected)
            .values(status=new, release_reason=reason, updated_at=at)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def reservation_lines(self, order_id: str) -> list[ReservationLine]:
        stmt = select(ReservationLine).where(ReservationLine.order_id == order_id).order_by(ReservationLine.line_id)
        return list((await self.session.scalars(stmt)).all())
