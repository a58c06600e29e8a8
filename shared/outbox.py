"""Transactional outbox: events leave a service only through here.

Guarantee: an event is written to the `outbox` table in the same transaction as the state change
that caused it (`add_event`), so it exists if and only if the change committed. The relay publishes
pending rows in commit (id) order, which keeps one aggregate's events ordered on its partition, and
marks them published only once the broker acknowledged them. A broker that is down leaves the rows
waiting; nothing is lost, and a row may be sent more than once (consumers dedupe by event id).

The relay is woken right after each commit (`Database.on_commit`) and polls as a fallback; it clears
its wake-up flag before each pass, so a commit that lands during a pass is never left for the poll. On
PostgreSQL a transaction-level advisory lock keeps a single relay active per database, so several
replicas never interleave one aggregate's events.

Ordering rule: the relay sends in outbox id order, and ids are handed out at insert, not at commit.
Two transactions publishing for the same aggregate could therefore commit in one order and hold ids
in the other; one aggregate's events are in commit order only if the writer holds the aggregate's
lock from its first event until commit. `publish` takes that lock itself (a transaction-level
advisory lock on the event's subject on PostgreSQL; SQLite serialises writers already), so a caller
cannot forget it. Publish for several aggregates in one transaction in a stable order (sorted ids)
or under a wider lock, as catalogue's writers' lock does, so two writers cannot deadlock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import CONTENT_TYPE, CloudEvent, EventData, new_event
from shared.db import Database, utcnow
from shared.fastread import Query
from shared.kafka import KafkaPublisher
from shared.tables import outbox_table
from shared.tracing import TRACEPARENT, event_extensions

__all__ = ["EventSource", "OutboxRelay", "add_event", "add_events", "lock_aggregate", "publish"]

log = logging.getLogger("ewtp.outbox")


def _outbox_row(topic: str, event: CloudEvent) -> dict[str, Any]:
    if TRACEPARENT not in (event.model_extra or {}):  # the Distributed Tracing extension (shared/tracing.py)
        event = event.model_copy(update=event_extensions(event.type))
    return {
        "event_id": event.id,
        "event_type": event.type,
        "topic": topic,
        "key": event.subject or event.id,
        "payload": event.to_bytes(),
        "created_at": utcnow(),
    }


async def add_event(session: AsyncSession, topic: str, event: CloudEvent) -> None:
    """Stage `event` for publication with the caller's transaction; the key is the event's subject."""
    await session.execute(insert(outbox_table).values(_outbox_row(topic, event)))


async def add_events(session: AsyncSession, staged: Sequence[tuple[str, CloudEvent]]) -> None:
    """Stage several (topic, event) pairs in one statement, as `add_event` does each (a writer that
    commits many aggregates at once, e.g. a group commit, pays one round trip instead of one each).
    Takes no aggregate lock: see the ordering rule for when the caller must hold them. An event that
    carries no trace context gets the current one: a writer batching other tasks' events should
    make them with `EventSource.event` in those tasks, where their traces are current."""
    if staged:
        await session.execute(insert(outbox_table), [_outbox_row(topic, event) for topic, event in staged])


async def lock_aggregate(session: AsyncSession, subject: str) -> None:
    """Hold `subject`'s aggregate lock until the transaction ends (PostgreSQL; see the ordering rule)."""
    if session.get_bind().dialect.name == "postgresql":
        key = zlib.crc32(f"aggregate:{subject}".encode()) & 0x7FFFFFFF
        await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


async def publish(session: AsyncSession, data: EventData, *, source: str, subject: str) -> CloudEvent:
    """Wrap `data` in a CloudEvent and stage it on its contract's topic, under the aggregate's lock."""
    await lock_aggregate(session, subject)
    event = new_event(data, source=source, subject=subject)
    await add_event(session, data.TOPIC, event)
    return event


@dataclass(frozen=True)
class EventSource:
    """A service's events, with its CloudEvents `source` said once (`EVENTS.publish(session, data, subject=...)`)."""

    source: str

    def event(self, data: EventData, *, subject: str) -> CloudEvent:
        """A new CloudEvent from this source, with the current trace context (for `add_events`;
        `publish` makes and stages one itself)."""
        event = new_event(data, source=self.source, subject=subject)
        return event.model_copy(update=event_extensions(event.type))

    async def publish(self, session: AsyncSession, data: EventData, *, subject: str) -> CloudEvent:
        return await publish(session, data, source=self.source, subject=subject)


class _Pending(NamedTuple):
    id: int
    topic: str
    key: str
    payload: bytes


_o = outbox_table.c
_PENDING = Query(
    select(_o.id, _o.topic, _o.key, _o.payload)
    .where(_o.published_at.is_(None))
    .order_by(_o.id)
    .limit(bindparam("limit"))
)


