"""Finance benchmark: reads and writes of applications through the gateway, as ratios to a bare ping.

    .venv/bin/python bench/finance_bench.py [--seconds 5] [--connections 16]

Starts the Tansu broker, the finance service and the gateway as uvicorn subprocesses (SQLite), makes
one seller key and one lender key, seeds a few hundred submitted applications, then loads with an
aiohttp client pinned to one core (`os.sched_setaffinity`): the gateway's `/health/live` (the bare
ping, served the same way in the same run), `GET` one application, a page of the lender's queue, and
`POST` a new application (a write: one transaction, one history row). Prints requests/s, p50/p99 and
each row's throughput as a ratio to the ping, so figures from a loaded machine still compare.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import uvicorn  # noqa: E402
from gateway.keys import create_key_sync  # noqa: E402
from tests.support.broker import TansuBroker, free_port  # noqa: E402

BODY: dict[str, Any] = {
    "product": "pre_shipment",
    "amount": "5000.00",
    "currency": "USD",
    "tenor_days": 90,
    "purpose": "Inputs and wages for the 2027 coffee harvest.",
}


async def load(
    method: str, url: str, headers: dict[str, str], seconds: float, connections: int, body: dict[str, Any] | None
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.request(method, url, json=body) as response:
                    await response.read()
                    if response.status >= 300:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return errors, latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seed", type=int, default=300, help="submitted applications in the queue")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ewtp-finance-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        finance_db = f"sqlite+aiosqlite:///{tmp}/finance.db"
        gateway_db = f"sqlite+aiosqlite:///{tmp}/gateway.db"
        seller_id = str(uuid.uuid4())
        seller_key = create_key_sync(gateway_db, name="bench seller", role="seller", subject_id=seller_id)
        lender_key = create_key_sync(gateway_db, name="bench lender", role="lender")
        finance_port, gateway_port = free_port(), free_port()
        finance_env = {
            "FINANCE_DATABASE_URL": finance_db,
            "FINANCE_KAFKA_BOOTSTRAP": broker.bootstrap,
            "FINANCE_LOG_LEVEL": "WARNING",
        }
        unlimited = "100000000/minute"  # limits stay on (their cost is on the path) but out of reach
        gateway_env = {
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_FINANCE_URL": f"http://127.0.0.1:{finance_port}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            "GATEWAY_RATE_LIMIT_SELLER": unlimited,
            "GATEWAY_RATE_LIMIT_LENDER": unlimited,
        }
        try:
            with (
                uvicorn("services.finance.app:create_app", finance_port, finance_env, tmp / "finance.log"),
                uvicorn("gateway.app:create_app", gateway_port, gateway_env, tmp / "gateway.log"),
            ):
                gateway = f"http://127.0.0.1:{gateway_port}"
                seller = {"Authorization": f"Bearer {seller_key}"}
                lender = {"Authorization": f"Bearer {lender_key}"}
                with httpx.Client(base_url=gateway, timeout=30) as client:
                    first = ""
                    for _ in range(args.seed):
                        created = client.post("/v1/finance/applications", json=BODY, headers=seller)
                        created.raise_for_status()
                        first = first or created.json()["id"]
                        client.post(f"/v1/finance/applications/{created.json()['id']}/submit", headers=seller)
                with contextlib.suppress(AttributeError, OSError):
                    os.sched_setaffinity(0, {0})  # the load generator on one core
                cpus = os.cpu_count()
                print(
                    f"finance benchmark: {cpus} CPUs (shared with other work), {args.connections} connections, "
                    f"{args.seconds:.0f} s each, SQLite, {args.seed} submitted applications"
                )
                runs = [
                    ("gateway /health/live (ping)", "GET", f"{gateway}/health/live", {}, None),
                    ("GET one application", "GET", f"{gateway}/v1/finance/applications/{first}", seller, None),
                    (
                        "GET lender queue, 50 a page",
                        "GET",
                        f"{gateway}/v1/finance/applications?status=submitted",
                        lender,
                        None,
                    ),
                    ("POST a new application", "POST", f"{gateway}/v1/finance/applications", seller, BODY),
                ]
                ping = 0.0
                for label, method, url, headers, body in runs:
                    errors, latencies = asyncio.run(load(method, url, headers, args.seconds, args.connections, body))
                    ordered = sorted(latencies)
                    rate = len(ordered) / args.seconds
                    ping = ping or rate
                    p50 = statistics.median(ordered) * 1000
                    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000
                    print(
                        f"{label:<30} {rate:>8,.0f} req/s  ({rate / ping:5.2f} x ping)   "
                        f"p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}"
                    )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
