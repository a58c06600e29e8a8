"""Retention of the platform tables, so outbox, inbox and idempotency keys do not grow forever.

Every service gets the pruner from `create_service_app`. What goes, and why not sooner:
- outbox rows published more than `outbox` ago (7 days). A published row is never read again; the
  week leaves time to investigate what was sent. Pending rows are never pruned.
- inbox rows processed more than `inbox` ago (14 days). The inbox makes a redelivered event a no-op,
  so it must outlive every redelivery. A consumer can be handed an event again only while the topic
  still holds it (after a crash before the offset commit, or an offset reset); Kafka's default topic
  retention (`retention.ms`) is 7 days, so twice that is the margin. A deployment that keeps topics
  longer must raise this with it.
- idempotency keys completed more than `idempotency` ago (48 hours). Clients retry within minutes;
  DESIGN.md promises a replay but states no window yet: 48 hours is the figure to publish there (a
  day of retries, doubled). In-flight keys are never pruned here (the idempotency module owns them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete

from shared.db import Database, utcnow
from shared.tables import idempotency_table, inbox_table, outbox_table

__all__ = ["RetentionPolicy", "prune_platform_tables"]


@dataclass(frozen=True)
class RetentionPolicy:
    outbox: timedelta = timedelta(days=7)
    inbox: timedelta = timedelta(days=14)
    idempotency: timedelta = timedelta(hours=48)
    #: How often the pruner runs; 0 disables it.
    interval_s: float = 3600.0


async def prune_platform_tables(db: Database, policy: RetentionPolicy, now: datetime | None = None) -> int:
    """Delete what the policy lets go, in one transaction; how many rows went."""
    now = now or utcnow()
    async with db.transaction() as session:
        deleted = 0
        for statement in (
            delete(outbox_table).where(
                outbox_table.c.published_at.is_not(None), outbox_table.c.published_at < now - policy.outbox
            ),
            delete(inbox_table).where(inbox_table.c.processed_at < now - policy.inbox),
            delete(idempotency_table).where(
                idempotency_table.c.state == "completed", idempotency_table.c.completed_at < now - policy.idempotency
            ),
        ):
            result = await session.execute(statement.execution_options(synchronize_session=False))
            deleted += int(getattr(result, "rowcount", 0) or 0)
        return deleted
