"""Quote benchmark: `POST /v1/logistics/quotes` for a 3-parcel request over every mode, straight to the
logistics service and through the gateway, beside a bare ping served the same way.

    .venv/bin/python bench/quote_bench.py [--seconds 5] [--connections 32] [--database-url URL]

Starts the Tansu broker, the logistics service and the gateway as uvicorn subprocesses (SQLite unless
`--database-url` names a PostgreSQL database), then loads each target with an aiohttp client pinned
to one core (`sched_setaffinity`, after the servers started, so they keep both cores). Straight to
the service, every request carries a fresh gateway signature made here (the service refuses a
replayed nonce). Each quote is a real one: priced over the cached rate cards, its row and its
`quote.issued` outbox row committed, the event relayed to the broker.

Prints requests/s, p50/p99 latency and ratios: the service's quote rate to its bare ping, and the
gateway's quote rate to the service's. Targets (issue 11): service >= 1,000 quotes/s, gateway >= 80 %
of direct. The machine is shared: compare rows of one run, not runs.
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
from collections.abc import Callable
from pathlib import Path

import aiohttp
import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import uvicorn  # noqa: E402
from gateway.keys import create_key_sync  # noqa: E402
from shared.auth import sign_identity  # noqa: E402
from shared.settings import DEV_SIGNING_SECRET  # noqa: E402
from tests.support.broker import TansuBroker, free_port  # noqa: E402

PATH = "/v1/logistics/quotes"
BODY = orjson.dumps(
    {
        "origin": "RWKGL",
        "destination": "CNPVG",
        "incoterm": "FCA",
        "parcels": [
            {"count": 3, "weight_kg": "12.5", "length_cm": "60", "width_cm": "40", "height_cm": "40"},
            {"count": 1, "weight_kg": "4", "length_cm": "30", "width_cm": "30", "height_cm": "20"},
            {"count": 2, "weight_kg": "20.25", "length_cm": "50", "width_cm": "40", "height_cm": "30"},
        ],
    }
)
SECRET = DEV_SIGNING_SECRET.encode()

Headers = Callable[[], dict[str, str]]


def signed(method: str, path: str, body: bytes) -> Headers:
    """Fresh gateway-signed identity headers per request, as the gateway makes them."""

    def make() -> dict[str, str]:
        return sign_identity(
            SECRET,
            principal="bench-key",
            role="seller",
            subject="bench-seller",
            request_id=str(uuid.uuid4()),
            method=method,
            path=path,
            body=body,
        ) | {"content-type": "application/json"}

    return make


async def load(
    method: str, url: str, headers: Headers, body: bytes | None, expect: int, seconds: float, connections: int
) -> tuple[int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.request(method, url, data=body, headers=headers()) as response:
                    await response.read()
                    if response.status != expect:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return errors, latencies


def cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(label: str, seconds: float, pids: dict[str, int], run: Callable[[], tuple[int, list[float]]]) -> float:
    """Run one load; print its rate, latency percentiles and the servers' CPU per request.

    CPU per request does not depend on how busy the shared machine is, unlike the rate: it is the
    figure to compare across runs (1 / CPU per request = what one free core would serve).
    """
    before = {name: cpu_s(pid) for name, pid in pids.items()}
    errors, latencies = run()
    used = {name: cpu_s(pid) - before[name] for name, pid in pids.items()}
    ordered = sorted(latencies)
    rate = len(ordered) / seconds
    p50 = statistics.median(ordered) * 1000
    p99 = ordered[max(int(len(ordered) * 0.99) - 1, 0)] * 1000
    cpu = "  ".join(f"{name} {used[name] / max(len(ordered), 1) * 1e6:5.0f} µs" for name in pids)
    print(f"{label:<36} {rate:>7,.0f} req/s  p50 {p50:6.1f} ms  p99 {p99:7.1f} ms  errors {errors}  CPU/req: {cpu}")
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--database-url", default="", help="the logistics database (default: a fresh SQLite file)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ewtp-quote-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        database = args.database_url or f"sqlite+aiosqlite:///{tmp}/logistics.db"
        gateway_db = f"sqlite+aiosqlite:///{tmp}/gateway.db"
        key = create_key_sync(gateway_db, name="bench seller", role="seller", subject_id="bench-seller")
        service_port, gateway_port = free_port(), free_port()
        service_env = {
            "LOGISTICS_DATABASE_URL": database,
            "LOGISTICS_KAFKA_BOOTSTRAP": broker.bootstrap,
            "LOGISTICS_LOG_LEVEL": "WARNING",
        }
        gateway_env = {
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_LOGISTICS_URL": f"http://127.0.0.1:{service_port}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # Limits stay on (their cost is part of the path) but high enough never to refuse.
            "GATEWAY_RATE_LIMIT_SELLER": "10000000/minute",
        }
        try:
            with (
                uvicorn("services.logistics.app:create_app", service_port, service_env, tmp / "logistics.log") as svc,
                uvicorn("gateway.app:create_app", gateway_port, gateway_env, tmp / "gateway.log") as gw,
            ):
                pids = {"logistics": svc.pid, "gateway": gw.pid}
                # Only now: the servers were spawned with every core; the load generator keeps one.
                if hasattr(os, "sched_setaffinity"):
                    os.sched_setaffinity(0, {0})
                service = f"http://127.0.0.1:{service_port}"
                gateway = f"http://127.0.0.1:{gateway_port}"
                auth = {"authorization": f"Bearer {key}", "content-type": "application/json"}
                db_name = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
                print(
                    f"quote benchmark: {os.cpu_count()} CPUs (load generator pinned to 1), {db_name}, "
                    f"{args.connections} connections, {args.seconds:.0f} s each"
                )
                n, s, c = args.seconds, args.connections, len(BODY)
                # Warm up: the rate-card cache, the connection pools, the gateway's key cache.
                asyncio.run(load("POST", f"{gateway}{PATH}", lambda: auth, BODY, 201, 1.0, 4))
                asyncio.run(load("POST", f"{service}{PATH}", signed("POST", PATH, BODY), BODY, 201, 1.0, 4))
                service_quote = signed("POST", PATH, BODY)

                def gateway_quote() -> dict[str, str]:
                    return auth

                rates = {
                    "ping": measured(
                        "service /health/live (bare ping)",
                        n,
                        pids,
                        lambda: asyncio.run(load("GET", f"{service}/health/live", dict, None, 200, n, s)),
                    ),
                    "direct": measured(
                        f"quote straight to logistics ({c} B)",
                        n,
                        pids,
                        lambda: asyncio.run(load("POST", f"{service}{PATH}", service_quote, BODY, 201, n, s)),
                    ),
                    "gateway": measured(
                        "quote through the gateway",
                        n,
                        pids,
                        lambda: asyncio.run(load("POST", f"{gateway}{PATH}", gateway_quote, BODY, 201, n, s)),
                    ),
                    "gateway ping": measured(
                        "gateway /health/live (no upstream)",
                        n,
                        pids,
                        lambda: asyncio.run(load("GET", f"{gateway}/health/live", dict, None, 200, n, s)),
                    ),
                }
                print(
                    f"ratios: quote direct / ping {rates['direct'] / rates['ping']:.2f}x   "
                    f"gateway / direct {rates['gateway'] / rates['direct']:.0%}   "
                    f"(targets: direct >= 1,000 quotes/s; gateway >= 80 % of direct)"
                )
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
