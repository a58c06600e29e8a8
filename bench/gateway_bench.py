"""Gateway forwarding benchmark: what the gateway costs per forwarded request, against a bare ping.

    .venv/bin/python bench/gateway_bench.py [--seconds 5] [--connections 32] [--profile]

Starts the Tansu broker, the sellers and catalogue services, the gateway and a bare FastAPI ping app
as uvicorn subprocesses (SQLite), then loads, with an aiohttp client pinned to CPU 0:

- the bare ping (`GET /ping`): the yardstick, a FastAPI route returning a constant;
- the fastest service read (`GET /v1/categories/{id}`, in memory in catalogue) straight to the service
  (signed per request as the gateway signs: signed identity v2 binds each signature to one request
  and one nonce, so headers cannot be reused) and through the gateway with an API key;
- a one-row database read (`GET /v1/sellers/{id}`) the same two ways;
- the gateway's own `/health/live`.

For each run: requests/s, p50/p99 latency, and the CPU time each server process spent per request
(utime+stime from /proc, all threads), which is what the gateway costs whatever the machine's load.
Then, at 1 connection, the p99 the gateway adds. Figures are printed as ratios to the bare ping of
the same run (the machine is shared: compare ratios, not absolutes). `--profile` samples the gateway
with py-spy during an extra through-gateway run and prints where its time goes.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from gateway.keys import create_key_sync  # noqa: E402
from shared.auth import sign_identity  # noqa: E402
from shared.settings import DEV_SIGNING_SECRET  # noqa: E402
from tests.support.broker import TansuBroker, free_port, wait_for_port  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")
PING_APP = """
from fastapi import FastAPI

app = FastAPI()


@app.get("/ping")
async def ping() -> dict[str, str]:
    return {"status": "ok"}
