"""The outbox publishes in commit order, is woken by commits, and loses nothing while the broker is down."""

import asyncio
import uuid
from pathlib import Path
from typing import ClassVar

import pytest
from sqlalchemy import select, text

from shared.contracts import CloudEvent
from shared.contracts.envelope import EventData
from shared.db import Database
from shared.kafka import KafkaPublisher
from shared.outbox import OutboxRelay, add_event, publish
from shared.tables import outbox_table
from tests.support.broker import TansuBroker
from tests.support.databases import on_postgres
from tests.support.events import events, read_topic


def _event(key: str, n: int) -> CloudEvent:
    return CloudEvent(
        id=str(uuid.uuid4()),
        source="/test",
        type="rw.ewtp.test.happened.v1",
        subject=key,
        time="2026-01-01T00:00:00Z",
        data={"n": n},
    )


async def _stage(db: Database, topic: str, key: str, count: int) -> list[str]:
    ids = []
    for n in range(count):
        async with db.transaction() as session:
            event = _event(key, n)
            await add_event(session, topic, event)
            ids.append(event.id)
    return ids


async def _until_published(relay: OutboxRelay, timeout_s: float = 30) -> None:
    async with asyncio.timeout(timeout_s):
        while await relay.pending_count():
            await asyncio.sleep(0.1)


async def test_relay_publishes_in_commit_order_and_marks_rows(db: Database, broker: TansuBroker) -> None:
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    publisher = KafkaPublisher(broker.bootstrap, [topic])
    relay = OutboxRelay(db, publisher)
    ids = await _stage(db, topic, "aggregate-1", 5)
    assert await relay.pending_count() == 5
    try:
        await relay.publish_pending()
        assert await relay.pending_count() == 0
        records = await read_topic(broker.bootstrap, topic, lambda rs: len(rs) >= 5)
        assert [e.id for e in events(records)] == ids
        assert {r.key for r in records} == {b"aggregate-1"}
        assert all(dict(r.headers)["content-type"] == b"application/cloudevents+json" for r in records)
    finally:
        await publisher.stop()


async def test_a_commit_wakes_the_relay(db: Database, broker: TansuBroker) -> None:
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    publisher = KafkaPublisher(broker.bootstrap, [topic])
    relay = OutboxRelay(db, publisher, poll_interval_s=3600)  # polling alone would never publish here
    task = asyncio.create_task(relay.run())
    try:
        await asyncio.sleep(0.2)
        await _stage(db, topic, "aggregate-2", 1)
        await _until_published(relay, timeout_s=15)
    finally:
        task.cancel()
        await publisher.stop()


class _CommitsDuringItsFirstSend(KafkaPublisher):
    """A real publisher that, while the relay's first pass is sending, commits one more event."""

    def __init__(self, db: Database, bootstrap: str, topic: str) -> None:
        super().__init__(bootstrap, [topic])
        self.db, self.topic, self.late_ids = db, topic, list[str]()

    async def send_batch(self, records):  # type: ignore[no-untyped-def]
        if not self.late_ids:
            self.late_ids = await _stage(self.db, self.topic, "aggregate-late", 1)
        return await super().send_batch(records)


async def test_a_commit_during_a_pass_is_published_without_waiting_for_the_poll(
    db: Database, broker: TansuBroker
) -> None:
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    publisher = _CommitsDuringItsFirstSend(db, broker.bootstrap, topic)
    relay = OutboxRelay(db, publisher, poll_interval_s=3600)  # only a kept wake-up publishes the late event
    first = await _stage(db, topic, "aggregate-early", 1)
    task = asyncio.create_task(relay.run())
    try:
        await _until_published(relay, timeout_s=15)
        records = await read_topic(broker.bootstrap, topic, lambda rs: len(rs) >= 2)
        # Two aggregates, two keys: their order across partitions is not defined, only that both arrive.
        assert sorted(e.id for e in events(records)) == sorted(first + publisher.late_ids)
    finally:
        task.cancel()
        await publisher.stop()


async def test_events_wait_out_a_broker_outage(db: Database, tmp_root: Path) -> None:
    outage = TansuBroker(log_dir=tmp_root)
    outage.start()
    topic = f"test.outbox.{uuid.uuid4().hex[:8]}"
    publisher = KafkaPublisher(outage.bootstrap, [topic])
    relay = OutboxRelay(db, publisher, poll_interval_s=0.2)
    task = asyncio.create_task(relay.run())
    try:
        outage.stop()
        ids = await _stage(db, topic, "aggregate-3", 3)  # committed while the broker is down
        await asyncio.sleep(1.0)
        assert await relay.pending_count() == 3
        assert relay.last_error is not None
        outage.start()
        await _until_published(relay)
        records = await read_topic(outage.bootstrap, topic, lambda rs: len(rs) >= 3)
        assert [e.id for e in events(records)] == ids
    finally:
        task.cancel()
        await publisher.stop()
        outage.stop()


class _Happened(EventData):
    TYPE: ClassVar[str] = "rw.ewtp.test.happened.v1"
    TOPIC: ClassVar[str] = "test.outbox.ordering"
    n: int


async def test_publish_holds_the_aggregate_lock_until_commit(db: Database) -> None:
    """The ordering rule (shared/outbox.py): a second writer publishing for the same aggregate waits for
    the first to commit, so outbox id order is commit order. SQLite serialises whole writers already."""
    if not on_postgres():
        pytest.skip("PostgreSQL advisory lock")
    second_done = asyncio.Event()

    async def second() -> None:
        async with db.transaction() as session:
            await publish(session, _Happened(n=2), source="/test", subject="agg-1")
        second_done.set()

    async with db.transaction() as session:
        await publish(session, _Happened(n=1), source="/test", subject="agg-1")
        task = asyncio.create_task(second())
        async with asyncio.timeout(10):  # until the second writer is seen waiting on the lock
            while not await _advisory_waiters(db):
                await asyncio.sleep(0.01)
        assert not second_done.is_set()
    await task
    async with db.read() as session:
        payloads = (await session.execute(select(outbox_table.c.payload).order_by(outbox_table.c.id))).scalars()
        assert [CloudEvent.from_bytes(p).data["n"] for p in payloads] == [1, 2]


async def _advisory_waiters(db: Database) -> int:
    async with db.read() as session:
        stmt = text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        return int((await session.execute(stmt)).scalar_one())
