"""One Kafka producer per process, shared by the outbox relay and the consumers' dead-letter path.

Tansu (the embedded broker) has no idempotent producer, so the producer runs with acks=all and
without idempotence; exactly-once *effect* comes from the outbox and the consumers' inbox. Topics are
created explicitly and idempotently, as production Kafka runs with auto-create off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Iterable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError

__all__ = ["KafkaPublisher", "broker_reachable", "ensure_topics"]

log = logging.getLogger("ewtp.kafka")

DEFAULT_PARTITIONS = 3


def broker_reachable(bootstrap: str, timeout_s: float = 1.0) -> bool:
    """A cheap TCP check of the first bootstrap address, for readiness probes."""
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    try:
        with socket.create_connection((host or "127.0.0.1", int(port)), timeout=timeout_s):
            return True
    except OSError:
        return False


async def ensure_topics(bootstrap: str, topics: Iterable[str], partitions: int = DEFAULT_PARTITIONS) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t, partitions, 1) for t in topics if t not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


class KafkaPublisher:
    """A lazily (re)started producer: a broker that is down makes `send_batch` raise, never hang."""

    def __init__(self, bootstrap: str, topics: Sequence[str] = ()) -> None:
        self.bootstrap = bootstrap
        self.topics = list(topics)
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                if self.topics:
                    await ensure_topics(self.bootstrap, self.topics)
                producer = AIOKafkaProducer(
                    bootstrap_servers=self.bootstrap,
                    acks="all",
                    enable_idempotence=False,
                    linger_ms=2,
                    request_timeout_ms=10_000,
                    max_batch_size=1_048_576,
                )
                try:
                    await producer.start()
                except BaseException:
                    await producer.stop()
                    raise
                self._producer = producer
            return self._producer

    async def reset(self) -> None:
        async with self._lock:
            producer, self._producer = self._producer, None
        if producer is not None:
            try:
                await producer.stop()
            except KafkaError:
                log.warning("producer stop failed", exc_info=True)

    async def send_batch(self, records: Sequence[tuple[str, bytes, bytes, list[tuple[str, bytes]]]]) -> int:
        """Send (topic, key, value, headers) records in order; return how many were acknowledged.

        Records are sent in order and acknowledged in order; on the first failure the rest are
        abandoned and the producer is reset, so the caller retries from that record on.
        """
        producer = await self._ensure()
        futures = []
        sent = 0
        try:
            for topic, key, value, headers in records:
                futures.append(await producer.send(topic, value=value, key=key, headers=headers))
            for fut in futures:
                await fut
                sent += 1
        except (TimeoutError, KafkaError, OSError):
            log.warning("publish failed after %d of %d records", sent, len(records), exc_info=True)
            for fut in futures[sent:]:
                fut.cancel()
            await self.reset()
        return sent

    async def stop(self) -> None:
        await self.reset()
