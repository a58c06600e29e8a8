"""All SQL of the catalogue service. Repositories flush; they never commit.

Concurrency rules kept here:
- every transaction that writes listings or the feed's change log first calls `lock_writes()`. On
  PostgreSQL it takes a transaction-level advisory lock, so change-log seqs are handed out in commit
  order (a reader can never see seq n+1 while n is still in flight, which would make a delta cursor
  skip n forever) and, with the lock always taken first, writers cannot deadlock on listing rows.
  SQLite already serialises writers (`BEGIN IMMEDIATE`).
- stock moves only through conditional UPDATEs (`on_hand - reserved >= :q`), which alone keep
  available stock from going negative, whatever the interleaving; a CHECK constraint backs them.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import ListingStatus
from services.catalogue.models import (
    FeedState,
    FxRate,
    FxRateHistory,
    Listing,
    ListingChange,
    Reservation,
    ReservationLine,
    SellerProjection,
    StockAdjustment,
)
from shared.db import insert_ignore
from shared.errors import Conflict

WRITE_LOCK_KEY = zlib.crc32(b"catalogue.listing_changes") & 0x7FFFFFFF

_c = Listing.__table__.c

#: The columns a feed item is made of, in the order `feed.FeedRenderer` unpacks them: plain Core
#: columns (no ORM objects on the hot path), the JSON ones as their raw text, which the JSON-lines
#: feed embeds as it is.
FEED_COLUMNS = (
    _c.id,
    _c.seller_id,
    _c.sku,
    _c.title,
    _c.description,
    _c.category,
    _c.hs_code,
    _c.national_tariff_code,
    _c.price_minor,
    _c.currency,
    _c.unit_net_weight_g,
    _c.length_mm,
    _c.width_mm,
    _c.height_mm,
    _c.condition,
    _c.brand,
    _c.gtin,
    _c.mpn,
    _c.identifier_exists,
    type_coerce(_c.images, Text).label("images"),
    type_coerce(_c.attributes, Text).label("attributes"),
    type_coerce(_c.certifications, Text).label("certifications"),
    _c.origin_country,
    _c.on_hand,
    _c.reserved,
    _c.out_of_stock_policy,
    _c.availability_date,
    _c.version,
    _c.updated_at,
)
#: Where the listing's version sits in a feed row.
FEED_VERSION = [c.name for c in FEED_COLUMNS].index("version")


def _available() -> ColumnElement[int]:
    return Listing.on_hand - Listing.reserved


@dataclass(frozen=True)
class StockRow:
    version: int
    status: str
    on_hand: int
    reserved: int


@dataclass(frozen=True)
class SearchFilters:
    statuses: Sequence[str]
    seller_id: str | None = None
    category: str | None = None
    hs_prefix: str | None = None
    text: str | None = None
    currency: str | None = None
    min_price_minor: int | None = None
    max_price_minor: int | None = None
    availability: str | None = None


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class CatalogueRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def lock_writes(self) -> None:
        """Serialise catalogue writers until commit (PostgreSQL); see the module docstring."""
        if self._dialect == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})

    # ---------------------------------------------------------------------------------- sellers

    async def get_seller(self, seller_id: str) -> SellerProjection | None:
        return await self.session.get(SellerProjection, seller_id)

    async def add_seller(self, seller: SellerProjection) -> None:
        self.session.add(seller)
        await self.session.flush()

    # ---------------------------------------------------------------------------------- listings

    async def get_listing(self, listing_id: str) -> Listing | None:
        return await self.session.get(Listing, listing_id, populate_existing=True)

    async def sku_owner(self, seller_id: str, sku: str) -> str | None:
        stmt = select(Listing.id).where(Listing.seller_id == seller_id, Listing.sku == sku)
        return await self.session.scalar(stmt)

    async def add_listing(self, listing: Listing) -> None:
        self.session.add(listing)
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict(f"SKU {listing.sku} is already used by another of this seller's listings.") from None

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError:
            raise Conflict("The change conflicts with another listing (SKU already used).") from None

    async def published_of_seller(self, seller_id: str) -> list[Listing]:
        stmt = (
            select(Listing)
            .where(Listing.seller_id == seller_id, Listing.status == ListingStatus.PUBLISHED.value)
            .order_by(Listing.id)
        )
        return list((await self.session.scalars(stmt)).all())

    async def search(
        self, filters: SearchFilters, *, order: Sequence[tuple[Any, bool]], after: Sequence[Any] | None, limit: int
    ) -> list[Listing]:
        """Keyset pagination over `order` (column, descending) pairs ending with the id."""
        stmt = select(Listing).where(Listing.status.in_(list(filters.statuses)))
        if filters.seller_id:
            stmt = stmt.where(Listing.seller_id == filters.seller_id)
        if filters.category:
            stmt = stmt.where(
                or_(Listing.category == filters.category, Listing.category.like(f"{_escape_like(filters.category)}.%"))
            )
        if filters.hs_prefix:
            stmt = stmt.where(Listing.hs_code.like(f"{filters.hs_prefix}%"))
        if filters.text:
            stmt = stmt.where(Listing.title.ilike(f"%{_escape_like(filters.text)}%", escape="\\"))
        if filters.currency:
            stmt = stmt.where(Listing.currency == filters.currency)
        if filters.min_price_minor is not None:
            stmt = stmt.where(Listing.price_minor >= filters.min_price_minor)
        if filters.max_price_minor is not None:
            stmt = stmt.where(Listing.price_minor <= filters.max_price_minor)
        if filters.availability:
            if filters.availability == "in_stock":
                stmt = stmt.where(_available() > 0)
            else:
                stmt = stmt.where(_available() <= 0, Listing.out_of_stock_policy == filters.availability)
        if after is not None:
            stmt = stmt.where(_keyset_after(order, after))
        stmt = stmt.order_by(*(col.desc() if desc else col.asc() for col, desc in order)).limit(limit)
        return list((await self.session.scalars(stmt)).all())

    # ---------------------------------------------------------------------------------- stock

    async def try_reserve(self, listing_id: str, quantity: int, at: datetime) -> int | None:
        """Reserve `quantity` if that much is available on a published listing; the new version or None."""
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

    async def adjust_on_hand(self, listing_id: str, delta: int, at: datetime) -> StockRow | None:
        """Move stock on hand by `delta` unless it would fall below what is reserved (or zero)."""
        stmt = (
            update(Listing)
            .where(
                Listing.id == listing_id,
                Listing.on_hand + delta >= Listing.reserved,
                Listing.on_hand + delta >= 0,
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

    # ---------------------------------------------------------------------------------- reservations

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

    # ---------------------------------------------------------------------------------- change log

    async def log_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append change-log rows: {listing_id, op, version, reason, changed_at}."""
        if rows:
            await self.session.execute(insert(ListingChange), list(rows))

    async def high_water(self) -> int:
        """The last seq handed out, even when every row has since been pruned."""
        latest = await self.session.scalar(select(func.max(ListingChange.seq)))
        return max(int(latest or 0), await self.pruned_through())

    async def pruned_through(self) -> int:
        value = await self.session.scalar(select(FeedState.pruned_through_seq).where(FeedState.id == 1))
        return int(value or 0)

    async def published_count(self) -> int:
        stmt = select(func.count()).select_from(Listing).where(Listing.status == ListingStatus.PUBLISHED.value)
        return int(await self.session.scalar(stmt) or 0)

    async def snapshot_chunk(self, after_id: str | None, limit: int) -> Sequence[Sequence[Any]]:
        """The next `limit` published listings after `after_id`, in id order (keyset pagination)."""
        stmt = select(*FEED_COLUMNS).where(_c.status == ListingStatus.PUBLISHED.value)
        if after_id is not None:
            stmt = stmt.where(_c.id > after_id)
        stmt = stmt.order_by(_c.id).limit(limit)
        connection = await self.session.connection()
        return (await connection.execute(stmt)).all()

    async def changes_after(self, seq: int, limit: int) -> Sequence[Any]:
        stmt = (
            select(
                ListingChange.seq,
                ListingChange.listing_id,
                ListingChange.op,
                ListingChange.version,
                ListingChange.reason,
                ListingChange.changed_at,
            )
            .where(ListingChange.seq > seq)
            .order_by(ListingChange.seq)
            .limit(limit)
        )
        return (await self.session.execute(stmt)).all()

    async def published_rows(self, listing_ids: Sequence[str]) -> dict[str, Sequence[Any]]:
        if not listing_ids:
            return {}
        stmt = select(*FEED_COLUMNS).where(_c.id.in_(list(listing_ids)), _c.status == ListingStatus.PUBLISHED.value)
        connection = await self.session.connection()
        return {row[0]: row for row in (await connection.execute(stmt)).all()}

    async def prune_changes(self, cutoff: datetime, batch: int = 10_000) -> int:
        """Delete change rows older than `cutoff` (by seq, in batches); remember how far it went."""
        through = await self.session.scalar(
            select(func.max(ListingChange.seq)).where(ListingChange.changed_at < cutoff)
        )
        if through is None:
            return 0
        deleted = 0
        while True:
            ids = select(ListingChange.seq).where(ListingChange.seq <= through).order_by(ListingChange.seq).limit(batch)
            result = await self.session.execute(
                delete(ListingChange).where(ListingChange.seq.in_(ids)).execution_options(synchronize_session=False)
            )
            count = int(getattr(result, "rowcount", 0) or 0)
            deleted += count
            if count < batch:
                break
        state = cast(Table, FeedState.__table__)
        await insert_ignore(self.session, state, {"id": 1, "pruned_through_seq": 0, "pruned_at": cutoff})
        await self.session.execute(
            update(FeedState)
            .where(FeedState.id == 1, FeedState.pruned_through_seq < through)
            .values(pruned_through_seq=through, pruned_at=cutoff)
        )
        return deleted

    # ---------------------------------------------------------------------------------- FX

    async def fx_rates(self) -> list[FxRate]:
        return list((await self.session.scalars(select(FxRate).order_by(FxRate.base, FxRate.quote))).all())

    async def put_fx_rate(self, rate: FxRate, history: FxRateHistory) -> FxRate:
        merged = await self.session.merge(rate)
        self.session.add(history)
        await self.session.flush()
        return merged


def _keyset_after(order: Sequence[tuple[Any, bool]], after: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after `after` in the mixed-direction ordering `order` (portable row comparison)."""
    clauses = []
    for i, (col, desc) in enumerate(order):
        equal = [c == v for (c, _), v in zip(order[:i], after[:i], strict=True)]
        step = col < after[i] if desc else col > after[i]
        clauses.append(and_(*equal, step))
    return or_(*clauses)


__all__ = [
    "FEED_COLUMNS",
    "FEED_VERSION",
    "CatalogueRepository",
    "SearchFilters",
    "StockRow",
]
