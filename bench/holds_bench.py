"""Holds benchmark: permit holds through the gateway on one hot date, and the oversell count.

    .venv/bin/python bench/holds_bench.py [--db sqlite|postgres|both] [--seconds 10] [--clients 64]

Starts the Tansu broker, the tourism service and the gateway as uvicorn subprocesses, makes one
offer through the ops API, then, with an aiohttp load generator pinned to one core:

1. a bare ping: the gateway's `/health/live` (no upstream, no database), the yardstick;
2. holds: `POST /v1/tourism/bookings` of 1 permit on one hot date (capacity large enough not to
   sell out during the run) from N concurrent clients: holds/s and p50/p99 latency, through the
   gateway and then straight to the service (signed here as the gateway signs), to show the split;
3. the oversell check: N clients race for a second date with 96 permits until every client has been
   refused; exactly 96 must be held. Then the database is read: on both dates, confirmed plus held
   places must equal the counter and stay within capacity. The oversell count must be 0.

The load generator shares the machine's cores with the servers (and, on a shared machine, with other
people's work): compare the ratio to the ping, not the absolutes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import httpx
import orjson
from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import uvicorn  # noqa: E402
from gateway.keys import create_key_sync  # noqa: E402
from services.tourism.domain import kigali_today  # noqa: E402
from services.tourism.models import Booking, OfferDate  # noqa: E402
from shared.auth import sign_identity  # noqa: E402
from shared.db import Database, utcnow  # noqa: E402
from shared.settings import DEV_SIGNING_SECRET  # noqa: E402
from tests.support.broker import TansuBroker, free_port  # noqa: E402

PG_URL = os.environ.get("EWTP_TEST_PG_URL", "postgresql://127.0.0.1:5432")
HOT_CAPACITY = 1_000_000
CONTENDED_CAPACITY = 96


@dataclass
class Run:
    requests: int
    errors: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(int(len(ordered) * p) - 1, 0)] * 1000


@contextmanager
def pinned_to_one_core() -> Iterator[int]:
    """Run the load generator on one core (the last), leaving the others to the servers."""
    before = os.sched_getaffinity(0)
    core = max(before)
    os.sched_setaffinity(0, {core})
    try:
        yield core
    finally:
        os.sched_setaffinity(0, before)


async def load(method: str, url: str, headers: dict[str, str], body: Any, seconds: float, clients: int, ok: int) -> Run:
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                async with session.request(method, url, json=body) as response:
                    await response.read()
                    if response.status != ok:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Run(len(latencies), errors, elapsed, latencies)


async def load_signed(url: str, path: str, body: Any, seconds: float, clients: int) -> Run:
    """Holds straight to the service, each signed here as the gateway signs it (a fresh nonce each)."""
    raw = orjson.dumps(body)
    latencies: list[float] = []
    errors = 0
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.perf_counter()
        deadline = started + seconds

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                headers = sign_identity(
                    DEV_SIGNING_SECRET.encode(),
                    principal="benchkey",
                    role="traveller_app",
                    subject="bench-app",
                    request_id=str(uuid.uuid4()),
                    method="POST",
                    path=path,
                    body=raw,
                ) | {"content-type": "application/json"}
                t0 = time.perf_counter()
                async with session.post(url, data=raw, headers=headers) as response:
                    await response.read()
                    if response.status != 201:
                        errors += 1
                latencies.append(time.perf_counter() - t0)

        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - started
    return Run(len(latencies), errors, elapsed, latencies)


async def race(url: str, headers: dict[str, str], body: Any, clients: int) -> dict[int, int]:
    """Every client holds until the date refuses it (409); the statuses seen, counted."""
    statuses: dict[int, int] = {}
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            for _ in range(10_000):
                async with session.post(url, json=body) as response:
                    await response.read()
                    statuses[response.status] = statuses.get(response.status, 0) + 1
                    if response.status == 409:
                        return

        await asyncio.gather(*(worker() for _ in range(clients)))
    return statuses


async def ledger(url: str, offer_id: str, day: date) -> tuple[int, int, int]:
    """(capacity, counter, places held or confirmed) of one date, read from the database."""
    db = Database(url)
    try:
        async with db.read() as session:
            row = (
                await session.execute(
                    select(OfferDate.capacity, OfferDate.taken).where(
                        OfferDate.offer_id == offer_id, OfferDate.day == day
                    )
                )
            ).one()
            places = await session.scalar(
                select(func.coalesce(func.sum(Booking.quantity), 0)).where(
                    Booking.offer_id == offer_id,
                    Booking.visit_date == day,
                    Booking.status.in_(("held", "confirmed")),
                )
            )
        return int(row.capacity), int(row.taken), int(places or 0)
    finally:
        await db.dispose()


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_URL}/postgres", user=os.environ.get("PGUSER", "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@contextmanager
def databases(kind: str, tmp: Path) -> Iterator[tuple[str, str]]:
    if kind == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp}/tourism.db", f"sqlite+aiosqlite:///{tmp}/gateway.db"
        return
    tag = uuid.uuid4().hex[:8]
    names = [f"ewtp_bench_tourism_{tag}", f"ewtp_bench_gateway_{tag}"]
    for name in names:
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        yield f"{base}/{names[0]}", f"{base}/{names[1]}"
    finally:
        for name in names:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def offer(offer_id: str, capacity: int) -> dict[str, Any]:
    return {
        "id": offer_id,
        "kind": "gorilla_permit",
        "name": "Mountain gorilla trekking permit (bench)",
        "place": "Volcanoes National Park",
        "currency": "USD",
        "prices": {"foreign_non_resident": "1500", "foreign_resident": "500", "eac_citizen": "200", "rwandan": "200"},
        "minimum_age": 15,
        "cancellation": [
            {"min_days_before": 30, "refund_percent": "80"},
            {"min_days_before": 0, "refund_percent": "0"},
        ],
        "reschedule": {"min_days_before": 30},
        "default_capacity": capacity,
        "max_quantity": 8,
    }


def hold(offer_id: str, day: date) -> dict[str, Any]:
    traveller = {
        "name": "Amina Uwase",
        "nationality": "GB",
        "visitor_category": "foreign_non_resident",
        "date_of_birth": "1990-05-17",
    }
    return {"offer_id": offer_id, "visit_date": day.isoformat(), "quantity": 1, "travellers": [traveller]}


def line(label: str, run: Run, ping: Run | None) -> str:
    ratio = f"   {run.rate / ping.rate:5.2f}x ping" if ping else ""
    return (
        f"  {label:<34} {run.rate:>8,.0f} /s   p50 {run.percentile(0.5):6.1f} ms   "
        f"p99 {run.percentile(0.99):6.1f} ms   errors {run.errors}{ratio}"
    )


def run_db(kind: str, broker: TansuBroker, tmp: Path, seconds: float, clients: int) -> int:
    """Bench one database; returns the oversell count."""
    with databases(kind, tmp) as (tourism_db, gateway_db):
        ops = create_key_sync(gateway_db, name="bench ops", role="ops")
        app = create_key_sync(gateway_db, name="bench app", role="traveller_app", subject_id="bench-app")
        tourism_port, gateway_port = free_port(), free_port()
        tourism_env = {
            "TOURISM_DATABASE_URL": tourism_db,
            "TOURISM_KAFKA_BOOTSTRAP": broker.bootstrap,
            "TOURISM_LOG_LEVEL": "WARNING",
            "TOURISM_SEED_OFFERS": "false",
        }
        gateway_env = {
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_TOURISM_URL": f"http://127.0.0.1:{tourism_port}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # Limits stay on (their cost is part of the path) but high enough never to refuse.
            "GATEWAY_RATE_LIMIT_OPS": "10000000/minute",
            "GATEWAY_RATE_LIMIT_TRAVELLER_APP": "10000000/minute",
        }
        with (
            uvicorn("services.tourism.app:create_app", tourism_port, tourism_env, tmp / f"tourism-{kind}.log"),
            uvicorn("gateway.app:create_app", gateway_port, gateway_env, tmp / f"gateway-{kind}.log"),
        ):
            gateway = f"http://127.0.0.1:{gateway_port}"
            hot_id, contended_id = f"bench-hot-{kind}", f"bench-96-{kind}"
            for offer_id, capacity in ((hot_id, HOT_CAPACITY), (contended_id, CONTENDED_CAPACITY)):
                made = httpx.post(
                    f"{gateway}/v1/tourism/offers",
                    json=offer(offer_id, capacity),
                    headers={"Authorization": f"Bearer {ops}"},
                )
                made.raise_for_status()
            day = kigali_today(utcnow()) + timedelta(days=45)
            auth = {"Authorization": f"Bearer {app}"}
            url = f"{gateway}/v1/tourism/bookings"
            with pinned_to_one_core() as core:
                print(
                    f"{kind}: {os.cpu_count()} CPUs, load generator on core {core}, {clients} clients, {seconds:.0f} s"
                )
                # Warm both paths (connections, the first counter row) before measuring.
                asyncio.run(load("GET", f"{gateway}/health/live", {}, None, 1, clients, 200))
                asyncio.run(load("POST", url, auth, hold(hot_id, day), 1, clients, 201))
                ping = asyncio.run(load("GET", f"{gateway}/health/live", {}, None, seconds, clients, 200))
                holds = asyncio.run(load("POST", url, auth, hold(hot_id, day), seconds, clients, 201))
                direct_url = f"http://127.0.0.1:{tourism_port}/v1/tourism/bookings"
                direct = asyncio.run(
                    load_signed(direct_url, "/v1/tourism/bookings", hold(hot_id, day), seconds, clients)
                )
                statuses = asyncio.run(race(url, auth, hold(contended_id, day), clients))
            print(line("gateway /health/live (bare ping)", ping, None))
            print(line("hold 1 permit, one hot date", holds, ping))
            print(line("the same, straight to the service", direct, ping))
            won = statuses.get(201, 0)
            print(f"  race for {CONTENDED_CAPACITY} permits: statuses {dict(sorted(statuses.items()))}")
            oversell = max(won - CONTENDED_CAPACITY, 0)
            for offer_id in (hot_id, contended_id):
                capacity, counter, places = asyncio.run(ledger(tourism_db, offer_id, day))
                print(f"  {offer_id}: capacity {capacity}, counter {counter}, held or confirmed {places}")
                oversell += max(places - capacity, 0) + abs(counter - places)
            print(f"  oversell count: {oversell}")
            return oversell


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=64)
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    with tempfile.TemporaryDirectory(prefix="ewtp-holds-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        try:
            oversold = sum(run_db(kind, broker, tmp, args.seconds, args.clients) for kind in kinds)
        finally:
            broker.stop()
    if oversold:
        raise SystemExit(f"OVERSOLD: {oversold}")


if __name__ == "__main__":
    main()
