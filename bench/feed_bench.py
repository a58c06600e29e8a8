"""Feed benchmark: the full JSON-lines snapshot and the delta, pulled through the gateway.

    .venv/bin/python bench/feed_bench.py [--sizes 10000 100000] [--db sqlite|postgres]

For each size it seeds that many published listings straight into a fresh catalogue database (bulk
inserts through the catalogue's models, not HTTP), starts the Tansu broker, the catalogue service and
the gateway as uvicorn subprocesses, then:
- pulls the whole snapshot through the gateway with a marketplace key (a few rounds) and once
  straight from the catalogue (gateway-signed headers made here), printing listings per second;
- samples the catalogue process's resident memory (VmRSS from /proc, every 20 ms) before and during
  the pulls, and reads its VmHWM, so one can see whether memory grows with the catalogue's size;
- appends 1,000 change-log rows and times pulling them through `GET /v1/feeds/listings/changes`.

It prints figures only; it never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
from sqlalchemy import insert

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import RssSampler, rss_kb, uvicorn  # noqa: E402
from gateway.keys import create_key_sync  # noqa: E402
from services.catalogue.models import Listing, ListingChange, SellerProjection  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade_to_head  # noqa: E402
from tests.support.broker import TansuBroker, free_port  # noqa: E402
from tests.support.signing import GatewaySigner  # noqa: E402

MIGRATIONS = ROOT / "services" / "catalogue" / "migrations"
PG_URL = os.environ.get("EWTP_TEST_PG_URL", "postgresql://127.0.0.1:5432")
SELLERS = 200
BATCH = 5_000
DELTA_ROWS = 1_000
ROUNDS = 3


# ----------------------------------------------------------------------------------------- seeding

DESCRIPTION = (
    "Fully washed Red Bourbon from smallholders around the Huye Mountain washing station, grown at "
    "1,700 to 2,000 m, sun-dried on raised beds for 18 days, hand-sorted and graded by screen size. "
    "Notes of red berries, hibiscus and black tea; bright citric acidity and a syrupy body."
)


def listing_row(i: int, now: datetime) -> dict[str, object]:
    lid = str(uuid.UUID(int=(i * 0x9E3779B97F4A7C15) % (1 << 128), version=4))
    return {
        "id": lid,
        "seller_id": f"seller-{i % SELLERS:04d}",
        "sku": f"RW-GC-{i:07d}",
        "title": f"Rwanda Huye Mountain green coffee lot {i}, fully washed, 1 kg",
        "description": DESCRIPTION,
        "category": "coffee.green",
        "hs_code": "090111",
        "national_tariff_code": "0901110000",
        "price_minor": 1_000 + i % 5_000,
        "currency": "USD",
        "unit_net_weight_g": 1_000,
        "length_mm": 300,
        "width_mm": 200,
        "height_mm": 105,
        "condition": "new",
        "brand": "Huye Mountain",
        "gtin": None,
        "mpn": f"HM-{i:07d}",
        "identifier_exists": True,
        "images": [f"https://images.example.rw/lots/{i}/1.jpg", f"https://images.example.rw/lots/{i}/2.jpg"],
        "attributes": {"process": "fully_washed", "variety": "Red Bourbon", "altitude_m": 1900, "cupping_score": 86.5},
        "certifications": ["rainforest_alliance"],
        "origin_country": "RW",
        "status": "published",
        "withdrawn_reason": None,
        "on_hand": 100 + i % 50,
        "reserved": i % 7,
        "out_of_stock_policy": "out_of_stock",
        "availability_date": None,
        "version": 2,
        "created_at": now,
        "updated_at": now,
        "published_at": now,
    }


async def seed(url: str, n: int) -> list[str]:
    await upgrade_to_head(MIGRATIONS, url)
    db = Database(url)
    now = datetime.now(UTC)
    ids: list[str] = []
    try:
        async with db.transaction() as session:
            await session.execute(
                insert(SellerProjection),
                [
                    {
                        "id": f"seller-{s:04d}",
                        "legal_name": f"Coop {s}",
                        "status": "verified",
                        "status_at": now,
                        "updated_at": now,
                    }
                    for s in range(SELLERS)
                ],
            )
        for start in range(0, n, BATCH):
            rows = [listing_row(i, now) for i in range(start, min(n, start + BATCH))]
            ids += [str(r["id"]) for r in rows]
            async with db.transaction() as session:
                await session.execute(insert(Listing), rows)
                # What publishing wrote: one upsert per listing in the change log.
                await session.execute(
                    insert(ListingChange),
                    [
                        {"listing_id": r["id"], "op": "upsert", "version": 2, "reason": None, "changed_at": now}
                        for r in rows
                    ],
                )
    finally:
        await db.dispose()
    return ids


async def append_changes(url: str, ids: list[str], count: int) -> None:
    db = Database(url)
    now = datetime.now(UTC)
    try:
        async with db.transaction() as session:
            await session.execute(
                insert(ListingChange),
                [
                    {
                        "listing_id": ids[i * 7 % len(ids)],
                        "op": "upsert",
                        "version": 2,
                        "reason": None,
                        "changed_at": now + timedelta(microseconds=i),
                    }
                    for i in range(count)
                ],
            )
    finally:
        await db.dispose()


# ----------------------------------------------------------------------------------------- processes


# ----------------------------------------------------------------------------------------- pulls


async def pull_snapshot(client: httpx.AsyncClient, headers: dict[str, str] | None = None) -> tuple[int, int, float]:
    """(listings, bytes, seconds) of one full JSON-lines snapshot."""
    lines = size = 0
    started = time.perf_counter()
    async with client.stream("GET", "/v1/feeds/listings", params={"format": "jsonl"}, headers=headers) as response:
        assert response.status_code == 200, await response.aread()
        async for chunk in response.aiter_raw():
            lines += chunk.count(b"\n")
            size += len(chunk)
    return lines, size, time.perf_counter() - started


async def pull_changes(client: httpx.AsyncClient, cursor: str, limit: int) -> tuple[int, int, float]:
    """(changes, pages, seconds) to read everything after `cursor`."""
    items = pages = 0
    started = time.perf_counter()
    while True:
        response = await client.get("/v1/feeds/listings/changes", params={"cursor": cursor, "limit": limit})
        assert response.status_code == 200, response.text
        page = response.json()
        items += len(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return items, pages, time.perf_counter() - started


# ----------------------------------------------------------------------------------------- main


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_URL}/postgres", user=os.environ.get("PGUSER", "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_urls(kind: str, tmp: Path, n: int) -> tuple[str, str, list[str]]:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp}/catalogue-{n}.db", f"sqlite+aiosqlite:///{tmp}/gateway-{n}.db", []
    tag = uuid.uuid4().hex[:8]
    names = [f"ewtp_bench_catalogue_{tag}", f"ewtp_bench_gateway_{tag}"]
    for name in names:
        asyncio.run(pg_admin(f'CREATE DATABASE "{name}"'))
    base = PG_URL.replace("postgresql://", "postgresql+asyncpg://", 1)
    return f"{base}/{names[0]}", f"{base}/{names[1]}", names


def run_size(n: int, kind: str, broker: TansuBroker, tmp: Path) -> None:
    catalogue_db, gateway_db, created = database_urls(kind, tmp, n)
    try:
        t0 = time.perf_counter()
        ids = asyncio.run(seed(catalogue_db, n))
        seeded_s = time.perf_counter() - t0
        key = create_key_sync(gateway_db, name="bench marketplace", role="marketplace", subject_id="mkt-bench")
        cat_port, gw_port = free_port(), free_port()
        cat_env = {
            "CATALOGUE_DATABASE_URL": catalogue_db,
            "CATALOGUE_KAFKA_BOOTSTRAP": broker.bootstrap,
            "CATALOGUE_LOG_LEVEL": "WARNING",
        }
        gw_env = {
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_CATALOGUE_URL": f"http://127.0.0.1:{cat_port}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # Limits stay on (their cost is part of the path) but high enough never to refuse.
            "GATEWAY_RATE_LIMIT_RDB_OFFICER": "10000000/minute",
            "GATEWAY_RATE_LIMIT_MARKETPLACE": "10000000/minute",
            "GATEWAY_UPSTREAM_TIMEOUT_S": "120",
        }
        with (
            uvicorn("services.catalogue.app:create_app", cat_port, cat_env, tmp / "catalogue.log") as catalogue,
            uvicorn("gateway.app:create_app", gw_port, gw_env, tmp / "gateway.log"),
        ):
            idle_kb = rss_kb(catalogue.pid)
            sampler = RssSampler(catalogue.pid)
            sampler.start()

            async def pulls() -> tuple[list[tuple[int, int, float]], tuple[int, int, float], str]:
                limits = httpx.Limits(max_connections=4)
                async with (
                    httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{gw_port}",
                        timeout=300,
                        limits=limits,
                        headers={"Authorization": f"Bearer {key}"},
                    ) as gateway,
                    # Straight to the catalogue, each request signed as the gateway signs it (identity v2:
                    # method, path AND query, body digest, fresh nonce).
                    httpx.AsyncClient(
                        base_url=f"http://127.0.0.1:{cat_port}",
                        timeout=300,
                        limits=limits,
                        auth=GatewaySigner(principal="bench", role="marketplace", subject="mkt-bench"),
                    ) as direct,
                ):
                    rounds = [await pull_snapshot(gateway) for _ in range(ROUNDS)]
                    straight = await pull_snapshot(direct)
                    head = await gateway.get("/v1/feeds/listings", headers={"If-None-Match": "*"})
                    return rounds, straight, head.headers["x-feed-cursor"]

            rounds, straight, cursor = asyncio.run(pulls())
            peak_kb = sampler.stop()
            hwm_kb = rss_kb(catalogue.pid, "VmHWM")

            asyncio.run(append_changes(catalogue_db, ids, DELTA_ROWS))

            async def deltas() -> list[tuple[int, int, int, float]]:
                async with httpx.AsyncClient(
                    base_url=f"http://127.0.0.1:{gw_port}", timeout=300, headers={"Authorization": f"Bearer {key}"}
                ) as gateway:
                    out = []
                    for limit in (1000, 500, 100):
                        got, pages, seconds = await pull_changes(gateway, cursor, limit)
                        out.append((limit, got, pages, seconds))
                    return out

            delta_rows = asyncio.run(deltas())
    finally:
        for name in created:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    times = [r[2] for r in rounds]
    best = min(times)
    print(f"\n== {n:,} published listings ({kind}; seeded in {seeded_s:.1f} s)")
    print(
        f"snapshot through the gateway, {ROUNDS} rounds: "
        + ", ".join(f"{r[0] / r[2]:,.0f}/s" for r in rounds)
        + f"  (best {n / best:,.0f} listings/s, median {n / statistics.median(times):,.0f}/s; "
        f"{rounds[0][1] / 1e6:.1f} MB, {rounds[0][0]:,} lines)"
    )
    print(f"snapshot straight from catalogue: {straight[0] / straight[2]:,.0f} listings/s ({straight[2]:.2f} s)")
    print(
        f"catalogue RSS: idle {idle_kb / 1024:.1f} MiB, peak while streaming {peak_kb / 1024:.1f} MiB, "
        f"VmHWM {hwm_kb / 1024:.1f} MiB"
    )
    for limit, got, pages, seconds in delta_rows:
        print(
            f"delta of {DELTA_ROWS:,} changes, limit {limit}: {got:,} items in {pages} page(s), "
            f"{seconds * 1000:.0f} ms ({got / seconds:,.0f} changes/s)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ewtp-feed-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        try:
            print(f"feed benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, db={args.db}")
            for n in args.sizes:
                run_size(n, args.db, broker, tmp)
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
