"""Idempotent event consumer: a batch in one transaction when it can, one per message when it must.

Guarantees:
- exactly-once effect: the event id is inserted in the `inbox` table (per consumer group) in the same
  transaction as the handler's effect; a redelivered event finds its row and is skipped;
- offsets are committed only after the effect (or the dead-lettering) is done, so a crash redelivers;
- a failing handler is retried with exponential backoff, at most `max_attempts` times; then the
  record goes to `<topic>.dlq` with the error in its headers and the consumer moves on. A record that
  cannot be parsed or whose data breaks its contract is a poison message: it goes to the DLQ at once;
- an unavailable database is not the event's fault: such errors are retried with capped backoff for
  as long as it takes and never dead-letter the event (the partition waits, nothing is lost).

Batches: the records one fetch returned for a partition are applied in ONE transaction (each event
claimed in the inbox, then handled, in offset order; the session's identity map is expired between
events so a handler sees what the previous one wrote, as with separate transactions). If anything in
the batch fails, the transaction rolls back as a whole and the batch is replayed one transaction per
message, with the retries and dead-lettering above; the inbox makes that replay exact. So the happy
path pays one commit (one fsync on PostgreSQL, one writer-lock turn on SQLite) per batch, and the
failure path is exactly the per-message behaviour. Offsets are committed after the batch.

Fetch latency: `fetch_max_wait_ms` (setting `consumer_fetch_max_wait_ms`, default 10) is how long the
broker may hold a fetch that has no records; it bounds an event hop from below.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts.envelope import CloudEvent, dlq_topic
from shared.db import Database, insert_ignore, utcnow
from shared.kafka import KafkaPublisher, ensure_topics
from shared.metrics import consumed, dead_lettered, record_lag
from shared.tables import inbox_table
from shared.tracing import continue_from_event, event_span

__all__ = ["EventConsumer", "Handler", "PoisonMessage", "claim_event"]

log = logging.getLogger("ewtp.consumer")

Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]

#: Errors of the infrastructure (database unreachable or locked, pool exhausted), not of the event.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OperationalError,
    InterfaceError,
    PoolTimeoutError,
    ConnectionError,
    TimeoutError,
)
MAX_TRANSIENT_BACKOFF_S = 10.0


class PoisonMessage(Exception):
    """The record can never be processed (unparseable, or its data breaks the contract)."""


async def claim_event(session: AsyncSession, consumer: str, event: CloudEvent) -> bool:
    """Record `event` as processed by `consumer`; False if it already was (the effect must be skipped)."""
    values = {"consumer": consumer, "event_id": event.id, "event_type": event.type, "processed_at": utcnow()}
    return await insert_ignore(session, inbox_table, values)


class EventConsumer:
    def __init__(
        self,
        *,
        db: Database,
        publisher: KafkaPublisher,
        bootstrap: str,
        group_id: str,
        topics: Sequence[str],
        handlers: Mapping[str, Handler],
        max_attempts: int = 5,
        backoff_base_s: float = 0.05,
        fetch_max_wait_ms: int = 10,
        max_batch: int = 200,
    ) -> None:
        self.db = db
        self.publisher = publisher
        self.bootstrap = bootstrap
        self.group_id = group_id
        self.topics = list(topics)
        self.handlers = dict(handlers)
        self.max_attempts = max_attempts
        self.backoff_base_s = backoff_base_s
        self.fetch_max_wait_ms = fetch_max_wait_ms
        self.max_batch = max_batch
        self.ready = asyncio.Event()

    async def run(self) -> None:
        """Consume until cancelled, reconnecting with backoff when the broker goes away."""
        delay = 0.5
        while True:
            consumer: AIOKafkaConsumer | None = None
            try:
                await ensure_topics(self.bootstrap, [*self.topics, *(dlq_topic(t) for t in self.topics)])
                consumer = AIOKafkaConsumer(
                    *self.topics,
                    bootstrap_servers=self.bootstrap,
                    group_id=self.group_id,
                    enable_auto_commit=False,
                    auto_offset_reset="earliest",
                    max_poll_records=self.max_batch,
                    fetch_max_wait_ms=self.fetch_max_wait_ms,
                )
                await consumer.start()
                self.ready.set()
                delay = 0.5
                await self._loop(consumer)
            except asyncio.CancelledError:
                raise
            except (KafkaError, OSError) as exc:
                log.warning("consumer %s lost the broker: %r; retrying in %.1fs", self.group_id, exc, delay)
            finally:
                self.ready.clear()
                if consumer is not None:
                    try:
                        await consumer.stop()
                    except (KafkaError, OSError):
                        log.debug("consumer stop failed", exc_info=True)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)

    async def _loop(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            batches = await consumer.getmany(timeout_ms=500)
            for tp, records in batches.items():
                await self.process_batch(records)
                await consumer.commit({TopicPartition(tp.topic, tp.partition): records[-1].offset + 1})
                record_lag(self.group_id, tp.topic, tp.partition, consumer.highwater(tp), records[-1].offset + 1)

    async def process_batch(self, records: Sequence[ConsumerRecord[bytes, bytes]]) -> None:
        """Apply one partition's records in one transaction; on any failure, one by one (see above)."""
        if len(records) > 1:
            events: list[CloudEvent] | None = []
            for record in records:
                try:
                    events.append(CloudEvent.from_bytes(record.value or b""))  # type: ignore[union-attr]
                except ValidationError:
                    events = None  # a poison record: the per-message path dead-letters it
                    break
            if events is not None:
                try:
                    outcomes: list[tuple[str, str]] = []
                    async with self.db.transaction() as session:
                        for event in events:
                            handler = self.handlers.get(event.type)
                            if handler is None:
                                continue
                            continue_from_event(event)  # each event's handler runs in its own trace
                            claimed = await claim_event(session, self.group_id, event)
                            if claimed:
                                await handler(session, event)
                                await session.flush()
                                session.expire_all()
                            outcomes.append((event.type, "processed" if claimed else "duplicate"))
                    for event_type, outcome in outcomes:  # counted once committed, as one by one
                        consumed(self.group_id, event_type, outcome)
                    return
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    log.info("batch of %d failed (%r); applying it one message at a time", len(records), exc)
        for record in records:
            await self.process(record)

    async def process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Apply one record exactly once in effect, retrying, then dead-lettering it."""
        with event_span():  # ends the exported CONSUMER span, if any (shared/tracing.py)
            await self._process(record)

    async def _process(self, record: ConsumerRecord[bytes, bytes]) -> None:
        try:
            event = CloudEvent.from_bytes(record.value or b"")
        except ValidationError as exc:
            await self._dead_letter(record, PoisonMessage(f"not a CloudEvent: {exc}"), attempts=1)
            return
        handler = self.handlers.get(event.type)
        if handler is None:
            return  # not an event this consumer cares about
        continue_from_event(event)
        attempt = 0
        outage = 0
        while True:
            attempt += 1
            try:
                async with self.db.transaction() as session:
                    claimed = await claim_event(session, self.group_id, event)
                    if claimed:
                        await handler(session, event)
                consumed(self.group_id, event.type, "processed" if claimed else "duplicate")
                return
            except (ValidationError, PoisonMessage) as exc:
                await self._dead_letter(record, exc, attempts=attempt)
                return
            except TRANSIENT_ERRORS as exc:
                attempt -= 1  # not the event's fault: it keeps all its attempts
                outage += 1
                delay = min(MAX_TRANSIENT_BACKOFF_S, self.backoff_base_s * 2**outage)
                log.warning("database unavailable for %s: %r; retrying in %.2fs", event.type, exc, delay)
                await asyncio.sleep(delay)
            except Exception as exc:
                if attempt >= self.max_attempts:
                    await self._dead_letter(record, exc, attempts=attempt)
                    return
                log.warning("handler for %s failed (attempt %d): %r", event.type, attempt, exc)
                consumed(self.group_id, event.type, "retried")
                await asyncio.sleep(self.backoff_base_s * 2 ** (attempt - 1))

    async def _dead_letter(self, record: ConsumerRecord[bytes, bytes], exc: Exception, attempts: int) -> None:
        log.error("dead-lettering %s[%d]@%d: %r", record.topic, record.partition, record.offset, exc)
        headers = [
            *(record.headers or ()),
            ("x-error-type", type(exc).__name__.encode()),
            ("x-error-message", str(exc)[:2000].encode()),
            ("x-original-topic", record.topic.encode()),
            ("x-original-partition", str(record.partition).encode()),
            ("x-original-offset", str(record.offset).encode()),
            ("x-consumer-group", self.group_id.encode()),
            ("x-attempts", str(attempts).encode()),
        ]
        delay = 0.5
        # The offset must not move past a record that is neither applied nor dead-lettered.
        while not await self.publisher.send_batch(
            [(dlq_topic(record.topic), record.key or b"", record.value or b"", list(headers))]
        ):
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
        dead_lettered(self.group_id, record.topic)
