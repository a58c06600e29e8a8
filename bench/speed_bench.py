"""Speed benchmark: reads, writes and event hops of the template, each beside a bare FastAPI ping.

    .venv/bin/python bench/speed_bench.py [--db sqlite postgres] [--seconds 5] [--connections 32]

For each database it starts the Tansu broker, the sellers and catalogue services, the gateway and the
reference ping app (bench/ping_app.py) as uvicorn subprocesses served as `make run` serves them
(`--http shared.http:ProblemHttpToolsProtocol`), seeds a verified seller and 40 published listings
through the gateway, then prints, in one run:

- GET /ping (the reference), sellers GET by id, listing GET by id and the search
  `GET /v1/listings?limit=20`, straight to the service and through the gateway: requests/s, p50,
  p99, CPU per request of the serving processes (from /proc) and the ratio to the ping's requests/s;
- `POST /v1/sellers` with an Idempotency-Key through the gateway at 1 and at N connections;
- the event hop: sellers registered at 50/s through the gateway; from each 201 to the catalogue's
  consumer claiming the event (its inbox row's `processed_at`; same clock), p50 and p99;
- the cross-service hop a user feels: an officer verifies a seller, then catalogue accepts a publish
  of that seller's draft (polled right after the verify's answer, as a client would), p50 and p99.

Load generator: wrk (Debian's package, installed here if missing), one thread, pinned to one core
with `sched_setaffinity`. Requests straight to a service must each carry a fresh gateway signature
(a nonce is accepted once), which wrk cannot compute: they are signed here just before the run and
wrk replays the list, one per request. The machine is shared: compare the ratios, not the absolutes.
It prints figures only; it never passes or fails on time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.support import cpu_seconds, ensure_wrk, load_core, uvicorn  # noqa: E402
from gateway.keys import create_key_sync  # noqa: E402
from shared.auth import sign_identity  # noqa: E402
from shared.settings import DEV_SIGNING_SECRET  # noqa: E402
from tests.support.broker import TansuBroker, free_port  # noqa: E402

PG_URL = os.environ.get("EWTP_TEST_PG_URL", "postgresql://127.0.0.1:5432")
LISTINGS = 40
EVENT_RATE = 50  # events per second
EVENT_SECONDS = 6
PUBLISH_SELLERS = 30
#: Where py-spy's raw profiles are kept (collapsed stacks; open with any flamegraph tool).
PROFILES = Path(tempfile.gettempdir()) / "ewtp-speed-profiles"
#: The servers' logs of the last run, kept for when a figure could not be taken.
LOGS = Path(tempfile.gettempdir()) / "ewtp-speed-logs"

WRK_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\\n{"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, "p50_us": %d, "p99_us": %d}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

REPLAY = """
local reqs = {}
for line in io.lines("%s") do reqs[#reqs + 1] = line:gsub("\\t", "\\r\\n") end
local i = 0
request = function()
  i = i + 1
  return reqs[(i - 1) %% #reqs + 1]
end
"""

STATIC = """
wrk.headers["Authorization"] = "Bearer %s"
"""

POST_SELLERS = """
local n = 0
request = function()
  n = n + 1
  local tin = tostring(%d + n)
  local body = '{"legal_name":"Bench Coffee ' .. tin .. '","tin":"' .. tin .. '","sectors":["coffee"],'
    .. '"district":"huye","contact_email":"bench@example.rw","contact_phone":"+250788000099",'
    .. '"naeb_registration_number":"NAEB-BENCH"}'
  return wrk.format("POST", "/v1/sellers", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer %s",
    ["Idempotency-Key"] = "bench-" .. tin,
  }, body)
end
"""


@dataclass
class Figure:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    cpu_us: float
    errors: int
    requests: int


#: What a sampled stack passes through, by path fragment: a stack counts once for each it contains.
MARKERS = (
    ("uvicorn + httptools (HTTP parsing, transport)", "uvicorn/"),
    ("Starlette (routing, middleware plumbing)", "starlette/"),
    ("FastAPI (dependencies, params, serialising)", "fastapi/"),
    ("pydantic (validation, dumping)", "pydantic"),
    ("shared/auth.py (signed identity, HMAC, nonce)", "shared/auth.py"),
    ("shared/fastread.py (Core read on the driver)", "shared/fastread.py"),
    ("shared/commands.py (unit of work, idempotency)", "shared/commands.py"),
    ("shared/outbox.py (relay)", "shared/outbox.py"),
    ("SQLAlchemy (ORM, Core, pool)", "sqlalchemy/"),
    ("aiosqlite (thread bridge)", "aiosqlite/"),
    ("asyncpg", "asyncpg/"),
    ("aiokafka", "aiokafka/"),
    ("services/* (the use case itself)", "services/"),
)


def profile_summary(raw: Path, top: int = 6) -> str:
    """Where the GIL-holding samples of a py-spy raw (collapsed) profile went: share of samples whose
    stack passes through each part (inclusive, so shares overlap), and the hottest innermost frames."""
    inclusive: dict[str, int] = {}
    frames: dict[str, int] = {}
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        samples += count
        for name, marker in MARKERS:
            if marker in stack:
                inclusive[name] = inclusive.get(name, 0) + count
        leaf = stack.split(";")[-1]
        frames[leaf] = frames.get(leaf, 0) + count
    if not samples:
        return "  (no samples)"
    lines = [f"  {name:50} {100 * inclusive.get(name, 0) / samples:5.1f}%" for name, _ in MARKERS]
    lines.append(f"  hottest innermost frames ({samples} samples):")
    ranked = sorted(frames.items(), key=lambda x: -x[1])[:top]
    lines += [f"    {100 * n / samples:5.1f}% {leaf[:100]}" for leaf, n in ranked]
    return "\n".join(lines)


class Wrk:
    def __init__(self, tmp: Path, seconds: float, profile: set[str] | None = None) -> None:
        self.path = ensure_wrk()
        self.core = load_core()
        self.tmp = tmp
        self.seconds = seconds
        #: Labels (substrings) of the runs to profile with py-spy (the first pid of the run).
        self.profile = profile or set()
        self.profiles: list[tuple[str, str]] = []

    def run(self, label: str, url: str, lua: str, connections: int, pids: Sequence[int]) -> Figure:
        figure = self._run(label, url, lua, connections, pids, spy=False)
        if any(w in label for w in self.profile):
            # Profiled in a second run of its own, so the sampler never weighs on the figures above.
            self._run(label, url, lua, connections, pids, spy=True)
        return figure

    def _run(self, label: str, url: str, lua: str, connections: int, pids: Sequence[int], *, spy: bool) -> Figure:
        script = self.tmp / f"wrk-{uuid.uuid4().hex[:8]}.lua"
        script.write_text(lua + WRK_DONE)
        cpu_before = sum(cpu_seconds(p) for p in pids)
        core = self.core
        sampler = None
        if spy:
            raw = PROFILES / f"{label.split(' ')[0].lower()}-{uuid.uuid4().hex[:6]}.txt"
            raw.parent.mkdir(parents=True, exist_ok=True)
            argv = ["py-spy", "record", "-p", str(pids[0]), "-d", f"{max(1, int(self.seconds) - 1)}", "-r", "250"]
            sampler = subprocess.Popen(
                [str(Path(sys.executable).parent / argv[0]), *argv[1:], "--gil", "-f", "raw", "-o", str(raw)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        done = subprocess.run(
            [
                self.path,
                "-t1",
                f"-c{connections}",
                f"-d{self.seconds:.0f}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=lambda: os.sched_setaffinity(0, {core}),
        )
        cpu = sum(cpu_seconds(p) for p in pids) - cpu_before
        if sampler is not None:
            sampler.wait()
            summary = profile_summary(raw) if raw.exists() else "  (py-spy wrote nothing)"
            self.profiles.append((f"{label} [{raw}]", summary))
        result = json.loads(done.stdout.strip().splitlines()[-1])
        requests = max(int(result["requests"]), 1)
        return Figure(
            label=label,
            rps=requests / (result["duration_us"] / 1e6),
            p50_ms=result["p50_us"] / 1000,
            p99_ms=result["p99_us"] / 1000,
            cpu_us=cpu / requests * 1e6,
            errors=int(result["status_errors"]) + int(result["socket_errors"]),
            requests=requests,
        )


def presigned(tmp: Path, port: int, path: str, query: str, count: int, role: str, subject: str | None) -> str:
    """A wrk script replaying `count` GETs, each with its own gateway signature (fresh nonce)."""
    target = f"{path}?{query}" if query else path
    lines = []
    for _ in range(count):
        headers = sign_identity(
            DEV_SIGNING_SECRET.encode(),
            principal="bench",
            role=role,
            subject=subject,
            request_id=uuid.uuid4().hex,
            method="GET",
            path=path,
            query=query,
        )
        head = "".join(f"{k}: {v}\t" for k, v in headers.items())
        lines.append(f"GET {target} HTTP/1.1\tHost: 127.0.0.1:{port}\t{head}\t")
    data = tmp / f"signed-{uuid.uuid4().hex[:8]}.txt"
    data.write_text("\n".join(lines) + "\n")
    return REPLAY % data


# ------------------------------------------------------------------------------------------ setup


async def pg_admin(sql: str) -> None:
    conn = await asyncpg.connect(f"{PG_URL}/postgres", user=os.environ.get("PGUSER", "postgres"))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def database_url(kind: str, tmp: Path, name: str, created: list[str]) -> str:
    if kind == "sqlite":
        return f"sqlite+aiosqlite:///{tmp}/{name}.db"
    db_name = f"ewtp_bench_{name}_{uuid.uuid4().hex[:8]}"
    asyncio.run(pg_admin(f'CREATE DATABASE "{db_name}"'))
    created.append(db_name)
    return f"{PG_URL.replace('postgresql://', 'postgresql+asyncpg://', 1)}/{db_name}"


def seller_body(tin: int) -> dict[str, Any]:
    return {
        "legal_name": f"Bench Coffee {tin}",
        "tin": str(tin),
        "sectors": ["coffee"],
        "district": "huye",
        "contact_email": "bench@example.rw",
        "contact_phone": "+250788000099",
        "naeb_registration_number": "NAEB-BENCH",
    }


def listing_body(seller_id: str, i: int) -> dict[str, Any]:
    return {
        "seller_id": seller_id,
        "sku": f"RW-GC-{uuid.uuid4().hex[:10]}",
        "title": f"Rwanda Huye Mountain green coffee lot {i}, fully washed, 1 kg",
        "description": "Red Bourbon from the Huye Mountain washing station, grown at 1,900 m.",
        "category": "coffee.green",
        "hs_code": "090111",
        "national_tariff_code": "0901110000",
        "price": {"amount": f"{15 + i % 7}.00", "currency": "USD"},
        "unit_net_weight_g": 1000,
        "packed_dimensions": {"length_cm": 30, "width_cm": 20, "height_cm": 10.5},
        "brand": "Huye Mountain",
        "mpn": "HM-GC-1KG",
        "images": ["https://images.example.rw/huye/1.jpg"],
        "attributes": {"process": "fully_washed", "variety": "Red Bourbon", "altitude_m": 1900},
        "certifications": ["rainforest_alliance"],
        "on_hand": 100,
    }


async def until(check: Any, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.02)


async def seed(gateway: str, keys: dict[str, str]) -> tuple[str, str]:
    """A verified seller with LISTINGS published listings; (seller id, one listing id)."""
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        officer = {"Authorization": f"Bearer {keys['rdb_officer']}"}
        ops = {"Authorization": f"Bearer {keys['ops']}"}
        created = await client.post("/v1/sellers", json=seller_body(100_000_001), headers=officer)
        created.raise_for_status()
        seller_id = created.json()["id"]
        (
            await client.post(f"/v1/sellers/{seller_id}/verify", json={"reason": "bench"}, headers=officer)
        ).raise_for_status()
        listing_ids = []
        for i in range(LISTINGS):
            made = await client.post("/v1/listings", json=listing_body(seller_id, i), headers=ops)
            made.raise_for_status()
            listing_ids.append(made.json()["id"])

        async def published() -> bool:
            r = await client.post(f"/v1/listings/{listing_ids[0]}/publish", headers=ops)
            return r.status_code == 200

        await until(published)
        for listing_id in listing_ids[1:]:
            (await client.post(f"/v1/listings/{listing_id}/publish", headers=ops)).raise_for_status()
        return seller_id, listing_ids[0]


# ------------------------------------------------------------------------------------ event hops


async def fetch_rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    from shared.db import Database

    db = Database(url)
    try:
        async with db.read() as session:
            from sqlalchemy import text

            return [tuple(r) for r in (await session.execute(text(sql))).all()]
    finally:
        await db.dispose()


def _as_epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    from datetime import UTC

    parsed = datetime.fromisoformat(str(value))
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).timestamp()


async def claimed_at(sellers_url: str, catalogue_url: str, event_type: str) -> dict[str, float]:
    """Seller id → when the catalogue's consumer claimed that seller's `event_type` event."""
    outbox = await fetch_rows(sellers_url, f"SELECT key, event_id FROM outbox WHERE event_type = '{event_type}'")
    inbox = await fetch_rows(
        catalogue_url, "SELECT event_id, processed_at FROM inbox WHERE consumer = 'catalogue.sellers'"
    )
    processed = {event_id: _as_epoch(at) for event_id, at in inbox}
    return {key: processed[event_id] for key, event_id in outbox if event_id in processed}


async def event_hop(gateway: str, keys: dict[str, str], sellers_url: str, catalogue_url: str) -> list[float]:
    """ms from each registration's 201 to the catalogue's consumer claiming the event, at EVENT_RATE/s."""
    answered: dict[str, float] = {}
    officer = {"Authorization": f"Bearer {keys['rdb_officer']}"}
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=gateway, timeout=120, limits=limits, headers=officer) as client:

        async def one(i: int) -> None:
            response = await client.post("/v1/sellers", json=seller_body(700_000_000 + i))
            now = time.time()
            response.raise_for_status()
            answered[response.json()["id"]] = now

        start = time.monotonic()
        tasks = []
        for i in range(EVENT_RATE * EVENT_SECONDS):
            await asyncio.sleep(max(0.0, start + i / EVENT_RATE - time.monotonic()))
            tasks.append(asyncio.create_task(one(i)))
        await asyncio.gather(*tasks)

    async def all_claimed() -> bool:
        found = await claimed_at(sellers_url, catalogue_url, "rw.ewtp.seller.registered.v1")
        return all(k in found for k in answered)

    await until(all_claimed, 60)
    found = await claimed_at(sellers_url, catalogue_url, "rw.ewtp.seller.registered.v1")
    return [(found[k] - t) * 1000 for k, t in answered.items()]


async def verified_to_publishable(
    gateway: str, keys: dict[str, str], sellers_url: str, catalogue_url: str
) -> tuple[list[float], list[float]]:
    """(polled, exact) ms from a verify's answer to catalogue accepting a publish of that seller's draft."""
    officer = {"Authorization": f"Bearer {keys['rdb_officer']}"}
    ops = {"Authorization": f"Bearer {keys['ops']}"}
    polled: list[float] = []
    verified_at: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=gateway, timeout=30) as client:
        drafts = []
        for i in range(PUBLISH_SELLERS):
            created = await client.post("/v1/sellers", json=seller_body(800_000_000 + i), headers=officer)
            created.raise_for_status()
            seller_id = created.json()["id"]
            made = await client.post("/v1/listings", json=listing_body(seller_id, i), headers=ops)
            made.raise_for_status()
            drafts.append((seller_id, made.json()["id"]))
        for seller_id, listing_id in drafts:
            verify = await client.post(f"/v1/sellers/{seller_id}/verify", json={"reason": "bench"}, headers=officer)
            t0 = time.time()
            verify.raise_for_status()
            verified_at[seller_id] = t0
            while (await client.post(f"/v1/listings/{listing_id}/publish", headers=ops)).status_code != 200:
                pass
            polled.append((time.time() - t0) * 1000)
    found = await claimed_at(sellers_url, catalogue_url, "rw.ewtp.seller.verified.v1")
    exact = [(found[k] - t) * 1000 for k, t in verified_at.items() if k in found]
    return polled, exact


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


# ------------------------------------------------------------------------------------------- main


def run(
    kind: str, broker: TansuBroker, tmp: Path, seconds: float, connections: int, profile: set[str], parts: set[str]
) -> None:
    created: list[str] = []
    try:
        urls = {name: database_url(kind, tmp, name, created) for name in ("sellers", "catalogue", "gateway")}
        keys = {
            role: create_key_sync(urls["gateway"], name=f"bench {role}", role=role, subject_id=subject)
            for role, subject in (("ops", None), ("rdb_officer", None), ("marketplace", "mkt-bench"))
        }
        ports = {name: free_port() for name in ("ping", "sellers", "catalogue", "gateway")}
        common = {"LOG_LEVEL": "WARNING", "KAFKA_BOOTSTRAP": broker.bootstrap}
        env_of = {
            name: {f"{name.upper()}_{k}": v for k, v in {**common, "DATABASE_URL": urls[name]}.items()}
            for name in ("sellers", "catalogue")
        }
        gateway_env = {
            "GATEWAY_DATABASE_URL": urls["gateway"],
            "GATEWAY_SELLERS_URL": f"http://127.0.0.1:{ports['sellers']}",
            "GATEWAY_CATALOGUE_URL": f"http://127.0.0.1:{ports['catalogue']}",
            "GATEWAY_LOG_LEVEL": "WARNING",
            # Limits stay on (their cost is part of the path) but high enough never to refuse.
            **{f"GATEWAY_RATE_LIMIT_{r.upper()}": "100000000/minute" for r in ("ops", "rdb_officer", "marketplace")},
        }
        logs = LOGS / kind
        logs.mkdir(parents=True, exist_ok=True)
        for old in logs.glob("*.log"):
            old.unlink()
        with ExitStack() as stack:
            ping = stack.enter_context(uvicorn("bench.ping_app:create_app", ports["ping"], {}, logs / "ping.log"))
            sellers = stack.enter_context(
                uvicorn("services.sellers.app:create_app", ports["sellers"], env_of["sellers"], logs / "sellers.log")
            )
            catalogue = stack.enter_context(
                uvicorn(
                    "services.catalogue.app:create_app", ports["catalogue"], env_of["catalogue"], logs / "catalogue.log"
                )
            )
            gw = stack.enter_context(
                uvicorn("gateway.app:create_app", ports["gateway"], gateway_env, logs / "gateway.log")
            )
            gateway = f"http://127.0.0.1:{ports['gateway']}"
            seller_id, listing_id = asyncio.run(seed(gateway, keys))
            wrk = Wrk(tmp, seconds, profile)
            c = connections

            def direct(port: int) -> str:
                return f"http://127.0.0.1:{port}/"

            figures: list[Figure] = []
            reference = wrk.run("bare FastAPI GET /ping", direct(ports["ping"]) + "ping", "", c, [ping.pid])
            figures.append(reference)
            count = int(reference.rps * seconds * 1.5) + 2000
            sp, cp = ports["sellers"], ports["catalogue"]
            reads = [
                ("sellers GET /v1/sellers/{id}", sp, f"/v1/sellers/{seller_id}", "", "rdb_officer", None, sellers.pid),
                (
                    "catalogue GET /v1/listings/{id}",
                    cp,
                    f"/v1/listings/{listing_id}",
                    "",
                    "marketplace",
                    "mkt-bench",
                    catalogue.pid,
                ),
                (
                    "catalogue GET /v1/listings?limit=20",
                    cp,
                    "/v1/listings",
                    "limit=20",
                    "marketplace",
                    "mkt-bench",
                    catalogue.pid,
                ),
            ]
            reads = [r for r in reads if "reads" in parts]
            for label, port, path, query, role, subject, pid in reads:
                script = presigned(tmp, port, path, query, count, role, subject)
                figures.append(wrk.run(f"{label} direct", direct(port), script, c, [pid]))
                key = keys["rdb_officer"] if role == "rdb_officer" else keys["marketplace"]
                target = f"{gateway}{path}" + (f"?{query}" if query else "")
                figures.append(wrk.run(f"{label} via gateway", target, STATIC % key, c, [pid, gw.pid]))
            writes = []
            for n, base in ((1, 200_000_000), (c, 300_000_000)) if "writes" in parts else ():
                script = POST_SELLERS % (base, keys["rdb_officer"])
                label = f"POST /v1/sellers + Idempotency-Key via gateway, {n} conn"
                writes.append(wrk.run(label, f"{gateway}/v1/sellers", script, n, [sellers.pid, gw.pid]))
            hops, polled, exact = [0.0], [0.0], [0.0]
            failed: list[str] = []
            if "hops" in parts:
                try:
                    hops = asyncio.run(event_hop(gateway, keys, urls["sellers"], urls["catalogue"]))
                except Exception as exc:  # noqa: BLE001 - a figure we could not take is printed, not fatal
                    failed.append(f"event hop: {exc!r}")
                try:
                    polled, exact = asyncio.run(
                        verified_to_publishable(gateway, keys, urls["sellers"], urls["catalogue"])
                    )
                except Exception as exc:  # noqa: BLE001
                    failed.append(f"verified → publishable: {exc!r}")

        print(f"\n== {kind}: wrk -t1 -c{c} -d{seconds:.0f}s pinned to core {wrk.core}; {os.cpu_count()} cores, shared")
        print(f"{'what':58} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'CPU/req':>9} {'ratio':>7} {'errors':>7}")
        for f in [*figures, *writes]:
            ratio = f.rps / reference.rps
            print(
                f"{f.label:58} {f.rps:8,.0f} {f.p50_ms:8.2f} {f.p99_ms:8.2f} {f.cpu_us:7,.0f}µs {ratio:6.3f}x "
                f"{f.errors:7d}"
            )
        print(
            f"event hop 201 → consumer, {EVENT_RATE}/s × {EVENT_SECONDS} s ({len(hops)} events): "
            f"p50 {pct(hops, 50):.1f} ms, p99 {pct(hops, 99):.1f} ms, max {max(hops):.1f} ms"
        )
        print(
            f"verified → publishable ({len(polled)} sellers): polled p50 {pct(polled, 50):.1f} ms, "
            f"p99 {pct(polled, 99):.1f} ms; consumer claim p50 {pct(exact, 50):.1f} ms, p99 {pct(exact, 99):.1f} ms"
        )
        print(
            "(CPU/req: the serving process, plus the gateway's for gateway rows; "
            f"load average {os.getloadavg()[0]:.1f})"
        )
        for failure in failed:
            print(f"FAILED {failure}")
        for label, summary in wrk.profiles:
            print(f"py-spy, {label} (serving process, samples holding the GIL):\n{summary}")
    finally:
        for name in created:
            asyncio.run(pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", nargs="+", choices=["sqlite", "postgres"], default=["sqlite", "postgres"])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--profile",
        nargs="*",
        default=["sellers GET /v1/sellers/{id} direct", "32 conn"],
        help="runs to sample with py-spy (label substrings); none to skip",
    )
    parser.add_argument("--parts", nargs="+", choices=["reads", "writes", "hops"], default=["reads", "writes", "hops"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ewtp-speed-bench-") as tmp_dir:
        tmp = Path(tmp_dir)
        broker = TansuBroker(log_dir=tmp)
        broker.start()
        try:
            print(f"speed benchmark: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}; ratios to the ping")
            for kind in args.db:
                run(kind, broker, tmp, args.seconds, args.connections, set(args.profile), set(args.parts))
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
