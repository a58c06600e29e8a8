"""W3C Trace Context through HTTP, CloudEvents and logs, so one trace id follows a request across a saga.

- The gateway accepts the client's `traceparent` (or starts a trace) and forwards its own span's
  `traceparent` to the service (`TraceMiddleware`, `outgoing_headers()`); a service continues it.
- An event staged in the outbox carries the CloudEvents Distributed Tracing extension (`traceparent`
  attribute, `event_extensions()`); a consumer continues the trace from it (`continue_from_event`).
- Every JSON log line carries `trace_id` and `span_id` (and `principal` when known), through a
  handler filter (`install_log_fields`), so no formatter changes.
- OpenTelemetry export happens only when `OTEL_EXPORTER_OTLP_ENDPOINT` is set and the OpenTelemetry
  SDK is installed (`configure_otlp`); otherwise nothing is exported and nothing is imported.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections.abc import Mapping
from contextvars import ContextVar, Token
from typing import Any, NamedTuple

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "TRACEPARENT",
    "TraceContext",
    "TraceMiddleware",
    "configure_otlp",
    "continue_from_event",
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


def outgoing_headers() -> dict[str, str]:
    """Headers that carry the current span to the next hop."""
    ctx = current()
    return {TRACEPARENT: ctx.traceparent} if ctx else {}


def event_extensions() -> dict[str, str]:
    """CloudEvents Distributed Tracing extension attributes for an event created now."""
    return outgoing_headers()


def continue_from_event(event: Any) -> None:
    """Continue the trace an event carries (or start one) for the rest of this consumer task's work."""
    extra: Mapping[str, Any] = getattr(event, "model_extra", None) or {}
    value = extra.get(TRACEPARENT)
    start(value if isinstance(value, str) else None)


class TraceMiddleware:
    """Continues (or starts) the trace of each HTTP request; the response says which (`traceparent`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not ENABLED or scope["type"] != "http":
            await self.app(scope, receive, send)
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
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed; not exporting")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=endpoint)))
    trace.set_tracer_provider(provider)
    return True
