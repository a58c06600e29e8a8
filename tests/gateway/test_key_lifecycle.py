"""Per-key limits, last-used times and revocation across replicas: real gateways, real HTTP, real Redis.

Two gateway *processes* (uvicorn subprocesses, as in production) share one key database and one Redis,
and must enforce one limit per key between them and refuse a key revoked on the other replica within
`key_cache_ttl_s`.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import redis

from gateway.keys import KeyStore, LastUsed, create_key_sync
from gateway.models import ApiKey
from gateway.schemas import ApiKeyCreate
from shared.auth import Role
from tests.gateway.conftest import SECRET, Gateway, Upstream, problem
from tests.gateway.test_rate_limits import REDIS_URL, clear_of_window_edge, limit_headers, start_gateway
from tests.support.broker import free_port, wait_for_port
from tests.support.databases import Databases
from tests.support.waiting import eventually

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def gateway_process(env: dict[str, str], log: Path) -> Iterator[str]:
    """`uvicorn gateway.app:create_app` as its own process; yields its base URL."""
    port = free_port()
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "gateway.app:create_app", "--factory", "--host", "127.0.0.1"]
            + ["--port", str(port), "--log-level", "warning", "--no-access-log"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, timeout_s=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def override_gateway(upstream: Upstream, databases: Databases) -> Iterator[Gateway]:
    """Memory storage; marketplace keys get 3 per hour by role, unless a key has its own limit."""
    gateway = start_gateway(
        upstream, databases.url("gateway_key_lifecycle"), rate_limit_marketplace="3/hour", last_used_flush_s=0.2
    )
    yield gateway
    gateway.server.stop()


async def test_a_keys_own_limit_replaces_its_roles(override_gateway: Gateway) -> None:
    gateway = override_gateway
    roomy = await gateway.issue_with(role="marketplace", subject_id="mkt-own-1", rate_limit="5/hour")
    unlimited = await gateway.issue_with(role="marketplace", subject_id="mkt-own-2", rate_limit="0")
    plain = await gateway.issue_with(role="marketplace", subject_id="mkt-own-3")
    assert (roomy["rate_limit"], unlimited["rate_limit"], plain["rate_limit"]) == ("5/hour", "0", None)
    await clear_of_window_edge()
    async with gateway.client(roomy["key"]) as client:
        answers = [await client.get("/v1/listings") for _ in range(5)]
        assert [limit_headers(r)[:2] for r in answers] == [(5, 4), (5, 3), (5, 2), (5, 1), (5, 0)]
        problem(await client.get("/v1/listings"), 429)
    async with gateway.client(unlimited["key"]) as client:
        answers = [await client.get("/v1/listings") for _ in range(8)]
        assert {r.status_code for r in answers} == {200}
        assert not any("ratelimit-limit" in r.headers for r in answers)
    async with gateway.client(plain["key"]) as client:
        assert limit_headers(await client.get("/v1/listings"))[:2] == (3, 2)
        # ops lowers this key's own limit: in force at once on this replica.
        async with gateway.client(gateway.ops_key) as ops:
            changed = await ops.patch(f"/v1/admin/api-keys/{plain['id']}", json={"rate_limit": "1/hour"})
            assert changed.status_code == 200, changed.text
            assert changed.json()["rate_limit"] == "1/hour"
            problem(await ops.patch(f"/v1/admin/api-keys/{plain['id']}", json={"rate_limit": "many"}), 422)
            problem(
                await ops.patch(f"/v1/admin/api-keys/{plain['id']}", json={"expires_at": "2020-01-01T00:00:00Z"}), 422
            )
            problem(await ops.patch("/v1/admin/api-keys/zzzzzzzz", json={"rate_limit": "0"}), 404)
        assert limit_headers(await client.get("/v1/listings"))[:2] == (1, 0)
        problem(await client.get("/v1/listings"), 429)


async def test_bad_expiry_and_limits_are_refused_naming_the_field(override_gateway: Gateway) -> None:
    async with override_gateway.client(override_gateway.ops_key) as ops:
        for body, field in (
            ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
            ({"expires_at": "2030-01-01T00:00:00"}, "expires_at"),  # no offset: ambiguous
            ({"expires_at": "2999-01-01T00:00:00Z"}, "expires_at"),  # beyond the longest lifetime
            ({"rate_limit": "1/fortnight"}, "rate_limit"),
            ({"rate_limit": "-1/minute"}, "rate_limit"),
            ({"rate_limit": "1/second;2/minute"}, "rate_limit"),
        ):
            refused = problem(await ops.post("/v1/admin/api-keys", json={"name": "x", "role": "lender", **body}), 422)
            assert [e["field"] for e in refused["errors"]] == [field], body


async def test_last_use_reaches_the_database_in_batches(override_gateway: Gateway) -> None:
    gateway = override_gateway
    issued = await gateway.issue_with(role="lender")
    assert issued["last_used_at"] is None
    async with gateway.client(issued["key"]) as client:
        for _ in range(3):
            await client.get("/v1/listings")

    async def last_used() -> str | None:
        async with gateway.client(gateway.ops_key) as ops:
            page = (await ops.get("/v1/admin/api-keys", params={"limit": 200})).json()
        return next(k["last_used_at"] for k in page["items"] if k["id"] == issued["id"])

    seen = await eventually(last_used, timeout_s=10, what="last_used_at to be flushed")
    assert datetime.fromisoformat(seen) > datetime.fromisoformat(issued["created_at"]) - timedelta(seconds=1)


async def test_a_flush_writes_each_key_once_and_never_goes_back(key_store: KeyStore) -> None:
    a = await key_store.create(ApiKeyCreate(name="a", role=Role.LENDER))
    b = await key_store.create(ApiKeyCreate(name="b", role=Role.LENDER))
    now = [1_900_000_000.0]
    recorder = LastUsed(wall=lambda: now[0])
    for _ in range(100):
        recorder.touch(a.id)
    recorder.touch(b.id)
    assert len(recorder) == 2
    assert await recorder.flush(key_store.db) == 2
    assert len(recorder) == 0 and await recorder.flush(key_store.db) == 0
    now[0] -= 3600  # an older time (a replica with a slower clock) does not move it back
    recorder.touch(a.id)
    await recorder.flush(key_store.db)
    async with key_store.db.read() as session:
        row = await session.get(ApiKey, a.id)
        assert row is not None and row.last_used_at == datetime.fromtimestamp(1_900_000_000.0, UTC)


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    prefix = f"ewtp-test-rl-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def test_two_gateway_processes_share_one_limit_and_a_revocation(
    upstream: Upstream, databases: Databases, redis_prefix: str, tmp_path: Path
) -> None:
    database_url = databases.url("gateway_two_processes")
    ops_key = create_key_sync(database_url, name="two-process ops", role="ops")  # migrates the database
    key = create_key_sync(database_url, name="shared", role="marketplace", subject_id="mkt-2p", rate_limit="4/hour")
    env = {
        "GATEWAY_DATABASE_URL": database_url,
        "GATEWAY_SIGNING_SECRET": SECRET,
        "GATEWAY_RUN_MIGRATIONS": "false",
        "GATEWAY_LOG_LEVEL": "WARNING",
        "GATEWAY_CATALOGUE_URL": upstream.url,
        "GATEWAY_RATE_LIMIT_STORAGE": REDIS_URL,
        "GATEWAY_RATE_LIMIT_KEY_PREFIX": redis_prefix,
        "GATEWAY_KEY_CACHE_TTL_S": "1",
    }
    with gateway_process(env, tmp_path / "a.log") as first, gateway_process(env, tmp_path / "b.log") as second:
        headers = {"Authorization": f"Bearer {key}"}
        await clear_of_window_edge()
        async with httpx.AsyncClient(headers=headers) as client:
            remaining = []
            for url in (first, second, first, second):
                remaining.append(limit_headers(await client.get(f"{url}/v1/listings"))[1])
            assert remaining == [3, 2, 1, 0]
            problem(await client.get(f"{first}/v1/listings"), 429)
            problem(await client.get(f"{second}/v1/listings"), 429)

        # Revoked through the first replica: the second refuses it within its key_cache_ttl_s.
        other = create_key_sync(database_url, name="revoked", role="lender")
        async with httpx.AsyncClient(headers={"Authorization": f"Bearer {other}"}) as lender:
            assert (await lender.get(f"{second}/v1/listings")).status_code == 200  # now cached there
            async with httpx.AsyncClient(headers={"Authorization": f"Bearer {ops_key}"}) as ops:
                revoked = await ops.delete(f"{first}/v1/admin/api-keys/{other.split('_')[1]}")
                assert revoked.status_code == 204
            problem(await lender.get(f"{first}/v1/listings"), 401)

            async def refused_by_second() -> httpx.Response | None:
                response = await lender.get(f"{second}/v1/listings")
                return response if response.status_code == 401 else None

            await eventually(refused_by_second, timeout_s=15, what="the other replica to refuse the revoked key")
