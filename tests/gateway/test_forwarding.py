"""Forwarding over real HTTP: signed identity, stripped headers, streaming, upstream failures, request ids."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tracemalloc
import uuid
from collections.abc import AsyncIterator

import orjson
import pytest

from shared.auth import IDENTITY_HEADERS, Role, verify_identity
from tests.gateway.conftest import FEED_ITEMS, MAX_BODY_BYTES, SECRET, Gateway, Upstream, feed_line, problem


@pytest.fixture(scope="module")
async def marketplace(gateway: Gateway) -> str:
    return str((await gateway.issue("marketplace", "mkt-tmall-global"))["key"])


@pytest.fixture(scope="module")
def caller(gateway: Gateway) -> str:
    """An ops key: the role × route table lets it reach every route group (tests/gateway/test_authz.py)."""
    return gateway.ops_key


def seen_headers(echo: dict[str, object]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in echo["headers"]:  # type: ignore[attr-defined]
        out.setdefault(name, []).append(value)
    return out


async def test_a_forwarded_request_carries_only_the_gateway_signed_identity(
    gateway: Gateway, upstream: Upstream, marketplace: str
) -> None:
    forged = {
        "X-Ewtp-Principal": "attacker",
        "X-Ewtp-Role": "ops",
        "X-Ewtp-Subject": "someone-else",
        "X-Ewtp-Timestamp": "1",
        "X-Ewtp-Signature": "0" * 64,
        "X-Request-ID": "req-forward-0001",
        "Host": "attacker.example",
    }
    async with gateway.client(marketplace) as client:
        response = await client.post("/v1/orders-not", headers=forged)  # unknown prefix: never forwarded
        problem(response, 404)
        response = await client.get("/v1/listings/lst-1", params={"q": "coffee beans", "page": "2"}, headers=forged)
    assert response.status_code == 200
    echo = response.json()
    headers = seen_headers(echo)
    for name in (*IDENTITY_HEADERS, "x-request-id"):
        assert len(headers[name]) == 1, name
    identity = verify_identity(
        SECRET.encode(), {k: v[0] for k, v in headers.items()}, "GET", echo["path"], max_age_s=60, query=echo["query"]
    )
    assert (identity.role, identity.subject, identity.request_id) == (
        Role.MARKETPLACE,
        "mkt-tmall-global",
        "req-forward-0001",
    )
    assert identity.principal == marketplace.split("_")[1]
    assert echo["query"] == "q=coffee+beans&page=2"
    assert "authorization" not in headers and "x-api-key" not in headers
    assert headers["host"] == [upstream.url.removeprefix("http://")]


async def test_the_signature_covers_the_path_the_service_decodes(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        response = await client.get("/v1/sellers/Kivu%20Hills%2Fcoop")
    echo = response.json()
    assert (echo["raw_path"], echo["path"]) == ("/v1/sellers/Kivu%20Hills%2Fcoop", "/v1/sellers/Kivu Hills/coop")
    headers = {k: v[0] for k, v in seen_headers(echo).items()}
    assert verify_identity(SECRET.encode(), headers, "GET", echo["path"], max_age_s=60).role is Role.OPS


async def test_request_bodies_stream_up_whole(gateway: Gateway, caller: str) -> None:
    body = os.urandom(MAX_BODY_BYTES - 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    async with gateway.client(caller) as client:
        sized = (await client.post("/v1/tourism/upload", content=body)).json()
        chunked = (await client.put("/v1/tourism/upload", content=chunks())).json()
    expected = hashlib.sha256(body).hexdigest()
    assert (sized["body_bytes"], sized["body_sha256"]) == (len(body), expected)
    assert (chunked["body_bytes"], chunked["body_sha256"]) == (len(body), expected)


async def test_an_oversized_body_is_refused_with_413(gateway: Gateway, caller: str) -> None:
    body = b"x" * (MAX_BODY_BYTES + 1)

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 100_000):
            yield body[start : start + 100_000]

    async with gateway.client(caller) as client:
        problem(await client.post("/v1/orders", content=body), 413)
        problem(await client.post("/v1/tourism/upload", content=chunks()), 413)


async def test_unknown_prefixes_are_404(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        for path in ("/v1/sellersX", "/v2/sellers", "/", "/v1/admin/other"):
            body = problem(await client.get(path), 404)
            assert body["instance"] == path


async def test_methods_outside_rest_are_not_forwarded(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        response = await client.request("TRACE", "/v1/sellers")
    problem(response, 405)
    assert "GET" in response.headers["allow"]


async def test_an_undeployed_service_is_503_naming_it(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        body = problem(await client.get("/v1/finance/applications"), 503)
    assert body["service"] == "finance" and "finance" in body["detail"]


async def test_an_unreachable_service_is_502_naming_it(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        body = problem(await client.post("/v1/orders", json={"lines": []}), 502)
    assert body["service"] == "orders" and "orders" in body["detail"]


async def test_a_slow_service_is_504_naming_it(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        body = problem(await client.get("/v1/logistics/slow"), 504)
    assert body["service"] == "logistics" and "logistics" in body["detail"]


async def test_upstream_statuses_and_problems_pass_through_unchanged(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        fresh = await client.get("/v1/sellers/etag")
        cached = await client.get("/v1/sellers/etag", headers={"If-None-Match": '"v7"'})
        gone = await client.get("/v1/sellers/gone")
    assert (fresh.status_code, fresh.headers["etag"], fresh.json()) == (200, '"v7"', {"version": 7})
    assert (cached.status_code, cached.headers["etag"], cached.content) == (304, '"v7"', b"")
    assert gone.status_code == 410
    assert gone.headers["content-type"] == "application/problem+json"
    assert gone.content == b'{"type":"https://errors.ewtp.rw/gone","title":"Gone","status":410,"detail":"withdrawn"}'


async def test_upstream_cookies_are_not_kept_for_other_callers(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        set_cookie = await client.get("/v1/sellers/cookie")
        assert "upstream_session" in set_cookie.headers["set-cookie"]
        client.cookies.clear()
        echo = (await client.get("/v1/sellers/after-cookie")).json()
    assert "cookie" not in seen_headers(echo)


async def test_the_response_streams_before_the_service_has_finished(
    gateway: Gateway, upstream: Upstream, caller: str
) -> None:
    upstream.release.clear()
    async with gateway.client(caller) as client, client.stream("GET", "/v1/listings/gated") as response:
        chunks = response.aiter_raw()
        first = await anext(chunks)
        upstream.release.set()  # the service sends the rest only now
        rest = b"".join([chunk async for chunk in chunks])
    assert first + rest == b"first;released"


async def test_a_100000_item_feed_passes_in_flat_memory(gateway: Gateway, caller: str) -> None:
    expected = hashlib.sha256(b"".join(feed_line(i) for i in range(FEED_ITEMS)))
    size = 0
    received = hashlib.sha256()
    tracemalloc.start()
    try:
        async with gateway.client(caller) as client, client.stream("GET", "/v1/listings/feed") as response:
            assert response.status_code == 200
            async for chunk in response.aiter_raw():
                size += len(chunk)
                received.update(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received.hexdigest() == expected.hexdigest()
    assert size > 9_000_000
    # Upstream, gateway and client all run in this process: buffering the feed anywhere would show.
    assert peak < size / 3, f"peak {peak} bytes for a {size}-byte feed"


async def test_a_well_formed_request_id_is_echoed_and_forwarded(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        response = await client.get("/v1/tourism/offers", headers={"X-Request-ID": "trace-abc-123456"})
    assert response.headers["x-request-id"] == "trace-abc-123456"
    assert seen_headers(response.json())["x-request-id"] == ["trace-abc-123456"]


async def test_a_missing_or_malformed_request_id_is_replaced(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        made = await client.get("/v1/tourism/offers")
        replaced = await client.get("/v1/tourism/offers", headers={"X-Request-ID": "bad id"})
    for response in (made, replaced):
        request_id = response.headers["x-request-id"]
        assert uuid.UUID(request_id).version == 4
        assert seen_headers(response.json())["x-request-id"] == [request_id]
    assert made.headers["x-request-id"] != replaced.headers["x-request-id"]


async def test_errors_carry_the_request_id_too(gateway: Gateway, caller: str) -> None:
    headers = {"X-Request-ID": "trace-errors-0001"}
    async with gateway.client(**headers) as anonymous:
        assert (await anonymous.get("/v1/sellers")).headers["x-request-id"] == "trace-errors-0001"
    async with gateway.client(caller, **headers) as client:
        for response in (
            await client.get("/v1/unknown"),
            await client.get("/v1/finance/x"),
            await client.get("/v1/orders"),
            await client.post("/v1/orders", content=b"x" * (MAX_BODY_BYTES + 1)),
        ):
            assert response.headers["x-request-id"] == "trace-errors-0001"


async def test_many_concurrent_requests_each_get_their_own_answer(gateway: Gateway, caller: str) -> None:
    async with gateway.client(caller) as client:
        responses = await asyncio.gather(*(client.get(f"/v1/catalogue-none/{i}") for i in range(5)))
        assert {r.status_code for r in responses} == {404}
        responses = await asyncio.gather(*(client.get(f"/v1/listings/item-{i}") for i in range(200)))
    assert [orjson.loads(r.content)["path"] for r in responses] == [f"/v1/listings/item-{i}" for i in range(200)]
