"""Periodic work owned by the catalogue process: pruning the feed's change log.

Guarantee: each pass runs in its own transaction (the task is its owner, like the consumer runner
is for events), deletes change-log rows older than the retention window and raises the pruned-through
mark with them, so a delta cursor from before it gets 410 Gone instead of silently missing changes.
A failing pass is logged and retried at the next interval; it never stops the service.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from services.catalogue.feed import service
from shared.db import Database
from shared.periodic import run_periodically

log = logging.getLogger("ewtp.catalogue.tasks")


async def prune_once(db: Database, retention: timedelta) -> int:
    async with db.transaction() as session:
        return await service.prune_feed(session, retention)


async def run_pruner(db: Database, retention: timedelta, interval_s: float) -> None:
    """Prune at start-up, then every `interval_s` seconds, until cancelled (shared/periodic.py)."""
    await run_periodically("change-log pruning", interval_s, lambda: prune_once(db, retention))
