"""The edge against a real service built from the shared kit (signed identity, body limit, problem handlers).

A caller's 500 leaves the connection open and never turns into another caller's 502; a stale pooled
connection is retried once on a fresh one, whatever the method; no upstream address leaks; and the
signed identity cannot be replayed or bent (query, body), expires, and survives a secret rotation.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from starlette.responses import RedirectResponse, Response

from gateway.app import create_app
from gateway.keys import create_key_sync
from gateway.settings import GatewaySettings
from shared.auth import IdentityDep, SignedIdentityMiddleware, sign_identity
from shared.errors import install_problem_handlers
from shared.http import BodyLimitMiddleware
from tests.gateway.conftest import problem
from tests.support.broker import free_port
from tests.support.databases import Databases
from tests.support.servers import ServerThread

NEW_SECRET = b"the-new-signing-secret"
OLD_SECRET = b"the-previous-signing-secret"
MAX_AGE_S = 30


def service_app() -> FastAPI:
    """A service as `create_service_app` assembles one, minus database and broker."""
    app = FastAPI()
    install_problem_handlers(app)

    @app.get("/v1/sellers/boom")
    async def boom() -> None:
        raise RuntimeError("a bug in the service")

    @app.api_route("/v1/sellers/echo", methods=["GET", "POST"])
    async def echo(request: Request, identity: IdentityDep) -> Response:
        body = await request.body()
        seen = {"query": request.scope["query_string"].decode(), "body": body.decode(), "role": identity.role.value}
        return Response(orjson.dumps(seen), media_type="application/json")

    @app.get("/v1/listings")
    async def listings() -> dict[str, list[str]]:
        return {"items": []}

    @app.get("/v1/listings/moved")
    async def moved(request: Request) -> Response:
        return RedirectResponse(f"{request.base_url}v1/listings?from=moved", status_code=307)

    app.add_middleware(SignedIdentityMiddleware, secret=(NEW_SECRET, OLD_SECRET), max_age_s=MAX_AGE_S)
    app.add_middleware(BodyLimitMiddleware, max_bytes=10_000)
    return app


@dataclass
class Edge:
    service: ServerThread
    gateway: ServerThread
    key: str

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.gateway.url, headers={"Authorization": f"Bearer {self.key}"})


@pytest.fixture(scope="module")
def edge(databases: Databases) -> Iterator[Edge]:
    service = ServerThread(service_app(), free_port()).start()
    database_url = databases.url("gateway_edge")
    settings = GatewaySettings(
        database_url=database_url,
        signing_secret=NEW_SECRET.decode(),
        log_level="CRITICAL",
        sellers_url=service.url,
        catalogue_url=service.url,
        upstream_max_connections=1,  # every request reuses the one pooled connection
    )
    gateway = ServerThread(create_app(settings), free_port()).start()
    key = create_key_sync(database_url, name="edge ops", role="ops")
    yield Edge(service=service, gateway=gateway, key=key)
    gateway.stop()
    service.stop()


# --- 1. one caller's 500 is nobody else's 502 --------------------------------------------------------


async def test_a_service_500_is_a_problem_and_the_next_request_on_the_pool_succeeds(edge: Edge) -> None:
    async with edge.client() as client:
        for i in range(5):
            crashed = await client.get("/v1/sellers/boom", headers={"X-Request-ID": f"req-boom-{i:04d}"})
            body = problem(crashed, 500)
            assert body["request_id"] == crashed.headers["x-request-id"] == f"req-boom-{i:04d}"
            assert "a bug in the service" not in crashed.text
            after = await client.post("/v1/sellers/echo", content=f"write {i}".encode())
            assert after.status_code == 200, after.text
            assert after.json()["body"] == f"write {i}"


async def _exchange(writer: asyncio.StreamWriter, reader: asyncio.StreamReader, request: bytes) -> tuple[int, bytes]:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if line.startswith(b"content-length")
    )
    return status, await reader.readexactly(length)


def _raw_get(host: str, path: str) -> bytes:
    headers = sign_identity(
        NEW_SECRET, principal="p", role="ops", subject=None, request_id="req-raw-0001", method="GET", path=path
    )
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}", *(f"{k}: {v}" for k, v in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def test_a_service_500_keeps_the_connection_open(edge: Edge) -> None:
    host = edge.service.url.removeprefix("http://")
    reader, writer = await asyncio.open_connection("127.0.0.1", edge.service.port)
    try:
        status, body = await _exchange(writer, reader, _raw_get(host, "/v1/sellers/boom"))
        assert status == 500 and orjson.loads(body)["request_id"] == "req-raw-0001"
        status, body = await _exchange(writer, reader, _raw_get(host, "/v1/sellers/echo"))  # same socket
        assert status == 200 and orjson.loads(body)["role"] == "ops"
    finally:
        writer.close()


class DroppingUpstream:
    """A server that answers the first request of each connection and drops the connection at the second.

    It stands for the race the gateway must survive: a pooled keep-alive connection the service has
    closed (idle timeout, restart) just as the gateway writes the next request into it.
    """

    def __init__(self) -> None:
        self.answered: list[bytes] = []
        self.dropped = 0
        self.port = free_port()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            for served in range(2):
                head = await reader.readuntil(b"\r\n\r\n")
                if served == 1:
                    self.dropped += 1
                    return
                lines = head.lower().split(b"\r\n")
                length = next((int(ln.split(b":")[1]) for ln in lines if ln.startswith(b"content-length")), 0)
                body = await reader.readexactly(length)
                self.answered.append(head.split(b"\r\n", 1)[0] + b" " + body)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            writer.close()


@pytest.fixture(scope="module")
def dropping(databases: Databases) -> Iterator[tuple[DroppingUpstream, str, str]]:
    upstream = DroppingUpstream()
    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(asyncio.start_server(upstream.handle, "127.0.0.1", upstream.port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    database_url = databases.url("gateway_stale")
    settings = GatewaySettings(
        database_url=database_url, log_level="CRITICAL", sellers_url=f"http://127.0.0.1:{upstream.port}"
    )
    gateway = ServerThread(create_app(settings), free_port()).start()
    key = create_key_sync(database_url, name="stale ops", role="ops")
    yield upstream, gateway.url, key
    gateway.stop()
    server.close()
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()


@pytest.mark.parametrize("method", ["POST", "PATCH", "GET", "DELETE"])
async def test_a_stale_pooled_connection_is_retried_once_on_a_fresh_one(
    dropping: tuple[DroppingUpstream, str, str], method: str
) -> None:
    upstream, url, key = dropping
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {key}"}) as client:
        first = await client.get("/v1/sellers/first")  # leaves one connection in the pool
        assert first.status_code == 200, first.text
        before = (len(upstream.answered), upstream.dropped)
        payload = f"{method} body {time.monotonic_ns()}".encode() if method in {"POST", "PATCH"} else None
        second = await client.request(method, "/v1/sellers/second", content=payload)
    assert second.status_code == 200, second.text
    assert upstream.dropped == before[1] + 1  # the pooled connection was used and dropped ...
    answered = upstream.answered[before[0] :]
    assert answered == [f"{method} /v1/sellers/second HTTP/1.1 ".encode() + (payload or b"")]  # ... then sent once


# --- 8. no upstream address --------------------------------------------------------------------------


async def test_no_upstream_address_in_any_header_or_body(edge: Edge) -> None:
    address = edge.service.url.removeprefix("http://")
    async with edge.client() as client:
        slash = await client.get("/v1/listings/")
        moved = await client.get("/v1/listings/moved")
    problem(slash, 404)
    assert moved.status_code == 307
    assert moved.headers["location"] == "/v1/listings?from=moved"
    for response in (slash, moved):
        assert address not in response.text
        assert all(address not in value for value in response.headers.values())


# --- 7. signed identity: replay, bending, expiry, rotation -------------------------------------------


def _signed(secret: bytes = NEW_SECRET, **overrides: Any) -> dict[str, str]:
    args: dict[str, Any] = {
        "principal": "p",
        "role": "ops",
        "subject": None,
        "request_id": "req-sig-0001",
        "method": "POST",
        "path": "/v1/sellers/echo",
        "query": "limit=1",
        "body": b'{"n":1}',
    }
    args.update(overrides)
    return sign_identity(secret, **args)


async def _post(
    edge: Edge, headers: dict[str, str], query: str = "limit=1", body: bytes = b'{"n":1}'
) -> httpx.Response:
    async with httpx.AsyncClient(base_url=edge.service.url) as direct:
        return await direct.post(f"/v1/sellers/echo?{query}", content=body, headers=headers)


def _refused(response: httpx.Response, status: int) -> dict[str, Any]:
    """A service's own refusal (straight to the service: no gateway to stamp a request id)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    return dict(response.json())


