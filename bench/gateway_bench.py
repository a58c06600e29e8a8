"""Gateway forwarding benchmark: the same GET straight to a service and through the gateway.

    .venv/bin/python bench/gateway_bench.py [--seconds 5] [--connections 32]

Starts the Tansu broker, the sellers service and the gateway as uvicorn subprocesses (SQLite), registers
one seller, then loads `GET /v1/sellers/{id}` with an aiohttp client at N connections: once straight to
sellers (with gateway-signed headers made here) and once through the gateway with an API key; also the
gateway's own `/health/live`. Prints requests/s and latency percentiles. The load client shares the two
cores with the servers, so figures are lower than wrk would show; compare the rows, not the absolutes.
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
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import uvicorn  # noqa: E402
from gateway.keys import create_key_sync  # noqa: E402
from shared.auth import sign_identity  # noqa: E402
from shared.settings import DEV_SIGNING_SECRET  # noqa: E402
from tests.support.broker import TansuBroker, free_port  # noqa: E402


async def load(url: str, headers: dict[str, str], seconds: float, connections: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return errors, latencies


def report(label: str, seconds: float, errors: int, latencies: list[float]) -> None:
    ordered = sorted(latencies)
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[int(len(ordered) * 0.99) - 1] * 1000
    print(
        f"{label:<38} {len(ordered) / seconds:>8,.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   errors {errors}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ewtp-gateway-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        sellers_db = f"sqlite+aiosqlite:///{tmp}/sellers.db"
        gateway_db = f"sqlite+aiosqlite:///{tmp}/gateway.db"
        officer = create_key_sync(gateway_db, name="bench officer", role="rdb_officer")
        sellers_port, gateway_port = free_port(), free_port()
        sellers_env = {
            "SELLERS_DATABASE_URL": sellers_db,
            "SELLERS_KAFKA_BOOTSTRAP": broker.bootstrap,
            "SELLERS_LOG_LEVEL": "WARNING",
        }
        gateway_env = {
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_SELLERS_URL": f"http://127.0.0.1:{sellers_port}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # Limits stay on (their cost is part of the path) but high enough never to refuse.
            "GATEWAY_RATE_LIMIT_RDB_OFFICER": "10000000/minute",
            "GATEWAY_RATE_LIMIT_MARKETPLACE": "10000000/minute",
        }
        try:
            with (
                uvicorn("services.sellers.app:create_app", sellers_port, sellers_env, tmp / "sellers.log"),
                uvicorn("gateway.app:create_app", gateway_port, gateway_env, tmp / "gateway.log"),
            ):
                gateway = f"http://127.0.0.1:{gateway_port}"
                auth = {"Authorization": f"Bearer {officer}"}
                body = {
                    "legal_name": "Bench Coffee Cooperative",
                    "tin": "100000099",
                    "sectors": ["coffee"],
                    "district": "huye",
                    "contact_email": "bench@example.rw",
                    "contact_phone": "+250788000099",
                    "naeb_registration_number": "NAEB-BENCH",
                }
                created = httpx.post(f"{gateway}/v1/sellers", json=body, headers=auth)
                created.raise_for_status()
                path = f"/v1/sellers/{created.json()['id']}"
                signed = sign_identity(
                    DEV_SIGNING_SECRET.encode(),
                    principal="bench",
                    role="rdb_officer",
                    subject=None,
                    request_id=str(uuid.uuid4()),
                    method="GET",
                    path=path,
                )
                setup = f"{args.connections} connections, {args.seconds:.0f} s each"
                print(f"gateway benchmark: {os.cpu_count()} CPUs, {setup}")
                runs = [
                    ("sellers GET straight (signed)", f"http://127.0.0.1:{sellers_port}{path}", signed),
                    ("sellers GET through the gateway", f"{gateway}{path}", auth),
                    ("gateway /health/live (no upstream)", f"{gateway}/health/live", {}),
                ]
                for label, url, headers in runs:
                    errors, latencies = asyncio.run(load(url, headers, args.seconds, args.connections))
                    report(label, args.seconds, errors, latencies)
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
