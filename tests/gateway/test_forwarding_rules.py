"""Forwarding rules at the edge: per-route timeouts, X-Forwarded-* and trusted proxies, CORS per
origin, Retry-After passed through. Real gateways over real HTTP in front of the echoing upstream.

The gateways run as in production: uvicorn with `proxy_headers` off (`--no-proxy-headers`), so the
gateway's own trusted-proxy rule (`GATEWAY_TRUSTED_PROXIES`) is the only one; uvicorn's default would
believe X-Forwarded-For from 127.0.0.1 before the gateway sees the request.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import ValidationError

from gateway.app import create_app
from gateway.keys import create_key_sync
from gateway.settings import GatewaySettings
from tests.gateway.conftest import SECRET, Gateway, Upstream, problem
from tests.gateway.test_forwarding import seen_headers
from tests.support.broker import free_port
from tests.support.databases import Databases
from tests.support.servers import ServerThread

SHOP = "https://shop.example.cn"
TRAVEL = "https://app.visitrwanda.example"


def start_gateway(upstream: Upstream, database_url: str, **overrides: Any) -> Gateway:
    settings = GatewaySettings(
        database_url=database_url,
        signing_secret=SECRET,
        log_level="WARNING",
        **{f"{name}_url": upstream.url for name in ("sellers", "catalogue", "orders", "finance", "logistics")},
        tourism_url=upstream.url,
        **overrides,
    )
    thread = ServerThread(create_app(settings), free_port())
    thread.server.config.proxy_headers = False  # as `uvicorn --no-proxy-headers`
    thread.start()
    ops_key = create_key_sync(database_url, name="edge ops", role="ops")
    return Gateway(server=thread, database_url=database_url, ops_key=ops_key)


@pytest.fixture(scope="module")
def edge_gateway(upstream: Upstream, databases: Databases) -> Iterator[Gateway]:
    gateway = start_gateway(
        upstream,
        databases.url("gateway_forwarding_rules"),
        upstream_timeout_s=1.0,
        upstream_write_timeout_s=0.3,
        upstream_feed_timeout_s=5.0,
        cors_origins={SHOP: ["GET"], TRAVEL: ["GET", "POST", "DELETE"]},
        trusted_proxies="10.0.0.0/8",  # not the test client (127.0.0.1)
    )
    yield gateway
    gateway.server.stop()


@pytest.fixture(scope="module")
def behind_proxy(upstream: Upstream, edge_gateway: Gateway) -> Iterator[Gateway]:
    # The same key database as `edge_gateway` (already migrated): one database fewer to create and drop.
    gateway = start_gateway(upstream, edge_gateway.database_url, trusted_proxies="127.0.0.1/32")
    yield gateway
    gateway.server.stop()


async def test_timeouts_are_per_route_kind(edge_gateway: Gateway) -> None:
    async with edge_gateway.client(edge_gateway.ops_key) as ops:
        assert (await ops.get("/v1/sellers/sleep", params={"s": 0.6})).status_code == 200  # read: 1 s
        slow_write = problem(await ops.post("/v1/sellers/sleep", params={"s": 0.6}), 504)  # write: 0.3 s
        assert slow_write["service"] == "sellers"
        problem(await ops.get("/v1/sellers/sleep", params={"s": 1.5}), 504)
        assert (await ops.get("/v1/feeds/sleep", params={"s": 1.5})).status_code == 200  # feed: 5 s


async def test_retry_after_passes_through(edge_gateway: Gateway) -> None:
    async with edge_gateway.client(edge_gateway.ops_key) as ops:
        busy = await ops.get("/v1/sellers/busy")
    assert busy.status_code == 503 and busy.headers["retry-after"] == "7"
    assert busy.headers["content-type"] == "application/problem+json"


async def test_client_forwarding_headers_are_replaced_unless_from_a_trusted_proxy(
    edge_gateway: Gateway, behind_proxy: Gateway
) -> None:
    forged: dict[str, Any] = {
        "X-Forwarded-For": "203.0.113.9",
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "evil.example",
        "Forwarded": "for=203.0.113.9",
    }
    async with edge_gateway.client(edge_gateway.ops_key, **forged) as client:
        seen = seen_headers((await client.get("/v1/listings/x")).json())
    host = edge_gateway.url.removeprefix("http://")
    assert (seen["x-forwarded-for"], seen["x-forwarded-proto"], seen["x-forwarded-host"]) == (
        ["127.0.0.1"],
        ["http"],
        [host],
    )
    assert "forwarded" not in seen
    async with behind_proxy.client(behind_proxy.ops_key, **forged) as client:
        seen = seen_headers((await client.get("/v1/listings/x")).json())
    assert seen["x-forwarded-for"] == ["203.0.113.9, 127.0.0.1"]
    assert (seen["x-forwarded-proto"], seen["x-forwarded-host"]) == (["https"], ["evil.example"])


async def test_cors_preflight_and_answers_per_origin(edge_gateway: Gateway) -> None:
    async with edge_gateway.client() as browser:
        preflight = await browser.options(
            "/v1/tourism/holds", headers={"Origin": TRAVEL, "Access-Control-Request-Method": "POST"}
        )
        assert preflight.status_code == 204  # answered without a key
        assert preflight.headers["access-control-allow-origin"] == TRAVEL
        assert preflight.headers["access-control-allow-methods"] == "DELETE, GET, POST"
        assert "Authorization" in preflight.headers["access-control-allow-headers"]
        shop = await browser.options("/v1/listings", headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"})
        assert shop.headers["access-control-allow-methods"] == "GET"
        stranger = await browser.options(
            "/v1/listings", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
        )
        assert "access-control-allow-origin" not in stranger.headers
        refused = await browser.get("/v1/listings", headers={"Origin": SHOP})  # no key: 401, readable by the page
        problem(refused, 401)
        assert refused.headers["access-control-allow-origin"] == SHOP
        assert "X-Request-ID" in refused.headers["access-control-expose-headers"]
    async with edge_gateway.client(edge_gateway.ops_key, Origin=SHOP) as page:
        answer = await page.get("/v1/listings/x")
    assert answer.status_code == 200 and answer.headers["access-control-allow-origin"] == SHOP
    assert answer.headers["vary"] == "Origin"


@pytest.mark.parametrize(
    "overrides",
    [
        {"trusted_proxies": "10.0.0.0/33"},
        {"trusted_proxies": "proxy.local"},
        {"cors_origins": {"shop.example": ["GET"]}},
        {"cors_origins": {"https://shop.example/path": ["GET"]}},
        {"cors_origins": {"https://shop.example": []}},
        {"cors_origins": {"https://shop.example": ["FETCH"]}},
    ],
)
def test_bad_edge_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        GatewaySettings(**overrides)
