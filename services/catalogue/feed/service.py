"""Feed use cases: change-log rows, delta pages and retention."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from services.catalogue.context import (
    SNAPSHOT_PATH,
    CatalogueContext,
)
from services.catalogue.domain import (
    ChangeOp,
)
from services.catalogue.feed.render import decode_feed_cursor, encode_feed_cursor
from services.catalogue.feed.repository import FEED_VERSION, FeedRepository
from services.catalogue.repositories import Repositories
from shared.db import utcnow
from shared.errors import (
    Gone,
)
from shared.pagination import fetch_size, split_page


def change_row(listing_id: str, op: ChangeOp, version: int, at: datetime, reason: str | None = None) -> dict[str, Any]:
    return {"listing_id": listing_id, "op": op.value, "version": version, "reason": reason, "changed_at": at}


async def feed_changes(session: AsyncSession, cursor: str, limit: int, ctx: CatalogueContext) -> dict[str, Any]:
    """Changes after `cursor`, in seq order: upserts with the current item, tombstones without.

    Within a page only the last row of each listing is kept (the earlier ones are superseded), and
    an upsert whose listing is no longer published is dropped: its tombstone follows later.
    """
    after = decode_feed_cursor(cursor)
    repo = Repositories(session)
    pruned = await repo.feed.pruned_through()
    if after < pruned:
        raise Gone(
            "This cursor is older than the change log's retention window; take a new snapshot "
            f"(GET {SNAPSHOT_PATH}) and read changes from its X-Feed-Cursor.",
            snapshot=SNAPSHOT_PATH,
        )
    if after > await repo.feed.high_water():
        raise Gone(
            f"This cursor is ahead of the change log (the feed was reset); take a new snapshot (GET {SNAPSHOT_PATH}).",
            snapshot=SNAPSHOT_PATH,
        )
    rows, has_more = split_page(await repo.feed.changes_after(after, fetch_size(limit)), limit)
    next_seq = rows[-1].seq if rows else after
    last: dict[str, Any] = {}
    for row in rows:
        last.pop(row.listing_id, None)
        last[row.listing_id] = row
    upserts = [r.listing_id for r in last.values() if r.op == ChangeOp.UPSERT]
    current = await repo.feed.published_rows(upserts)
    items: list[dict[str, Any]] = []
    for row in last.values():
        entry = {"seq": row.seq, "op": row.op, "listing_id": row.listing_id, "changed_at": row.changed_at}
        if row.op == ChangeOp.UPSERT:
            found = current.get(row.listing_id)
            if found is None:
                continue
            items.append({**entry, "version": found[FEED_VERSION], "reason": None, "item": ctx.renderer.item(found)})
        else:
            items.append({**entry, "version": row.version, "reason": row.reason, "item": None})
    return {"items": items, "next_cursor": encode_feed_cursor(next_seq), "has_more": has_more}


async def prune_feed(session: AsyncSession, retention: timedelta, now: datetime | None = None) -> int:
    """Delete change-log rows older than `retention`; cursors before them then get 410 Gone."""
    cutoff = (now or utcnow()) - retention
    return await FeedRepository(session).prune_changes(cutoff)
