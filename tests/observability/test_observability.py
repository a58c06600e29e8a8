"""Metrics, traces and the monitoring-as-code files, checked on the running test platform.

Services run in this process (tests/support/platform.py), so counters are read from the shared
registry before and after a known workload; the exposition is also scraped over HTTP, as Prometheus
does, to prove that every metric the dashboard and the alert rules use is exported.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from shared.contracts import CloudEvent
from shared.contracts.sellers import TOPIC as SELLERS_TOPIC
from shared.contracts.sellers import SellerRegisteredV1
from shared.metrics import REGISTRY
from shared.observability import JsonFormatter
from shared.tracing import _LogFields
from tests.support.events import events, produce_events, read_topic
from tests.support.factories import seller_body
from tests.support.platform import Platform
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "k8s" / "monitoring"
METRIC = re.compile(r"\bewtp_[a-z0-9_]+")
CATALOGUE_SELLERS_GROUP = "catalogue.sellers"


def value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


# ---------------------------------------------------------------- dashboards and rules as code


def used_metrics() -> set[str]:
    rules = yaml.safe_load((MONITORING / "alerts.rules.yaml").read_text())
    exprs = [r["expr"] for g in rules["groups"] for r in g["rules"]]
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    exprs += [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    return {m for e in exprs for m in METRIC.findall(e)}


def exported(exposition: str) -> set[str]:
    """Sample names a scrape can return, from the `# TYPE` lines (present before the first sample)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            names |= {
                "counter": {name if name.endswith("_total") else f"{name}_total"},
                "histogram": {f"{name}_bucket", f"{name}_count", f"{name}_sum"},
            }.get(kind, {name})
    return names


def test_alert_rules_are_valid() -> None:
    promtool = shutil.which("promtool")
    rules_file = MONITORING / "alerts.rules.yaml"
    if promtool:
        result = subprocess.run([promtool, "check", "rules", str(rules_file)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        return
    # Without promtool (Debian package `prometheus`): the rule file's shape.
    rules = yaml.safe_load(rules_file.read_text())
    for group in rules["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["rules"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}
            assert rule["alert"] and rule["expr"].strip() and rule["labels"]["severity"] in {"page", "warn"}
            assert re.fullmatch(r"[0-9]+[smhd]", rule.get("for", "0s")) and rule["annotations"]["summary"]


def test_dashboard_panels_all_query_prometheus() -> None:
    dashboard = json.loads((MONITORING / "dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    for panel in dashboard["panels"]:
        assert panel["targets"] and all(METRIC.search(t["expr"]) for t in panel["targets"]), panel["title"]


def test_every_metric_used_is_exported_by_the_platform(platform: Platform) -> None:
    urls = [platform.gateway_url, *(server.url for server in platform.servers.values())]
    scraped: set[str] = set()
    for url in urls:
        response = httpx.get(f"{url}/metrics", timeout=10)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
        scraped |= exported(response.text)
    missing = used_metrics() - scraped
    assert not missing, f"used by k8s/monitoring but exported by no component: {sorted(missing)}"


# ---------------------------------------------------------------- counters equal the workload


async def test_n_requests_are_n_observations(platform: Platform) -> None:
    labels = {"service": "sellers", "method": "GET", "route": "/v1/sellers"}
    gateway = {"service": "gateway", "method": "GET", "route": "forward:sellers"}
    before = value("ewtp_http_requests_total", **labels, status="200")
    before_hist = value("ewtp_http_request_duration_seconds_count", **labels)
    before_gateway = value("ewtp_http_request_duration_seconds_count", **gateway)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        for _ in range(5):
            assert (await officer.get("/v1/sellers", params={"limit": 1})).status_code == 200
    assert value("ewtp_http_requests_total", **labels, status="200") == before + 5
    assert value("ewtp_http_request_duration_seconds_count", **labels) == before_hist + 5
    assert value("ewtp_http_request_duration_seconds_count", **gateway) == before_gateway + 5


async def test_a_poison_event_counts_one_dead_letter(platform: Platform) -> None:
    labels = {"group": CATALOGUE_SELLERS_GROUP, "topic": SELLERS_TOPIC}
    before = value("ewtp_consumer_dead_letters_total", **labels)
    # A CloudEvent of a type catalogue handles, whose data breaks the contract: dead-lettered at once.
    poison = CloudEvent(
        id=str(uuid.uuid4()), source="/tests", type=SellerRegisteredV1.TYPE, subject="x", time=datetime.now(UTC)
    )
    await produce_events(platform.broker.bootstrap, SELLERS_TOPIC, poison)

    async def dead_lettered() -> bool:
        return value("ewtp_consumer_dead_letters_total", **labels) >= before + 1

    await eventually(dead_lettered, what="the poison event in the DLQ counter")
    await asyncio.sleep(0.5)  # a second count would show by now
    assert value("ewtp_consumer_dead_letters_total", **labels) == before + 1


# ---------------------------------------------------------------- one trace across the saga


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.addFilter(_LogFields())
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Capture]:
    capture = Capture()
    loggers = [logging.getLogger(n) for n in ("ewtp.http", "ewtp.consumer.events")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(capture)
        lg.setLevel(logging.DEBUG)
        lg.propagate = False
    yield capture
    for lg, level in zip(loggers, levels, strict=True):
        lg.removeHandler(capture)
        lg.setLevel(level)
        lg.propagate = True


async def test_one_trace_id_from_the_gateway_through_the_event_to_the_consumer(
    platform: Platform, captured: Capture
) -> None:
    trace_id = secrets.token_hex(16)
    headers = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        created = await officer.post("/v1/sellers", json=seller_body(), headers=headers)
    assert created.status_code == 201, created.text
    assert created.headers["traceparent"].split("-")[1] == trace_id
    seller_id = created.json()["id"]

    records = await read_topic(
        platform.broker.bootstrap, SELLERS_TOPIC, lambda rs: any(e.subject == seller_id for e in events(rs))
    )
    event = next(e for e in events(records) if e.subject == seller_id)
    assert (event.model_extra or {})["traceparent"].split("-")[1] == trace_id

    def traced(**match: Any) -> list[logging.LogRecord]:
        return [
            r
            for r in captured.records
            if getattr(r, "trace_id", None) == trace_id and all(getattr(r, k, None) == v for k, v in match.items())
        ]

    async def consumed() -> bool:
        return bool(traced(group=CATALOGUE_SELLERS_GROUP, outcome="processed"))

    await eventually(consumed, what="catalogue's consumer line with the request's trace id")
    assert traced(component="gateway", status=201)
    assert traced(component="sellers", status=201)
    line = json.loads(JsonFormatter("sellers").format(traced(component="sellers")[0]))
    assert line["trace_id"] == trace_id and line["span_id"] and line["principal"]