class OutboxRelay:
    def __init__(
        self, db: Database, publisher: KafkaPublisher, poll_interval_s: float = 1.0, batch_size: int = 500
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.poll_interval_s = poll_interval_s
        self.batch_size = batch_size
        self._wake = asyncio.Event()
        self._lock_key = zlib.crc32(f"outbox:{db.url}".encode()) & 0x7FFFFFFF
        self.last_error: str | None = None
        #: SQLite, while running: ids the broker acknowledged that are not marked published yet.
        self._unmarked: set[int] = set()
        self._mark_wanted = asyncio.Event()
        self._marker: asyncio.Task[None] | None = None
        db.on_commit(self._wake.set)

    def wake(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        try:
            await self._run()
        finally:
            if self._marker is not None:
                self._marker.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await self._marker
                self._marker = None

    async def _run(self) -> None:
        backoff = self.poll_interval_s
        while True:
            # Clear the wake-up flag BEFORE the pass: a commit that lands during the pass sets it
            # again and the next wait returns at once. (Clearing after the pass lost that wake-up,
            # and the event waited for the poll.)
            self._wake.clear()
            try:
                more = await (self._pipelined_pass() if self.db.is_sqlite else self.publish_pending())
                self.last_error = None
                backoff = self.poll_interval_s
                if more:
                    continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                self.last_error = repr(exc)
                log.warning("outbox relay pass failed: %r", exc)
                backoff = min(backoff * 2, 10.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=backoff)

    async def pending_count(self) -> int:
        async with self.db.read() as session:
            stmt = select(func.count()).select_from(outbox_table).where(outbox_table.c.published_at.is_(None))
            return int((await session.execute(stmt)).scalar_one())

    async def publish_pending(self) -> bool:
        """Publish one batch; True when a full batch went out (there may be more)."""
        if self.db.is_sqlite:
            # One process owns an SQLite file: read, send, then mark, without holding the write lock
            # while the broker answers.
            rows = [_Pending(*r) for r in await self.db.fetch(_PENDING, {"limit": self.batch_size})]
            sent = await self._send(rows)
            if sent:
                async with self.db.transaction() as session:
                    await self._mark(session, [r.id for r in rows[:sent]])
        else:
            async with self.db.transaction() as session:
                # Marks need no flush wait: one lost in a crash only re-sends the event (consumers dedupe).
                await session.execute(text("SET LOCAL synchronous_commit = off"))
                got = await session.execute(text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": self._lock_key})
                if not got.scalar_one():
                    return False
                rows = await self._pending(session)
                sent = await self._send(rows)
                await self._mark(session, [r.id for r in rows[:sent]])
        if sent < len(rows):
            raise ConnectionError(f"broker accepted {sent} of {len(rows)} outbox events")
        return len(rows) == self.batch_size

    async def _pipelined_pass(self) -> bool:
        """SQLite, while running: send, and leave the marking to a marker task.

        Marking is a write transaction, and SQLite's writers queue one at a time: waiting for it
        before the next send put every event behind the request writers already queued (a hop of
        seconds under load). The marker marks what the broker acknowledged, as many ids per
        transaction as have gathered; until then those ids are skipped here, never sent twice by
        this process. A crash before the mark re-sends them at the next start (consumers dedupe).
        """
        limit = self.batch_size + len(self._unmarked)
        rows = [_Pending(*r) for r in await self.db.fetch(_PENDING, {"limit": limit})]
        rows = [r for r in rows if r.id not in self._unmarked][: self.batch_size]
        sent = await self._send(rows)
        if sent:
            self._unmarked.update(r.id for r in rows[:sent])
            if self._marker is None or self._marker.done():
                self._marker = asyncio.create_task(self._mark_acknowledged(), name="outbox-marker")
            self._mark_wanted.set()
        if sent < len(rows):
            raise ConnectionError(f"broker accepted {sent} of {len(rows)} outbox events")
        return len(rows) == self.batch_size

    async def _mark_acknowledged(self) -> None:
        while True:
            await self._mark_wanted.wait()
            self._mark_wanted.clear()
            ids = sorted(self._unmarked)[: self.batch_size * 4]
            if not ids:
                continue
            try:
                async with self.db.transaction() as session:
                    await self._mark(session, ids)
                self._unmarked.difference_update(ids)
                if self._unmarked:
                    self._mark_wanted.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox marker failed: %r; retrying", exc)
                await asyncio.sleep(0.5)
                self._mark_wanted.set()

    async def _pending(self, session: AsyncSession) -> list[Any]:
        stmt = (
            select(outbox_table.c.id, outbox_table.c.topic, outbox_table.c.key, outbox_table.c.payload)
            .where(outbox_table.c.published_at.is_(None))
            .order_by(outbox_table.c.id)
            .limit(self.batch_size)
        )
        return list((await session.execute(stmt)).all())

    async def _send(self, rows: list[Any]) -> int:
        if not rows:
            return 0
        headers = [("content-type", CONTENT_TYPE.encode())]
        return await self.publisher.send_batch([(r.topic, r.key.encode(), r.payload, headers) for r in rows])

    @staticmethod
    async def _mark(session: AsyncSession, ids: list[int]) -> None:
        if ids:
            await session.execute(update(outbox_table).where(outbox_table.c.id.in_(ids)).values(published_at=utcnow()))
