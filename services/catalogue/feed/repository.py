"""SQL of the feed area: the change log, the snapshot reads, retention, and the writers' lock.

Every transaction that writes listings or the change log first calls `lock_writes()`. On PostgreSQL
it takes a transaction-level advisory lock, so change-log seqs are handed out in commit order (a
reader can never see seq n+1 while n is still in flight, which would make a delta cursor skip n
forever) and, with the lock always taken first, writers cannot deadlock on listing rows. SQLite
already serialises writers (`BEGIN IMMEDIATE`). FX writes do not touch the change log and do not
take it.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Table,
    Text,
    delete,
    func,
    insert,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.domain import ListingStatus
from services.catalogue.models import (
    FeedState,
    Listing,
    ListingChange,
)
from shared.db import insert_ignore

__all__ = ["FEED_COLUMNS", "FEED_VERSION", "FeedRepository"]

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


class FeedRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def lock_writes(self) -> None:
        """Serialise catalogue writers until commit (PostgreSQL); see the module docstring."""
        if self.session.get_bind().dialect.name == "postgresql":
            await self.session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": WRITE_LOCK_KEY})

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