"""


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process (all its threads), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


@contextmanager
def server(target: str, port: int, env: dict[str, str], log: Path, *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    argv = [sys.executable, "-m", "uvicorn", target, "--host", "127.0.0.1", "--port", str(port)]
    argv += ["--log-level", "warning", "--no-access-log", "--no-proxy-headers", *extra]
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, cwd=ROOT, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, timeout_s=60)
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health/live").status_code in (200, 404):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise TimeoutError(target)
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Result:
    label: str
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    #: CPU µs per request of each measured server process, by name.
    cpu_us: dict[str, float]


Headers = Callable[[], dict[str, str]]


async def load(url: str, headers: Headers, seconds: float, connections: int) -> tuple[int, list[float]]:
    latencies: list[float] = []
    errors = 0
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                async with session.get(url, headers=headers()) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        await asyncio.gather(*(worker() for _ in range(connections)))
    return errors, latencies


def run(label: str, url: str, headers: Headers, seconds: float, connections: int, pids: dict[str, int]) -> Result:
    asyncio.run(load(url, headers, 0.5, connections))  # warm the pools
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    errors, latencies = asyncio.run(load(url, headers, seconds, connections))
    after = {name: cpu_seconds(pid) for name, pid in pids.items()}
    ordered = sorted(latencies)
    count = len(ordered)
    return Result(
        label=label,
        rate=count / seconds,
        p50_ms=statistics.median(ordered) * 1000,
        p99_ms=ordered[max(0, int(count * 0.99) - 1)] * 1000,
        errors=errors,
        cpu_us={name: (after[name] - before[name]) / count * 1e6 for name in pids},
    )


def signer(path: str, role: str = "ops") -> Headers:
    secret = DEV_SIGNING_SECRET.encode()

    def headers() -> dict[str, str]:
        return sign_identity(
            secret, principal="bench", role=role, subject=None, request_id=str(uuid.uuid4()), method="GET", path=path
        )

    return headers


def profile(pid: int, seconds: float, out: Path) -> list[tuple[str, float]]:
    """py-spy samples of `pid` for `seconds`: (function, share of samples) by own time, top 25."""
    subprocess.run(
        [
            str(Path(sys.executable).parent / "py-spy"),
            "record",
            "--pid",
            str(pid),
            "--duration",
            str(int(seconds)),
            "--rate",
            "250",
        ]
        + ["--format", "raw", "--output", str(out), "--nonblocking", "--gil"],
        check=True,
        capture_output=True,
    )
    own: collections.Counter[str] = collections.Counter()
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        n = int(count)
        total += n
        own[frames[-1].split(" (")[0] + " " + frames[-1].rsplit("/", 1)[-1].rstrip(")")] += n
    return [(name, n / total) for name, n in own.most_common(25)]


def inclusive(out: Path, markers: dict[str, str]) -> dict[str, float]:
    """Share of samples whose stack passes through each marker (a substring of a frame)."""
    counts = dict.fromkeys(markers, 0)
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        n = int(count)
        total += n
        for name, marker in markers.items():
            if marker in stack:
                counts[name] += n
    return {name: n / max(total, 1) for name, n in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--profile", action="store_true", help="sample the gateway with py-spy (needs ptrace)")
    args = parser.parse_args()
    os.sched_setaffinity(0, {0})  # the load generator on CPU 0 only
    with tempfile.TemporaryDirectory(prefix="ewtp-gateway-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        (tmp / "bench_ping.py").write_text(PING_APP)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        gateway_db = f"sqlite+aiosqlite:///{tmp}/gateway.db"
        officer = create_key_sync(gateway_db, name="bench officer", role="rdb_officer")
        ports = {name: free_port() for name in ("sellers", "catalogue", "gateway", "ping")}

        def service_env(name: str) -> dict[str, str]:
            prefix = name.upper()
            return {
                f"{prefix}_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/{name}.db",
                f"{prefix}_KAFKA_BOOTSTRAP": broker.bootstrap,
                f"{prefix}_LOG_LEVEL": "WARNING",
            }

        gateway_env = {
            "GATEWAY_DATABASE_URL": gateway_db,
            "GATEWAY_SELLERS_URL": f"http://127.0.0.1:{ports['sellers']}",
            "GATEWAY_CATALOGUE_URL": f"http://127.0.0.1:{ports['catalogue']}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # Limits stay on (their cost is part of the path) but high enough never to refuse.
            "GATEWAY_RATE_LIMIT_RDB_OFFICER": "100000000/minute",
        }
        try:
            with (
                server(
                    "services.sellers.app:create_app",
                    ports["sellers"],
                    service_env("sellers"),
                    tmp / "s.log",
                    "--factory",
                ) as sellers,
                server(
                    "services.catalogue.app:create_app",
                    ports["catalogue"],
                    service_env("catalogue"),
                    tmp / "c.log",
                    "--factory",
                ) as catalogue,
                server(
                    "gateway.app:create_app", ports["gateway"], gateway_env, tmp / "g.log", "--factory"
                ) as gateway_proc,
                server("bench_ping:app", ports["ping"], {"PYTHONPATH": str(tmp)}, tmp / "p.log") as ping,
            ):
                gateway = f"http://127.0.0.1:{ports['gateway']}"
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
                seller_path = f"/v1/sellers/{created.json()['id']}"
                category = httpx.get(f"{gateway}/v1/categories", headers=auth).json()["items"][0]["id"]
                category_path = f"/v1/categories/{category}"
                for path in (seller_path, category_path):
                    assert httpx.get(f"{gateway}{path}", headers=auth).status_code == 200, path
                pids = {
                    "gateway": gateway_proc.pid,
                    "sellers": sellers.pid,
                    "catalogue": catalogue.pid,
                    "ping": ping.pid,
                }
                print(
                    f"gateway benchmark: {os.cpu_count()} CPUs (load generator pinned to CPU 0), "
                    f"{args.connections} connections, {args.seconds:.0f} s per run; machine shared with other work"
                )
                plan: list[tuple[str, str, Headers, dict[str, int]]] = [
                    ("bare FastAPI ping", f"http://127.0.0.1:{ports['ping']}/ping", dict, {"ping": ping.pid}),
                    (
                        "categories/{id} straight (signed)",
                        f"http://127.0.0.1:{ports['catalogue']}{category_path}",
                        signer(category_path),
                        {"catalogue": catalogue.pid},
                    ),
                    ("categories/{id} via gateway", f"{gateway}{category_path}", lambda: auth, pids),
                    (
                        "sellers/{id} straight (signed)",
                        f"http://127.0.0.1:{ports['sellers']}{seller_path}",
                        signer(seller_path),
                        {"sellers": sellers.pid},
                    ),
                    ("sellers/{id} via gateway", f"{gateway}{seller_path}", lambda: auth, pids),
                    ("gateway /health/live", f"{gateway}/health/live", dict, {"gateway": gateway_proc.pid}),
                ]
                results = {label: run(label, url, h, args.seconds, args.connections, p) for label, url, h, p in plan}
                ping_cpu = results["bare FastAPI ping"].cpu_us["ping"]
                ping_rate = results["bare FastAPI ping"].rate
                print(f"{'run':<36} {'req/s':>8} {'×ping':>6} {'p50 ms':>7} {'p99 ms':>7}  server CPU µs/req")
                for result in results.values():
                    cpu = ", ".join(f"{name} {us:,.0f}" for name, us in result.cpu_us.items() if us > 1)
                    print(
                        f"{result.label:<36} {result.rate:>8,.0f} {result.rate / ping_rate:>6.2f} "
                        f"{result.p50_ms:>7.2f} {result.p99_ms:>7.2f}  {cpu}  errors {result.errors}"
                    )
                one = {
                    "straight": run("1c straight", plan[1][1], plan[1][2], args.seconds, 1, {}),
                    "gateway": run("1c gateway", plan[2][1], plan[2][2], args.seconds, 1, {}),
                }
                fast_direct, fast_gw = (
                    results["categories/{id} straight (signed)"],
                    results["categories/{id} via gateway"],
                )
                gw_cpu = fast_gw.cpu_us["gateway"]
                print()
                print(
                    f"gateway CPU per forwarded request: {gw_cpu:,.0f} µs = {gw_cpu / ping_cpu:.2f}× "
                    f"a bare ping's {ping_cpu:,.0f} µs (target ≤ 2.5×)"
                )
                ratio = fast_gw.rate / fast_direct.rate
                print(f"through-gateway throughput, fastest read: {ratio:.2f}× direct (target ≥ 0.8×)")
                added = one["gateway"].p99_ms - one["straight"].p99_ms
                print(
                    f"at 1 connection: p99 straight {one['straight'].p99_ms:.2f} ms, via gateway "
                    f"{one['gateway'].p99_ms:.2f} ms: +{added:.2f} ms added (target ≤ 1 ms); "
                    f"p50 +{one['gateway'].p50_ms - one['straight'].p50_ms:.2f} ms"
                )
                if args.profile:
                    out = Path(tempfile.gettempdir()) / "ewtp-gateway-profile.raw"  # kept: py-spy's collapsed stacks
                    loader = _background_load(f"{gateway}{category_path}", auth, args.seconds + 2, args.connections)
                    shares = profile(gateway_proc.pid, args.seconds, out)
                    loader.join()
                    print("\ngateway profile (py-spy --gil: samples holding the GIL; own time per function, top 25):")
                    for name, share in shares:
                        print(f"  {share * 100:5.1f}%  {name}")
                    print("inclusive:")
                    markers = {
                        "aiohttp client request": "ClientSession._request",
                        "response relay (UpstreamResponse)": "UpstreamResponse.__call__",
                        "uvicorn send": "RequestResponseCycle.send",
                        "rate limiter (check)": "RateLimiter.check",
                        "API key (authenticate)": "KeyStore.authenticate",
                        "signing (sign_identity)": "sign_identity",
                        "upstream headers": "upstream_headers",
                        "authorization table": "allowed (",
                    }
                    for name, share in inclusive(out, markers).items():
                        print(f"  {share * 100:5.1f}%  {name}")
        finally:
            broker.stop()


def _background_load(url: str, headers: dict[str, str], seconds: float, connections: int) -> _Loader:
    loader = _Loader(url, headers, seconds, connections)
    loader.start()
    return loader


class _Loader:
    """Load in a child thread (its own event loop) while py-spy samples the gateway."""

    def __init__(self, url: str, headers: dict[str, str], seconds: float, connections: int) -> None:
        import threading

        self._thread = threading.Thread(
            target=lambda: asyncio.run(load(url, lambda: headers, seconds, connections)), daemon=True
        )

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join()


if __name__ == "__main__":
    main()
