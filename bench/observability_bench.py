"""Cost of metrics and tracing on the gateway path: the same load with EWTP_OBSERVABILITY off and on.

    .venv/bin/python bench/observability_bench.py [--seconds 5] [--connections 32] [--rounds 2]

Starts the Tansu broker once, then for each round the sellers service and the gateway (uvicorn
subprocesses, SQLite) with observability off, then on, and loads `GET /v1/sellers/{id}` through the
gateway. Rounds alternate off/on so drift on a shared machine hits both. Prints requests/s per run and
on/off as a ratio; compare the ratio, not the absolutes (the load client shares the cores).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.gateway_bench import load  # noqa: E402
from bench.support import uvicorn  # noqa: E402
from gateway.keys import create_key_sync  # noqa: E402
from tests.support.broker import TansuBroker, free_port  # noqa: E402

BODY = {
    "legal_name": "Bench Coffee Cooperative",
    "tin": "100000098",
    "sectors": ["coffee"],
    "district": "huye",
    "contact_email": "bench@example.rw",
    "contact_phone": "+250788000098",
    "naeb_registration_number": "NAEB-BENCH",
}


def one_run(tmp: Path, bootstrap: str, observability: str, seconds: float, connections: int) -> float:
    run = tmp / f"run-{observability}-{os.urandom(3).hex()}"
    run.mkdir()
    gateway_db = f"sqlite+aiosqlite:///{run}/gateway.db"
    officer = create_key_sync(gateway_db, name="bench officer", role="rdb_officer")
    sellers_port, gateway_port = free_port(), free_port()
    common = {"EWTP_OBSERVABILITY": observability}
    sellers_env = {
        **common,
        "SELLERS_DATABASE_URL": f"sqlite+aiosqlite:///{run}/sellers.db",
        "SELLERS_KAFKA_BOOTSTRAP": bootstrap,
        "SELLERS_LOG_LEVEL": "WARNING",
    }
    gateway_env = {
        **common,
        "GATEWAY_DATABASE_URL": gateway_db,
        "GATEWAY_SELLERS_URL": f"http://127.0.0.1:{sellers_port}",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_RATE_LIMIT_RDB_OFFICER": "10000000/minute",
    }
    with (
        uvicorn("services.sellers.app:create_app", sellers_port, sellers_env, run / "sellers.log"),
        uvicorn("gateway.app:create_app", gateway_port, gateway_env, run / "gateway.log"),
    ):
        gateway = f"http://127.0.0.1:{gateway_port}"
        auth = {"Authorization": f"Bearer {officer}"}
        created = httpx.post(f"{gateway}/v1/sellers", json=BODY, headers=auth)
        created.raise_for_status()
        url = f"{gateway}/v1/sellers/{created.json()['id']}"
        asyncio.run(load(url, auth, 1.0, connections))  # warm-up
        errors, latencies = asyncio.run(load(url, auth, seconds, connections))
    rate = len(latencies) / seconds
    p99 = sorted(latencies)[int(len(latencies) * 0.99) - 1] * 1000
    print(f"observability {observability:<3}  {rate:>8,.0f} req/s   p99 {p99:6.1f} ms   errors {errors}", flush=True)
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    print(f"observability benchmark: {os.cpu_count()} CPUs, {args.connections} connections, {args.seconds:.0f} s a run")
    with tempfile.TemporaryDirectory(prefix="ewtp-obs-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        rates: dict[str, list[float]] = {"off": [], "on": []}
        try:
            for _ in range(args.rounds):
                for mode in ("off", "on"):
                    rates[mode].append(one_run(tmp, broker.bootstrap, mode, args.seconds, args.connections))
        finally:
            broker.stop()
    off, on = statistics.median(rates["off"]), statistics.median(rates["on"])
    print(f"on/off throughput ratio: {on / off:.3f}  (overhead {100 * (1 - on / off):.1f}%)")


if __name__ == "__main__":
    main()
