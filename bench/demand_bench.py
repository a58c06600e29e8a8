"""Demand insight at scale: `GET /v1/insights/demand`'s query on the aggregate of 1,000,000 orders.

    .venv/bin/python bench/demand_bench.py [--db sqlite|postgres] [--orders 1000000] [--days 180]

Seeds the maintained demand aggregate (models.Demand*) exactly as confirming that many one-line
orders would leave it (random day in the last `--days`, 12 HS codes, 200 sellers, 50 cities,
300,000 buyers, 20 price points), then times the insight for each window with the service's own code
(`insights.demand`, same session type as the route) and prints the plan of its totals query.
The orders themselves are not needed by the read: that is the point of the aggregate.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.orders import insights, sketch  # noqa: E402
from services.orders.models import (  # noqa: E402
    DemandBuyers,
    DemandCity,
    DemandDaily,
    DemandPrice,
    DemandSellerDaily,
)
from shared.auth import Identity, Role  # noqa: E402
from shared.db import Database  # noqa: E402
from shared.migrations import upgrade_to_head  # noqa: E402
from tests.support.databases import Databases  # noqa: E402

HS = [
    "090111",
    "090112",
    "090121",
    "090230",
    "090240",
    "460211",
    "460219",
    "060311",
    "060319",
    "080440",
    "210111",
    "330129",
]


def aggregate(orders: int, days: int, seed: int = 7) -> dict[str, list[dict[str, Any]]]:
    rnd = random.Random(seed)
    today = datetime.now(UTC).date()
    daily: Counter[tuple[Any, ...]] = Counter()
    daily_value: Counter[tuple[Any, ...]] = Counter()
    daily_lines: Counter[tuple[Any, ...]] = Counter()
    per_seller: Counter[tuple[Any, ...]] = Counter()
    per_seller_value: Counter[tuple[Any, ...]] = Counter()
    prices: Counter[tuple[Any, ...]] = Counter()
    cities: Counter[tuple[Any, ...]] = Counter()
    buyers: dict[tuple[Any, ...], bytearray] = {}
    for _ in range(orders):
        day = today - timedelta(days=rnd.randrange(days))
        hs = rnd.choice(HS)
        category = f"hs:{hs[:4]}"
        seller = f"seller-{rnd.randrange(200)}"
        qty = rnd.randint(1, 5)
        price = 500 + 100 * rnd.randrange(20)
        city = f"City{rnd.randrange(50)}"
        buyer = f"{rnd.randrange(300_000):032x}"
        key = (day, category, hs, "USD")
        daily[key] += qty
        daily_value[key] += qty * price
        daily_lines[key] += 1
        per_seller[(seller, *key)] += qty
        per_seller_value[(seller, *key)] += qty * price
        prices[(*key, price)] += 1
        cities[(day, category, hs, "CN", city)] += qty
        sketch.add_into(buyers.setdefault((day, category, hs), bytearray(sketch.REGISTERS)), buyer)
    names = ("day", "category", "hs_code", "currency")
    return {
        "daily": [
            dict(zip(names, k, strict=True)) | {"units": u, "value_minor": daily_value[k], "lines": daily_lines[k]}
            for k, u in daily.items()
        ],
        "sellers": [
            dict(zip(("seller_id", *names), k, strict=True)) | {"units": u, "value_minor": per_seller_value[k]}
            for k, u in per_seller.items()
        ],
        "prices": [dict(zip((*names, "unit_price_minor"), k, strict=True)) | {"lines": n} for k, n in prices.items()],
        "cities": [
            dict(zip(("day", "category", "hs_code", "country", "city"), k, strict=True)) | {"units": n}
            for k, n in cities.items()
        ],
        "buyers": [
            dict(zip(("day", "category", "hs_code"), k, strict=True)) | {"sketch": bytes(v)} for k, v in buyers.items()
        ],
    }


async def seed(db: Database, rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = (
        ("daily", DemandDaily),
        ("sellers", DemandSellerDaily),
        ("prices", DemandPrice),
        ("cities", DemandCity),
        ("buyers", DemandBuyers),
    )
    for name, model in tables:
        batch = rows[name]
        for i in range(0, len(batch), 20_000):
            async with db.transaction() as session:
                await session.execute(insert(model), batch[i : i + 20_000])
        print(f"  demand_{name}: {len(batch):,} rows")
    if not db.is_sqlite:
        async with db.engine.connect() as conn:
            await conn.execute(text("ANALYZE"))
            await conn.commit()
    else:
        async with db.transaction() as session:
            await session.execute(text("ANALYZE"))


async def run(url: str, orders: int, days: int) -> None:
    await upgrade_to_head(ROOT / "services/orders/migrations", url)
    db = Database(url)
    started = time.perf_counter()
    rows = aggregate(orders, days)
    print(f"aggregate of {orders:,} orders over {days} days computed in {time.perf_counter() - started:.1f} s")
    await seed(db, rows)
    ops = Identity(principal="bench", role=Role.OPS, subject=None, request_id="bench")
    seller = Identity(principal="bench", role=Role.SELLER, subject="seller-7", request_id="bench")
    for window in (7, 30, 90):
        for who, identity, hs in (("ops", ops, None), ("ops, one HS code", ops, "090111"), ("seller", seller, None)):
            timings = []
            for _ in range(5):
                t = time.perf_counter()
                async with db.read() as session:
                    out = await insights.demand(session, identity, window=window, category=None, hs_code=hs)
                timings.append((time.perf_counter() - t) * 1000)
            units = sum(r.units for r in out.rows)
            print(
                f"window {window:>2} d, {who:<17}: median {sorted(timings)[2]:7.1f} ms, min {min(timings):7.1f} ms "
                f"({len(out.rows)} rows, {units:,} units)"
            )
    start = (datetime.now(UTC) - timedelta(days=90)).date()
    explain = "EXPLAIN QUERY PLAN" if db.is_sqlite else "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF)"
    query = (
        "SELECT category, hs_code, currency, sum(units), sum(value_minor) FROM demand_daily "
        "WHERE day >= :start GROUP BY category, hs_code, currency"
    )
    async with db.read() as session:
        plan = (await session.execute(text(f"{explain} {query}"), {"start": start})).all()
    print("plan of the totals query (90 days):")
    for row in plan:
        print("   ", " | ".join(str(c) for c in row))
    await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--days", type=int, default=180)
    args = parser.parse_args()
    if args.db == "postgres":
        os.environ["EWTP_TEST_DB"] = "postgres"
    with tempfile.TemporaryDirectory(prefix="ewtp-demand-bench-") as tmp:
        dbs = Databases(Path(tmp))
        try:
            asyncio.run(run(dbs.url("orders_demand"), args.orders, args.days))
        finally:
            dbs.drop_all()


if __name__ == "__main__":
    main()
