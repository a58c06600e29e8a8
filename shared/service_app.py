"""The application factory every service uses, so they all start, stop and answer the same way.

Lifespan: migrate (embedded runtime), start the outbox relay, the consumers and the platform-table
pruner (shared/retention.py) as tasks, and on shutdown cancel them, stop the producer and close the
database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from shared.auth import SignedIdentityMiddleware
from shared.consumer import EventConsumer, Handler
from shared.db import Database
from shared.errors import ServiceUnavailable, install_problem_handlers
from shared.health import health_router
from shared.http import BodyLimitMiddleware, NulGuardMiddleware
from shared.kafka import KafkaPublisher, broker_reachable
from shared.metrics import HttpMetricsMiddleware, metrics_route
from shared.migrations import upgrade_to_head
from shared.observability import configure_logging, service_var
from shared.openapi import add_problem_responses
from shared.outbox import OutboxRelay
from shared.periodic import run_periodically
from shared.retention import RetentionPolicy, prune_platform_tables
from shared.settings import ServiceSettings
from shared.tracing import TraceMiddleware, configure_otlp, install_log_fields

__all__ = ["ConsumerSpec", "ServiceParts", "create_service_app"]


@dataclass(frozen=True)
class ConsumerSpec:
    group_id: str
    topics: Sequence[str]
    handlers: dict[str, Handler]


@dataclass
class ServiceParts:
    """What a running service holds; reachable as `app.state.parts` (tests use it too)."""

    settings: ServiceSettings
    db: Database
    publisher: KafkaPublisher
    relay: OutboxRelay
    consumers: list[EventConsumer] = field(default_factory=list)


def create_service_app(
    *,
    title: str,
    settings: ServiceSettings,
    migrations: Path,
    routers: Sequence[APIRouter],
    topics: Sequence[str] = (),
    consumers: Sequence[ConsumerSpec] = (),
    background: Sequence[Callable[[ServiceParts], Coroutine[Any, Any, None]]] = (),
    retention: RetentionPolicy = RetentionPolicy(),
) -> FastAPI:
    """A service app; `background` are the service's own long-running tasks (run beside the relay)."""
    configure_logging(settings.service_name, settings.log_level)
    install_log_fields()
    configure_otlp(settings.service_name)
    db = Database(settings.database_url)
    publisher = KafkaPublisher(settings.kafka_bootstrap, topics)
    relay = OutboxRelay(db, publisher, settings.outbox_poll_interval_s)
    parts = ServiceParts(settings=settings, db=db, publisher=publisher, relay=relay)
    for spec in consumers:
        parts.consumers.append(
            EventConsumer(
                db=db,
                publisher=publisher,
                bootstrap=settings.kafka_bootstrap,
                group_id=spec.group_id,
                topics=spec.topics,
                handlers=spec.handlers,
                max_attempts=settings.consumer_max_attempts,
                backoff_base_s=settings.consumer_backoff_base_s,
                fetch_max_wait_ms=settings.consumer_fetch_max_wait_ms,
            )
        )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.run_migrations:
            await upgrade_to_head(migrations, settings.database_url)
        service_var.set(settings.service_name)  # copied by every task below: their log lines name this app
        tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
        tasks += [asyncio.create_task(c.run(), name=f"consumer-{c.group_id}") for c in parts.consumers]
        tasks += [asyncio.create_task(run(parts), name=getattr(run, "__name__", "task")) for run in background]
        if retention.interval_s > 0:
            prune = run_periodically(
                "platform-table pruning", retention.interval_s, lambda: prune_platform_tables(db, retention)
            )
            tasks.append(asyncio.create_task(prune, name="platform-retention"))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            await publisher.stop()
            await db.dispose()

    # Services never redirect: a 307 to `/v1/x` would carry the internal address in `location`.
    app = FastAPI(title=title, lifespan=lifespan, redirect_slashes=False)
    app.state.db = db
    app.state.parts = parts
    install_problem_handlers(app)

    async def broker() -> None:
        if not await asyncio.to_thread(broker_reachable, settings.kafka_bootstrap):
            raise ServiceUnavailable("broker unreachable")

    app.include_router(health_router({"database": db.ping, "broker": broker}))
    app.router.routes.append(metrics_route(settings.service_name, db))
    for router in routers:
        app.include_router(router)
    add_problem_responses(app)
    app.add_middleware(NulGuardMiddleware)  # inside the identity check: an unsigned request is still a 401
    app.add_middleware(
        SignedIdentityMiddleware,
        secret=settings.verification_secrets(),
        max_age_s=settings.signature_max_age_s,
    )
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(HttpMetricsMiddleware, service=settings.service_name)
    app.add_middleware(TraceMiddleware, service=settings.service_name)
    return app