async def test_a_signed_request_is_accepted_once_and_a_replay_refused(edge: Edge) -> None:
    headers = _signed()
    first = await _post(edge, headers)
    assert first.status_code == 200, first.text
    assert first.json() == {"query": "limit=1", "body": '{"n":1}', "role": "ops"}
    assert "Replayed" in _refused(await _post(edge, headers), 401)["detail"]


async def test_the_same_client_request_id_gets_a_fresh_nonce_each_time(edge: Edge) -> None:
    async with edge.client() as client:
        for _ in range(3):
            response = await client.post(
                "/v1/sellers/echo", content=b"retry", headers={"X-Request-ID": "req-same-0001"}
            )
            assert response.status_code == 200, response.text


async def test_a_changed_query_is_refused(edge: Edge) -> None:
    _refused(await _post(edge, _signed(), query="limit=200"), 401)
    _refused(await _post(edge, _signed(), query=""), 401)


async def test_a_changed_or_missing_body_is_refused(edge: Edge) -> None:
    assert "Content-Digest" in _refused(await _post(edge, _signed(), body=b'{"n":2}'), 401)["detail"]
    _refused(await _post(edge, _signed(body=b""), body=b'{"n":1}'), 401)
    _refused(await _post(edge, _signed(), body=b""), 401)
    # A forged digest header does not help: the signature covers it.
    forged = _signed() | {"content-digest": "sha-256=:AAAA:"}
    _refused(await _post(edge, forged), 401)


async def test_the_previous_secret_verifies_during_a_rotation_and_others_do_not(edge: Edge) -> None:
    assert (await _post(edge, _signed(OLD_SECRET))).status_code == 200
    _refused(await _post(edge, _signed(b"some-other-secret")), 401)


async def test_an_expired_signature_is_refused(edge: Edge) -> None:
    stale = _signed(timestamp=int(time.time()) - MAX_AGE_S - 2)
    assert "Expired" in _refused(await _post(edge, stale), 401)["detail"]
    future = _signed(timestamp=int(time.time()) + MAX_AGE_S + 20)  # margin: a loaded machine is slow
    _refused(await _post(edge, future), 401)
