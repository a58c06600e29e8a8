"""The consumer applies each event once, retries, and dead-letters what it cannot apply."""

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord
from pydantic import ValidationError
from sqlalchemy import func, insert, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.consumer import EventConsumer
from shared.contracts import CloudEvent
from shared.db import Database
from shared.kafka import KafkaPublisher
from tests.shared.conftest import effects_table
from tests.support.broker import TansuBroker
from tests.support.events import read_topic

APPLY = "rw.ewtp.test.apply.v1"
FAIL = "rw.ewtp.test.fail.v1"
STRICT = "rw.ewtp.test.strict.v1"


async def _apply(session: AsyncSession, event: CloudEvent) -> None:
    await session.execute(insert(effects_table).values(note=str(event.data["note"])))


async def _fail(session: AsyncSession, event: CloudEvent) -> None:
    raise RuntimeError("downstream is broken")


async def _strict(session: AsyncSession, event: CloudEvent) -> None:
    if "needed" not in event.data:
        raise ValidationError.from_exception_data("Strict", [{"type": "missing", "loc": ("needed",), "input": {}}])


def _event(type_: str, note: str, event_id: str | None = None) -> bytes:
    return CloudEvent(
        id=event_id or str(uuid.uuid4()),
        source="/test",
        type=type_,
        subject="k",
        time="2026-01-01T00:00:00Z",
        data={"note": note},
    ).to_bytes()


class Harness:
    def __init__(self, db: Database, broker: TansuBroker) -> None:
        self.db = db
        self.topic = f"test.consumer.{uuid.uuid4().hex[:8]}"
        self.publisher = KafkaPublisher(broker.bootstrap)
        self.consumer = EventConsumer(
            db=db,
            publisher=self.publisher,
            bootstrap=broker.bootstrap,
            group_id=f"test-{uuid.uuid4().hex[:8]}",
            topics=[self.topic],
            handlers={APPLY: _apply, FAIL: _fail, STRICT: _strict},
            max_attempts=3,
            backoff_base_s=0.01,
        )
        self.bootstrap = broker.bootstrap

    async def produce(self, *values: bytes) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, enable_idempotence=False)
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(self.topic, value, key=b"k")
        finally:
            await producer.stop()

    async def notes(self) -> list[str]:
        async with self.db.read() as s:
            return list((await s.execute(select(effects_table.c.note).order_by(effects_table.c.id))).scalars())

    async def wait_for_notes(self, expected: list[str]) -> None:
        async with asyncio.timeout(30):
            while await self.notes() != expected:
                await asyncio.sleep(0.1)


@pytest.fixture
async def harness(db: Database, broker: TansuBroker) -> AsyncIterator[Harness]:
    h = Harness(db, broker)
    task = asyncio.create_task(h.consumer.run())
    yield h
    task.cancel()
    await h.publisher.stop()


async def test_a_redelivered_event_has_no_second_effect(harness: Harness) -> None:
    same_id = str(uuid.uuid4())
    await harness.produce(_event(APPLY, "first", same_id), _event(APPLY, "first", same_id), _event(APPLY, "second"))
    await harness.wait_for_notes(["first", "second"])
    await asyncio.sleep(0.5)
    assert await harness.notes() == ["first", "second"]


async def test_a_poison_record_goes_to_the_dlq_and_the_consumer_goes_on(harness: Harness) -> None:
    await harness.produce(b"\x00not json", _event(APPLY, "after-poison"))
    await harness.wait_for_notes(["after-poison"])
    dlq = await read_topic(harness.bootstrap, f"{harness.topic}.dlq", lambda rs: len(rs) >= 1)
    headers = dict(dlq[0].headers)
    assert dlq[0].value == b"\x00not json"
    assert headers["x-error-type"] == b"PoisonMessage"
    assert headers["x-original-topic"] == harness.topic.encode()


