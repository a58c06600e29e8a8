"""The platform-table pruner drops only what is finished and older than the policy, on both databases."""

from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import func, insert, select

from shared.db import Database, utcnow
from shared.retention import RetentionPolicy, prune_platform_tables
from shared.tables import idempotency_table, inbox_table, outbox_table

POLICY = RetentionPolicy(outbox=timedelta(days=7), inbox=timedelta(days=14), idempotency=timedelta(hours=48))


async def test_only_finished_rows_older_than_the_policy_go(db: Database) -> None:
    now = utcnow()
    old, recent = now - timedelta(days=30), now - timedelta(hours=1)

    def outbox(published_at: object) -> dict[str, object]:
        event_id = uuid.uuid4().hex
        return {"event_id": event_id, "event_type": "t", "topic": "t", "key": event_id, "payload": b"{}",
                "created_at": old, "published_at": published_at}  # fmt: skip

    def key(state: str, completed_at: object) -> dict[str, object]:
        return {"scope": "s", "key": uuid.uuid4().hex, "fingerprint": "f", "state": state,
                "created_at": old, "completed_at": completed_at}  # fmt: skip

    async with db.transaction() as session:
        await session.execute(insert(outbox_table), [outbox(old), outbox(recent), outbox(None)])
        await session.execute(
            insert(inbox_table),
            [
                {"consumer": "c", "event_id": uuid.uuid4().hex, "event_type": "t", "processed_at": at}
                for at in (old, recent)
            ],
        )
        await session.execute(
            insert(idempotency_table), [key("completed", old), key("completed", recent), key("in_flight", None)]
        )

    assert await prune_platform_tables(db, POLICY, now=now) == 3

    async with db.read() as session:
        published = await session.scalar(select(func.count()).where(outbox_table.c.published_at.is_not(None)))
        pending = await session.scalar(select(func.count()).where(outbox_table.c.published_at.is_(None)))
        inbox = await session.scalar(select(func.count()).select_from(inbox_table))
        keys = await session.scalar(select(func.count()).select_from(idempotency_table))
    assert (published, pending, inbox, keys) == (1, 1, 1, 2)
