"""Prometheus metrics every service and the gateway export on `GET /metrics` (unsigned, like health).

One registry per process (a service runs alone in its process in production; the test platform
runs several in one, hence the `service` label). Label values are bounded: route *templates*, never
raw paths or ids; consumer groups, topics, event types and partitions are finite by construction.

- HTTP: `ewtp_http_requests_total` and `ewtp_http_request_duration_seconds` by service, method, route
  template and status; `ewtp_idempotency_replays_total` (a response replayed from an Idempotency-Key).
- Outbox (read at scrape time): `ewtp_outbox_backlog`, `ewtp_outbox_oldest_age_seconds`.
- Consumers: `ewtp_consumer_events_total` by group, type, outcome (processed, duplicate, retried,
  dead_lettered), `ewtp_consumer_dead_letters_total`, `ewtp_consumer_lag` by group, topic, partition.
- Gateway: `ewtp_gateway_upstream_errors_total` by upstream and kind, `ewtp_gateway_rate_limited_total`
  by role.
- Domain gauges a service registers (`register_gauge`), read at scrape time.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import QueryableAttribute
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.db import Database
from shared.observability import service_var
from shared.tables import outbox_table

__all__ = [
    "CONSUMER_DEAD_LETTERS",
    "CONSUMER_EVENTS",
    "CONSUMER_LAG",
    "GATEWAY_RATE_LIMITED",
    "GATEWAY_UPSTREAM_ERRORS",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "IDEMPOTENCY_REPLAYS",
    "METRICS_PATH",
    "REGISTRY",
    "SAGAS_OVERDUE",
    "HttpMetricsMiddleware",
    "consumed",
    "dead_lettered",
    "metrics_route",
    "record_lag",
    "count_rows",
    "register_gauge",
]

log = logging.getLogger("ewtp.metrics")
#: One line per request and per consumed event, at DEBUG (off unless asked for): an access log.
log_http = logging.getLogger("ewtp.http")
log_events = logging.getLogger("ewtp.consumer.events")

METRICS_PATH = "/metrics"
#: `EWTP_OBSERVABILITY=off` makes the HTTP metrics and trace middlewares pass through (the benchmark's
#: baseline); consumer and outbox metrics stay on (their cost is per event, not per request).
ENABLED = os.environ.get("EWTP_OBSERVABILITY", "on").strip().lower() != "off"
REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

#: Seconds; from a cached read (1 ms) to a slow snapshot stream (10 s).
LATENCY_BUCKETS = (0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "ewtp_http_requests", "HTTP requests answered.", ["service", "method", "route", "status"], registry=REGISTRY
)
HTTP_DURATION = Histogram(
    "ewtp_http_request_duration_seconds",
    "Time to answer an HTTP request (to the last body byte).",
    ["service", "method", "route"],
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
IDEMPOTENCY_REPLAYS = Counter(
    "ewtp_idempotency_replays",
    "Responses replayed for a repeated Idempotency-Key.",
    ["service", "route"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge("ewtp_outbox_backlog", "Outbox rows not yet published.", ["service"], registry=REGISTRY)
OUTBOX_OLDEST_AGE = Gauge(
    "ewtp_outbox_oldest_age_seconds",
    "Age of the oldest unpublished outbox row (0 when none).",
    ["service"],
    registry=REGISTRY,
)
CONSUMER_EVENTS = Counter(
    "ewtp_consumer_events",
    "Events seen by a consumer group, by outcome.",
    ["group", "type", "outcome"],
    registry=REGISTRY,
)
CONSUMER_DEAD_LETTERS = Counter(
    "ewtp_consumer_dead_letters", "Records sent to a dead-letter topic.", ["group", "topic"], registry=REGISTRY
)
CONSUMER_LAG = Gauge(
    "ewtp_consumer_lag",
    "Records behind the partition's high watermark.",
    ["group", "topic", "partition"],
    registry=REGISTRY,
)
GATEWAY_UPSTREAM_ERRORS = Counter(
    "ewtp_gateway_upstream_errors", "Requests the gateway could not forward.", ["upstream", "kind"], registry=REGISTRY
)
GATEWAY_RATE_LIMITED = Counter(
    "ewtp_gateway_rate_limited", "Requests refused for a key over its role's rate limit.", ["role"], registry=REGISTRY
)

SAGAS_OVERDUE = Gauge(
    "ewtp_saga_overdue",
    "Saga instances still pending past their deadline (a service registers its collector).",
    ["service", "saga"],
    registry=REGISTRY,
)

#: The route label of a request that matched no route (404s must not mint one label per path).
UNMATCHED = "unmatched"

Collect = Callable[[], Awaitable[Mapping[tuple[str, ...], float]]]
#: Domain gauges by (service, id of the app's Database): each app's /metrics refreshes only its own, so
#: an app built but never started (tests, manifest generation) cannot take over a running one's gauges.
_domain: dict[tuple[str, int], list[tuple[Gauge, Collect]]] = {}


def register_gauge(
    service: str, db: Database, name: str, documentation: str, labels: Sequence[str], collect: Collect
) -> Gauge:
    """A domain gauge (`ewtp_<name>`, labels `service` + `labels`), set from `collect()` at every scrape.

    `collect` returns {label values: value}; label values must come from a finite set (states, not ids).
    """
    full = f"ewtp_{name}"
    existing = REGISTRY._names_to_collectors.get(full)  # noqa: SLF001 - one gauge per name across services
    gauge = (
        existing if isinstance(existing, Gauge) else Gauge(full, documentation, ["service", *labels], registry=REGISTRY)
    )
    key = (service, id(db))
    _domain[key] = [(g, c) for g, c in _domain.get(key, []) if g is not gauge] + [(gauge, collect)]
    return gauge


#: Seconds a domain count is reused: scrapes (every 15 s or so, by several Prometheus replicas) never
#: cost more than one count per interval.
DOMAIN_CACHE_S = 5.0


def count_rows(
    db: Database,
    *,
    where: Callable[[], Sequence[ColumnElement[bool]]] = lambda: (),
    by: ColumnElement[Any] | QueryableAttribute[Any] | None = None,
) -> Collect:
    """A `Collect` counting rows (grouped `by` a state column, or one total), cached for `DOMAIN_CACHE_S`.

    `where()` is called at each count (a condition on "now" is evaluated then).

    Give it a `where`/`by` an index serves (state columns are indexed in every service), so a count is
    an index scan, and at most one per cache interval whatever the scrape rate.
    """
    cached: tuple[float, dict[tuple[str, ...], float]] | None = None

    async def collect() -> Mapping[tuple[str, ...], float]:
        nonlocal cached
        now = time.monotonic()
        if cached is not None and now - cached[0] < DOMAIN_CACHE_S:
            return cached[1]
        columns: list[ColumnElement[Any] | QueryableAttribute[Any]] = [by] if by is not None else []
        stmt = select(*columns, func.count()).where(*where())
        if by is not None:
            stmt = stmt.group_by(by)
        async with db.read() as session:
            rows = (await session.execute(stmt)).all()
        values = {tuple(str(v) for v in row[:-1]): float(row[-1]) for row in rows}
        if by is None and not values:
            values = {(): 0.0}
        if cached is not None:  # a state that emptied reads 0, not its last count
            values = dict.fromkeys(cached[1], 0.0) | values
        cached = (now, values)
        return values

    return collect


def consumed(group: str, event_type: str, outcome: str) -> None:
    CONSUMER_EVENTS.labels(group, event_type, outcome).inc()
    # At DEBUG: the consumer's own line of the trace (shared/tracing.py adds trace_id to it).
    log_events.debug("%s %s", event_type, outcome, extra={"group": group, "event_type": event_type, "outcome": outcome})


def dead_lettered(group: str, topic: str) -> None:
    CONSUMER_DEAD_LETTERS.labels(group, topic).inc()


def record_lag(group: str, topic: str, partition: int, highwater: int | None, next_offset: int) -> None:
    if highwater is not None:
        CONSUMER_LAG.labels(group, topic, str(partition)).set(max(0, highwater - next_offset))


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED


class HttpMetricsMiddleware:
    """Counts and times every HTTP request by route template; `route_of` overrides the template."""

    def __init__(self, app: ASGIApp, service: str, route_of: Callable[[Scope], str | None] | None = None) -> None:
        self.app = app
        self.service = service
        self.route_of = route_of
        # Bound children per (method, route, status): `.labels()` on every request costs more than the count.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Every log line of this request names this app (several share one process in the tests).
        token = service_var.set(self.service)
        try:
            await self._call(scope, receive, send)
        finally:
            service_var.reset(token)

    async def _call(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not ENABLED or scope["type"] != "http" or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500
        replayed = False

        async def observe(message: Message) -> None:
            nonlocal status, replayed
            if message["type"] == "http.response.start":
                status = message["status"]
                replayed = any(k.lower() == b"idempotent-replayed" for k, _ in message.get("headers", ()))
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            route = (self.route_of(scope) if self.route_of else None) or route_template(scope)
            method = scope["method"] if route != UNMATCHED else "other"
            children = self._children.get((method, route, status))
            if children is None:
                children = (
                    HTTP_REQUESTS.labels(self.service, method, route, str(status)),
                    HTTP_DURATION.labels(self.service, method, route),
                )
                self._children[(method, route, status)] = children
            children[0].inc()
            children[1].observe(time.perf_counter() - started)
            if replayed:
                IDEMPOTENCY_REPLAYS.labels(self.service, route).inc()
            if log_http.isEnabledFor(logging.DEBUG):
                extra = {"component": self.service, "route": route, "status": status}
                log_http.debug("%s %s %d", scope["method"], route, status, extra=extra)
            if status == 429:
                principal = scope.get("state", {}).get("principal")
                role = getattr(getattr(principal, "role", None), "value", None)
                GATEWAY_RATE_LIMITED.labels(role or "unknown").inc()


async def _outbox(service: str, db: Database) -> None:
    async with db.read() as session:
        stmt = select(func.count(), func.min(outbox_table.c.created_at)).where(outbox_table.c.published_at.is_(None))
        count, oldest = (await session.execute(stmt)).one()
    OUTBOX_BACKLOG.labels(service).set(count)
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    OUTBOX_OLDEST_AGE.labels(service).set((datetime.now(UTC) - oldest).total_seconds() if oldest else 0.0)


async def _domain_gauges(service: str, db: Database | None) -> None:
    for gauge, collect in _domain.get((service, id(db)), []) if db is not None else []:
        for labels, value in (await collect()).items():
            gauge.labels(service, *labels).set(value)


def metrics_route(service: str, db: Database | None = None) -> Route:
    """`GET /metrics`: refresh the scrape-time gauges of `service` (bounded by a timeout), then expose."""

    async def metrics(_request: Request) -> Response:
        refresh = [_domain_gauges(service, db)] + ([_outbox(service, db)] if db is not None else [])
        for job in refresh:
            try:
                await asyncio.wait_for(job, timeout=2.0)
            except Exception as exc:  # a metric read never fails the scrape: the gauge keeps its last value
                log.warning("metrics refresh failed: %r", exc)
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)

    return Route(METRICS_PATH, metrics, methods=["GET"], include_in_schema=False)