async def test_a_failing_handler_is_retried_then_dead_lettered(harness: Harness) -> None:
    await harness.produce(_event(FAIL, "never"), _event(APPLY, "after-failure"))
    await harness.wait_for_notes(["after-failure"])
    dlq = await read_topic(harness.bootstrap, f"{harness.topic}.dlq", lambda rs: len(rs) >= 1)
    headers = dict(dlq[0].headers)
    assert headers["x-error-type"] == b"RuntimeError"
    assert headers["x-attempts"] == b"3"
    assert b"downstream is broken" in headers["x-error-message"]


async def test_an_event_breaking_its_contract_is_dead_lettered_at_once(harness: Harness) -> None:
    await harness.produce(_event(STRICT, "bad"), _event(APPLY, "after-contract"))
    await harness.wait_for_notes(["after-contract"])
    dlq = await read_topic(harness.bootstrap, f"{harness.topic}.dlq", lambda rs: len(rs) >= 1)
    assert dict(dlq[0].headers)["x-attempts"] == b"1"


async def test_unknown_event_types_are_skipped(harness: Harness) -> None:
    await harness.produce(_event("rw.ewtp.test.other.v1", "ignored"), _event(APPLY, "known"))
    await harness.wait_for_notes(["known"])
    async with harness.db.read() as s:
        assert (await s.execute(select(func.count()).select_from(effects_table))).scalar_one() == 1


async def test_an_unavailable_database_delays_the_event_but_never_dead_letters_it(
    db: Database, broker: TansuBroker
) -> None:
    failures = {"left": 8}  # more than max_attempts: an ordinary error would be dead-lettered by now

    async def flaky_database(session: AsyncSession, event: CloudEvent) -> None:
        if failures["left"]:
            failures["left"] -= 1
            raise OperationalError("SELECT 1", {}, ConnectionRefusedError("database restarting"))
        await _apply(session, event)

    h = Harness(db, broker)
    h.consumer.handlers[APPLY] = flaky_database
    task = asyncio.create_task(h.consumer.run())
    try:
        await h.produce(_event(APPLY, "survived-the-outage"))
        await h.wait_for_notes(["survived-the-outage"])
        assert failures["left"] == 0  # applied (so not dead-lettered) once the database was back
        assert await read_topic(h.bootstrap, f"{h.topic}.dlq", lambda rs: True, timeout_s=5) == []
    finally:
        task.cancel()
        await h.publisher.stop()


def _record(value: bytes, offset: int, topic: str = "t") -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(
        topic=topic,
        partition=0,
        offset=offset,
        timestamp=0,
        timestamp_type=0,
        key=b"k",
        value=value,
        checksum=None,
        serialized_key_size=1,
        serialized_value_size=len(value),
        headers=(),
    )


async def test_a_batch_is_applied_in_one_transaction(db: Database, broker: TansuBroker) -> None:
    h = Harness(db, broker)
    commits = []
    db.on_commit(lambda: commits.append(1))
    batch = [_record(_event(APPLY, f"b{i}"), i) for i in range(5)]
    await h.consumer.process_batch(batch)
    assert await h.notes() == ["b0", "b1", "b2", "b3", "b4"]
    assert len(commits) == 1
    await h.publisher.stop()


async def test_a_failing_event_in_a_batch_falls_back_to_one_transaction_per_message(
    db: Database, broker: TansuBroker
) -> None:
    h = Harness(db, broker)
    same = str(uuid.uuid4())
    batch = [
        _record(_event(APPLY, "before", same), 0, h.topic),
        _record(_event(FAIL, "never"), 1, h.topic),
        _record(_event(APPLY, "before", same), 2, h.topic),  # a redelivery inside the batch
        _record(_event(APPLY, "after"), 3, h.topic),
    ]
    try:
        await h.consumer.process_batch(batch)
        assert await h.notes() == ["before", "after"]  # the batch's rollback left nothing twice
        dlq = await read_topic(h.bootstrap, f"{h.topic}.dlq", lambda rs: len(rs) >= 1)
        assert dict(dlq[0].headers)["x-error-type"] == b"RuntimeError"
    finally:
        await h.publisher.stop()
