"""OpenTelemetry export: spans linked across the gateway, a producing and a consuming service.

An in-memory span exporter stands in for the collector (no network); the platform is the real one.
With no endpoint configured the SDK is not even imported (the default in every other test).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared import tracing
from tests.observability.test_observability import CATALOGUE_SELLERS_GROUP
from tests.support.factories import seller_body
from tests.support.platform import Platform
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    memory = InMemorySpanExporter()
    tracing.use_span_processor(SimpleSpanProcessor(memory))
    yield memory
    tracing.use_span_processor(None)


def service(span: ReadableSpan) -> Any:
    return (span.attributes or {}).get("ewtp.service")


async def test_one_request_exports_linked_spans_across_two_services(
    platform: Platform, exporter: InMemorySpanExporter
) -> None:
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        created = await officer.post("/v1/sellers", json=seller_body())
    assert created.status_code == 201, created.text
    trace_id = int(created.headers["traceparent"].split("-")[1], 16)

    def spans() -> list[ReadableSpan]:
        return [s for s in exporter.get_finished_spans() if s.context is not None and s.context.trace_id == trace_id]

    async def consumed() -> list[ReadableSpan] | None:
        found = [s for s in spans() if s.kind is SpanKind.CONSUMER and service(s) == "catalogue"]
        return found or None

    consumer = (await eventually(consumed, what="catalogue's consumer span"))[0]
    by_id = {s.context.span_id: s for s in spans() if s.context is not None}

    def parent(span: ReadableSpan) -> ReadableSpan:
        assert span.parent is not None, span.name
        return by_id[span.parent.span_id]

    producer = parent(consumer)
    assert producer.kind is SpanKind.PRODUCER and service(producer) == "sellers"
    assert producer.name.endswith(" publish")
    server = parent(producer)
    assert server.kind is SpanKind.SERVER and service(server) == "sellers"
    assert server.name == "POST /v1/sellers" and (server.attributes or {})["http.response.status_code"] == 201
    gateway = parent(server)
    assert gateway.kind is SpanKind.SERVER and service(gateway) == "gateway"
    assert consumer.name.endswith(" process") and CATALOGUE_SELLERS_GROUP.startswith(service(consumer))


def test_without_an_endpoint_the_sdk_is_not_even_imported() -> None:
    code = (
        "import sys; from services.orders.app import create_app; from gateway.app import create_app as gw; "
        "create_app(); gw(); "
        "assert not [m for m in sys.modules if m.startswith('opentelemetry.sdk')], 'SDK imported'; "
        "from shared import tracing; assert tracing._tracer is None"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    assert result.returncode == 0, result.stderr[-2000:]
