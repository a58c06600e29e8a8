"""Per-API-key rate limits: real gateways over real HTTP, in memory and on the real Redis (127.0.0.1:6379).

Limits are per hour so that a test's few requests never straddle a window boundary by chance
(`clear_of_window_edge` waits out the last seconds of a window if a run happens to start there).
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import redis
from pydantic import ValidationError

from gateway.app import create_app
from gateway.keys import Principal, create_key_sync
from gateway.ratelimit import RateLimiter
from gateway.settings import GatewaySettings
from shared.auth import Role
from tests.gateway.conftest import SECRET, Gateway, Upstream, problem
from tests.support.broker import free_port
from tests.support.databases import Databases
from tests.support.servers import ServerThread

REDIS_URL = "redis://127.0.0.1:6379/0"
HOUR = 3600
LIMIT = 3


def start_gateway(upstream: Upstream, database_url: str, ops_key: str | None = None, **overrides: Any) -> Gateway:
    settings = GatewaySettings(
        database_url=database_url,
        signing_secret=SECRET,
        log_level="WARNING",
        sellers_url=upstream.url,
        catalogue_url=upstream.url,
        orders_url="",
        finance_url="",
        logistics_url=upstream.url,
        tourism_url=upstream.url,
        **overrides,
    )
    server = ServerThread(create_app(settings), free_port()).start()
    ops_key = ops_key or create_key_sync(database_url, name="rate-limit test ops", role="ops")
    return Gateway(server=server, database_url=database_url, ops_key=ops_key)


async def clear_of_window_edge(period_s: int = HOUR, margin_s: float = 5.0) -> None:
    """Wait out the last `margin_s` of the current aligned window, so the next requests share one window."""
    left = period_s - time.time() % period_s
    if left < margin_s:
        await asyncio.sleep(left + 0.1)


def limit_headers(response: httpx.Response) -> tuple[int, int, int]:
    """(limit, remaining, reset) from the RateLimit-* fields; reset is whole seconds into the window."""
    reset = int(response.headers["ratelimit-reset"])
    assert 1 <= reset <= HOUR
    return int(response.headers["ratelimit-limit"]), int(response.headers["ratelimit-remaining"]), reset


@pytest.fixture(scope="module")
def limited(upstream: Upstream, databases: Databases) -> Iterator[Gateway]:
    """Memory storage; marketplace and rdb_officer keys get 3 per hour, seller and traveller_app none."""
    gateway = start_gateway(
        upstream,
        databases.url("gateway_rate_limits"),
        rate_limit_marketplace=f"{LIMIT}/hour",
        rate_limit_rdb_officer=f"{LIMIT} per hour",
        rate_limit_seller="0",
        rate_limit_traveller_app="",
    )
    yield gateway
    gateway.server.stop()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A namespace of Redis keys for one test, deleted afterwards."""
    prefix = f"ewtp-test-rl-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(client.scan_iter(match=f"{prefix}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


async def test_the_request_over_the_limit_is_429_with_retry_after_and_ratelimit_fields(limited: Gateway) -> None:
    key = (await limited.issue("marketplace", "mkt-rate-1"))["key"]
    await clear_of_window_edge()
    async with limited.client(key) as client:
        allowed = [await client.get(f"/v1/listings/lst-{i}") for i in range(LIMIT)]
        refused = await client.get("/v1/listings/lst-over", headers={"X-Request-ID": "trace-rate-0001"})
    assert [r.status_code for r in allowed] == [200] * LIMIT
    assert [limit_headers(r)[:2] for r in allowed] == [(LIMIT, 2), (LIMIT, 1), (LIMIT, 0)]
    body = problem(refused, 429)
    assert body["type"] == "https://errors.ewtp.rw/rate-limited"
    assert body["status"] == 429 and body["instance"] == "/v1/listings/lst-over"
    assert refused.headers["x-request-id"] == "trace-rate-0001"
    limit, remaining, reset = limit_headers(refused)
    assert (limit, remaining) == (LIMIT, 0)
    assert int(refused.headers["retry-after"]) == reset
    assert reset <= limit_headers(allowed[0])[2]


