"""Reading records off a real topic from the beginning, the way a downstream consumer would."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from shared.contracts import CloudEvent, EventData, new_event
from shared.contracts.envelope import CONTENT_TYPE

Record = ConsumerRecord[bytes, bytes]


async def read_topic(
    bootstrap: str, topic: str, until: Callable[[list[Record]], bool], timeout_s: float = 20.0
) -> list[Record]:
    """All records on `topic`, polling until `until(records)` holds; AssertionError on timeout."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    seen: list[Record] = []
    try:
        deadline = time.monotonic() + timeout_s
        assigned: set[TopicPartition] = set()
        while time.monotonic() < deadline:
            await consumer._client.force_metadata_update()  # noqa: SLF001 - the topic may appear late
            wanted = {TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or set()}
            if wanted - assigned:
                assigned = wanted
                consumer.assign(sorted(assigned, key=lambda tp: tp.partition))
                await consumer.seek_to_beginning(*assigned)
                seen.clear()
            if not assigned:
                await asyncio.sleep(0.1)
                continue
            batches = await consumer.getmany(timeout_ms=300)
            for records in batches.values():
                seen.extend(records)
            if until(seen):
                return seen
        raise AssertionError(f"timed out reading {topic}; saw {len(seen)} records")
    finally:
        await consumer.stop()


def events(records: list[Record]) -> list[CloudEvent]:
    return [CloudEvent.from_bytes(r.value or b"") for r in records]


async def wait_for_events(
    bootstrap: str, topic: str, predicate: Callable[[list[CloudEvent]], bool], timeout_s: float = 20.0
) -> list[CloudEvent]:
    records = await read_topic(bootstrap, topic, lambda rs: predicate(events(rs)), timeout_s)
    return events(records)


def cloud_event(data: EventData, subject: str) -> CloudEvent:
    return new_event(data, source="/tests", subject=subject)


async def produce_events(bootstrap: str, topic: str, *events: CloudEvent) -> None:
    """Put events on a topic as the producing service's relay would (structured CloudEvents, keyed)."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=False, acks="all")
    await producer.start()
    try:
        for event in events:
            await producer.send_and_wait(
                topic,
                event.to_bytes(),
                key=(event.subject or event.id).encode(),
                headers=[("content-type", CONTENT_TYPE.encode())],
            )
    finally:
        await producer.stop()
