"""W3C Trace Context through HTTP, CloudEvents and logs, so one trace id follows a request across a saga.

- The gateway accepts the client's `traceparent` (or starts a trace) and forwards its own span's
  `traceparent` to the service (`TraceMiddleware`, `outgoing_headers()`); a service continues it.
- An event staged in the outbox carries the CloudEvents Distributed Tracing extension (`traceparent`
  attribute, `event_extensions()`); a consumer continues the trace from it (`continue_from_event`).
- Every JSON log line carries `trace_id` and `span_id` (and `principal` when known), through a
  handler filter (`install_log_fields`), so no formatter changes.
- OpenTelemetry export happens only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (`configure_otlp`,
  called by every app): then each HTTP request is a SERVER span, each event staged in the outbox a
  PRODUCER span (child of the request's span; its id is the event's `traceparent`), and each handled
  event a CONSUMER span (child of that producer span), all with the ids this module propagates.
  Otherwise `_tracer` is None, the SDK is never imported, and a span costs one `is None` test.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any, NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.observability import service_var

__all__ = [
    "TRACEPARENT",
    "TraceContext",
    "TraceMiddleware",
    "configure_otlp",
    "continue_from_event",
    "event_span",
    "use_span_processor",
    "current",
    "event_extensions",
    "install_log_fields",
    "outgoing_headers",
    "start",
]

log = logging.getLogger("ewtp.tracing")

TRACEPARENT = "traceparent"
_PATTERN = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_PRINCIPAL_HEADER = b"x-ewtp-principal"
#: `EWTP_OBSERVABILITY=off`: requests start no trace (the benchmark's baseline; see shared/metrics.py).
ENABLED = os.environ.get("EWTP_OBSERVABILITY", "on").strip().lower() != "off"


def _hex(bits: int) -> str:
    """A random id (W3C asks for randomness, not secrecy; the `random` module avoids a syscall per id)."""
    return f"{random.getrandbits(bits) or 1:0{bits // 4}x}"


class TraceContext(NamedTuple):
    trace_id: str
    span_id: str
    flags: str = "01"

    @property
    def traceparent(self) -> str:
        return f"00-{self.trace_id}-{self.span_id}-{self.flags}"

    def child(self) -> TraceContext:
        return TraceContext(self.trace_id, _hex(64), self.flags)


_current: ContextVar[TraceContext | None] = ContextVar("trace", default=None)
_principal: ContextVar[str | None] = ContextVar("principal", default=None)


def parse(value: str | None) -> TraceContext | None:
    """A valid version-00 `traceparent`, or None (all-zero ids are invalid by the spec)."""
    match = _PATTERN.match((value or "").strip().lower())
    if not match or set(match[1]) == {"0"} or set(match[2]) == {"0"}:
        return None
    return TraceContext(match[1], match[2], match[3])


def new_trace() -> TraceContext:
    return TraceContext(_hex(128), _hex(64))


def current() -> TraceContext | None:
    return _current.get()


def start(incoming: str | None) -> Token[TraceContext | None]:
    """Enter a new span: a child of `incoming` when it is a valid traceparent, else a new trace."""
    parent = parse(incoming)
    return _current.set(parent.child() if parent else new_trace())


# ---------------------------------------------------------------- OpenTelemetry export (off by default)

#: The SDK tracer when export is configured; None (and the SDK not imported) otherwise.
_tracer: Any = None
#: The consumer span of the event being handled (ended by `event_span`).
_event_span: ContextVar[Any] = ContextVar("event_span", default=None)


def _otel_start(name: str, kind: str, parent: TraceContext | None, service: str | None) -> tuple[Any, TraceContext]:
    """An SDK span (`kind`: SERVER, PRODUCER, CONSUMER) child of `parent`, and its context as ours."""
    from opentelemetry import trace
    from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

    context = None
    if parent is not None:
        remote = SpanContext(int(parent.trace_id, 16), int(parent.span_id, 16), True, TraceFlags(int(parent.flags, 16)))
        context = trace.set_span_in_context(NonRecordingSpan(remote))
    attributes = {"ewtp.service": service} if service else None
    span = _tracer.start_span(name, context=context, kind=getattr(SpanKind, kind), attributes=attributes)
    ids = span.get_span_context()
    return span, TraceContext(f"{ids.trace_id:032x}", f"{ids.span_id:016x}", f"{int(ids.trace_flags):02x}")


def use_span_processor(processor: Any, service: str = "ewtp") -> None:
    """Export spans through `processor` (an SDK SpanProcessor; None stops exporting). Tests use an
    in-memory exporter; `configure_otlp` an OTLP one."""
    global _tracer
    if processor is None:
        _tracer = None
        return
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(processor)
    _tracer = provider.get_tracer("ewtp")


def outgoing_headers() -> dict[str, str]:
    """Headers that carry the current span to the next hop."""
    ctx = current()
    return {TRACEPARENT: ctx.traceparent} if ctx else {}


def event_extensions(event_type: str = "event") -> dict[str, str]:
    """CloudEvents Distributed Tracing extension attributes for an event created now (when exporting,
    the event's own PRODUCER span, a child of the current span)."""
    if _tracer is None:
        return outgoing_headers()
    span, ctx = _otel_start(f"{event_type} publish", "PRODUCER", current(), service_var.get())
    span.end()
    return {TRACEPARENT: ctx.traceparent}


def continue_from_event(event: Any) -> None:
    """Continue the trace an event carries (or start one) for the rest of this consumer task's work
    (when exporting, in a CONSUMER span that the enclosing `event_span()` ends)."""
    extra: Mapping[str, Any] = getattr(event, "model_extra", None) or {}
    value = extra.get(TRACEPARENT)
    if _tracer is None:
        start(value if isinstance(value, str) else None)
        return
    parent = parse(value if isinstance(value, str) else None)
    span, ctx = _otel_start(f"{getattr(event, 'type', 'event')} process", "CONSUMER", parent, service_var.get())
    _current.set(ctx)
    _event_span.set(span)


@contextmanager
def event_span() -> Iterator[None]:
    """Around the handling of one event: ends the CONSUMER span `continue_from_event` opened in it."""
    if _tracer is None:
        yield
        return
    token = _event_span.set(None)
    try:
        yield
    finally:
        span = _event_span.get()
        _event_span.reset(token)
        if span is not None:
            span.end()


class TraceMiddleware:
    """Continues (or starts) the trace of each HTTP request; the response says which (`traceparent`)."""

    def __init__(self, app: ASGIApp, service: str | None = None) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not ENABLED or scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if _tracer is not None:
            await self._exported(scope, receive, send)
            return
        incoming = None
        principal = None
        for key, value in scope["headers"]:
            if key == b"traceparent":
                incoming = value.decode("latin-1")
            elif key == _PRINCIPAL_HEADER:
                principal = value.decode("latin-1")[:200]
        token = start(incoming)
        principal_token = _principal.set(principal)
        header = (b"traceparent", _current.get().traceparent.encode())  # type: ignore[union-attr]

        async def send_with_trace(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            _principal.reset(principal_token)
            _current.reset(token)

    async def _exported(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The same, in an exported SERVER span named by the route template once it is known."""
        incoming = None
        principal = None
        for key, value in scope["headers"]:
            if key == b"traceparent":
                incoming = value.decode("latin-1")
            elif key == _PRINCIPAL_HEADER:
                principal = value.decode("latin-1")[:200]
        method = scope["method"]
        span, ctx = _otel_start(method, "SERVER", parse(incoming), self.service or service_var.get())
        token = _current.set(ctx)
        principal_token = _principal.set(principal)
        header = (b"traceparent", ctx.traceparent.encode())
        status = 500

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_trace)
        finally:
            route = getattr(scope.get("route"), "path", None)
            span.update_name(f"{method} {route}" if isinstance(route, str) else method)
            span.set_attribute("http.request.method", method)
            span.set_attribute("http.response.status_code", status)
            if isinstance(route, str):
                span.set_attribute("http.route", route)
            span.end()
            _principal.reset(principal_token)
            _current.reset(token)


def set_principal(principal: str | None) -> None:
    """For the gateway, which learns the principal from the API key after the trace has started."""
    _principal.set(principal)


class _LogFields(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _current.get()
        if ctx is not None:
            record.trace_id = ctx.trace_id
            record.span_id = ctx.span_id
        principal = _principal.get()
        if principal:
            record.principal = principal
        service = service_var.get()
        if service:
            record.service = service
        return True


def install_log_fields() -> None:
    """Add trace and principal fields to every record the root handlers write."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, _LogFields) for f in handler.filters):
            handler.addFilter(_LogFields())


def configure_otlp(service: str) -> bool:
    """Export spans over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set; True when export is on."""
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if not endpoint:
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed; not exporting")
        return False
    # No `endpoint=` argument: the exporter reads the OTEL_EXPORTER_OTLP_* variables itself (and adds
    # `/v1/traces` to the base endpoint, which an explicit argument would not).
    use_span_processor(BatchSpanProcessor(OTLPSpanExporter()), service)
    return True