async def test_anonymous_and_bad_keys_still_get_401_and_count_against_nothing(limited: Gateway) -> None:
    key = (await limited.issue("marketplace", "mkt-rate-2"))["key"]
    await clear_of_window_edge()
    async with limited.client() as anonymous:
        for _ in range(LIMIT + 2):
            response = await anonymous.get("/v1/listings")
            problem(response, 401)
            assert "ratelimit-limit" not in response.headers
    async with limited.client(key[:-4] + "AAAA") as forged:
        problem(await forged.get("/v1/listings"), 401)
    async with limited.client(key) as client:
        assert limit_headers(await client.get("/v1/listings"))[:2] == (LIMIT, LIMIT - 1)


async def test_another_key_is_not_affected(limited: Gateway) -> None:
    first = (await limited.issue("marketplace", "mkt-rate-3"))["key"]
    second = (await limited.issue("marketplace", "mkt-rate-3"))["key"]
    await clear_of_window_edge()
    async with limited.client(first) as client:
        for _ in range(LIMIT):
            assert (await client.get("/v1/listings")).status_code == 200
        problem(await client.get("/v1/listings"), 429)
    async with limited.client(second) as client:
        response = await client.get("/v1/listings")
    assert response.status_code == 200
    assert limit_headers(response)[:2] == (LIMIT, LIMIT - 1)


async def test_admin_api_requests_count_too(limited: Gateway) -> None:
    key = (await limited.issue("rdb_officer"))["key"]
    await clear_of_window_edge()
    async with limited.client(key) as client:
        answers = [await client.get("/v1/admin/api-keys") for _ in range(LIMIT)]
        over = await client.get("/v1/admin/api-keys")
    for response in answers:
        problem(response, 403)  # officers may not use the admin API, but each request counts
    assert [limit_headers(r)[1] for r in answers] == [2, 1, 0]
    problem(over, 429)


async def test_a_disabled_limit_never_limits(limited: Gateway) -> None:
    seller = (await limited.issue("seller", "slr-rate-1"))["key"]
    traveller = (await limited.issue("traveller_app", "app-rate-1"))["key"]
    for key in (seller, traveller):
        async with limited.client(key) as client:
            responses = [await client.get("/v1/listings") for _ in range(4 * LIMIT)]
        assert {r.status_code for r in responses} == {200}
        assert not any("ratelimit-limit" in r.headers for r in responses)


async def test_gateways_on_one_redis_share_the_count(
    upstream: Upstream, databases: Databases, redis_prefix: str
) -> None:
    database_url = databases.url("gateway_rate_limits_redis")
    shared: dict[str, Any] = {
        "rate_limit_storage": REDIS_URL,
        "rate_limit_key_prefix": redis_prefix,
        "rate_limit_marketplace": f"{LIMIT}/hour",
    }
    first = start_gateway(upstream, database_url, **shared)
    second = start_gateway(upstream, database_url, ops_key=first.ops_key, run_migrations=False, **shared)
    try:
        key = (await first.issue("marketplace", "mkt-rate-redis"))["key"]
        await clear_of_window_edge()
        async with first.client(key) as a, second.client(key) as b:
            remaining = [limit_headers(await a.get("/v1/listings"))[1], limit_headers(await b.get("/v1/listings"))[1]]
            remaining.append(limit_headers(await a.get("/v1/listings"))[1])
            refused = [await b.get("/v1/listings"), await a.get("/v1/listings")]
    finally:
        first.server.stop()
        second.server.stop()
    assert remaining == [2, 1, 0]
    for response in refused:
        problem(response, 429)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        stored = list(client.scan_iter(match=f"{redis_prefix}:*"))
    finally:
        client.close()
    # One counter per key and window: the marketplace key's, and the ops key's (issuing counts too).
    counted = sorted(name.decode().split(":", 1)[1].split("/")[1] for name in stored)
    assert counted == sorted([key.split("_")[1], first.ops_key.split("_")[1]])


async def test_an_unreachable_redis_fails_open(upstream: Upstream, databases: Databases) -> None:
    gateway = start_gateway(
        upstream,
        databases.url("gateway_rate_limits_down"),
        rate_limit_storage="redis://127.0.0.1:1/0",  # nothing listens on port 1
        rate_limit_marketplace="1/hour",
        rate_limit_retry_after_failure_s=0,  # every request tries the storage, and passes
    )
    try:
        key = (await gateway.issue("marketplace", "mkt-rate-down"))["key"]
        async with gateway.client(key) as client:
            responses = [await client.get("/v1/listings") for _ in range(5)]
    finally:
        gateway.server.stop()
    assert {r.status_code for r in responses} == {200}
    assert not any("ratelimit-limit" in r.headers for r in responses)


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_windows_are_aligned_to_the_clock_and_reset_when_it_turns() -> None:
    clock = FakeClock(100 * HOUR + HOUR - 10.5)  # 10.5 s before the window ends
    limiter = RateLimiter(GatewaySettings(rate_limit_seller=f"{LIMIT}/hour"), clock=clock)
    principal = Principal(key_id="abcd1234", role=Role.SELLER, subject="slr-1")
    try:
        decisions = [await limiter.check(principal) for _ in range(LIMIT + 1)]
        clock.now += 11  # 0.5 s into the next window
        after = await limiter.check(principal)
    finally:
        await limiter.close()
    assert [(d.allowed, d.remaining, d.reset_s) for d in decisions if d] == [
        (True, 2, 11),
        (True, 1, 11),
        (True, 0, 11),
        (False, 0, 11),
    ]
    assert after is not None and (after.allowed, after.remaining, after.reset_s) == (True, 2, HOUR)


async def test_a_storage_failure_is_retried_only_after_the_back_off(caplog: pytest.LogCaptureFixture) -> None:
    monotonic = FakeClock(1000.0)
    settings = GatewaySettings(
        rate_limit_storage="redis://127.0.0.1:1/0", rate_limit_lender="1/hour", rate_limit_retry_after_failure_s=5
    )
    limiter = RateLimiter(settings, monotonic=monotonic)
    principal = Principal(key_id="abcd1234", role=Role.LENDER, subject=None)
    try:
        with caplog.at_level(logging.WARNING, logger="ewtp.gateway.ratelimit"):
            first, during = await limiter.check(principal), await limiter.check(principal)
            assert len(caplog.records) == 1  # the second request did not try the storage
            monotonic.now += 5
            after = await limiter.check(principal)
    finally:
        await limiter.close()
    assert (first, during, after) == (None, None, None)
    assert len(caplog.records) == 2
    assert "unreachable" in caplog.records[0].getMessage()


def test_limits_are_configured_per_role_with_sensible_defaults() -> None:
    settings = GatewaySettings()
    assert settings.rate_limit_storage == "memory://"
    limits = {role: settings.rate_limit_for(role) for role in Role}
    assert {role: (item.amount, item.get_expiry()) for role, item in limits.items() if item} == {
        Role.OPS: (3000, 60),
        Role.MARKETPLACE: (1200, 60),
        Role.TRAVELLER_APP: (600, 60),
        Role.SELLER: (300, 60),
        Role.RDB_OFFICER: (300, 60),
        Role.LENDER: (300, 60),
    }


def test_the_gateway_prefix_configures_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_STORAGE", REDIS_URL)
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_SELLER", "10 per second")
    monkeypatch.setenv("GATEWAY_RATE_LIMIT_OPS", "0")
    settings = GatewaySettings()
    seller = settings.rate_limit_for(Role.SELLER)
    assert settings.rate_limit_storage == REDIS_URL
    assert seller is not None and (seller.amount, seller.get_expiry()) == (10, 1)
    assert settings.rate_limit_for(Role.OPS) is None


@pytest.mark.parametrize("value", ["abc", "3/minute;5/hour", "0/minute", "-1/minute", "3/fortnight"])
def test_a_malformed_limit_is_refused(value: str) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(rate_limit_marketplace=value)


@pytest.mark.parametrize("value", ["", "127.0.0.1:6379", "memcached://127.0.0.1", "http://redis:6379"])
def test_the_storage_must_be_memory_or_redis(value: str) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(rate_limit_storage=value)
