"""A real gateway in front of a tiny upstream, both on real uvicorn servers, for the gateway's tests.

The upstream stands in for every deployed service: it echoes what it received (so tests see exactly
what a service would see), streams large or gated bodies, sleeps, and answers 304 and 410. Orders
points at a port nobody listens on (502), finance is not deployed (503), and the upstream timeout is
short so the sleeping route yields a 504.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import count
from typing import Any

import httpx
import orjson
import pytest
from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from gateway.app import create_app
from gateway.keys import KeyStore, create_key_sync, migrate
from gateway.settings import GatewaySettings
from shared.db import Database
from shared.settings import DEV_SIGNING_SECRET
from tests.support.broker import free_port
from tests.support.databases import Databases
from tests.support.servers import ServerThread

SECRET = DEV_SIGNING_SECRET
#: Short, so `/slow` (which sleeps SLOW_S) times out; long enough for any healthy answer here.
UPSTREAM_TIMEOUT_S = 1.0
SLOW_S = 3.0
MAX_BODY_BYTES = 1_000_000
FEED_ITEMS = 100_000

_db_ids = count()


def feed_line(i: int) -> bytes:
    return b'{"id":"lst-%08d","title":"Rwanda specialty coffee, fully washed, 1 kg","price":{"amount":"12.50"}}\n' % i


@dataclass
class Upstream:
    server: ServerThread
    #: Set by a test to let `/gated` finish its body.
    release: threading.Event

    @property
    def url(self) -> str:
        return self.server.url


def upstream_app(release: threading.Event) -> FastAPI:
    app = FastAPI()

    @app.get("/v1/listings/feed")
    async def feed(items: int = FEED_ITEMS) -> StreamingResponse:
        async def lines() -> AsyncIterator[bytes]:
            for start in range(0, items, 1000):
                yield b"".join(feed_line(i) for i in range(start, min(start + 1000, items)))

        return StreamingResponse(lines(), media_type="application/x-ndjson")

    @app.get("/v1/listings/gated")
    async def gated() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            yield b"first;"
            released = await asyncio.to_thread(release.wait, 10)
            yield b"released" if released else b"never-released"

        return StreamingResponse(parts(), media_type="text/plain")

    @app.get("/v1/logistics/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(SLOW_S)
        return {"status": "late"}

    @app.get("/v1/sellers/etag")
    async def etag(request: Request) -> Response:
        if request.headers.get("if-none-match") == '"v7"':
            return Response(status_code=304, headers={"ETag": '"v7"'})
        return JSONResponse({"version": 7}, headers={"ETag": '"v7"'})

    @app.get("/v1/sellers/gone")
    async def gone() -> Response:
        body = b'{"type":"https://errors.ewtp.rw/gone","title":"Gone","status":410,"detail":"withdrawn"}'
        return Response(body, status_code=410, media_type="application/problem+json")

    @app.get("/v1/sellers/cookie")
    async def cookie() -> Response:
        response = JSONResponse({"ok": True})
        response.set_cookie("upstream_session", "secret-of-another-caller")
        return response

    @app.api_route("/v1/{group}/sleep", methods=["GET", "POST"])
    async def sleep(group: str, s: float) -> dict[str, str]:
        await asyncio.sleep(s)
        return {"slept": str(s)}

    @app.get("/v1/sellers/busy")
    async def busy() -> Response:
        body = b'{"type":"https://errors.ewtp.rw/service-unavailable","title":"Service Unavailable","status":503}'
        return Response(body, status_code=503, media_type="application/problem+json", headers={"Retry-After": "7"})

    @app.api_route("/{path:path}", methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
    async def echo(request: Request) -> Response:
        body = b""
        async for chunk in request.stream():
            body += chunk
        seen = {
            "method": request.method,
            "path": request.scope["path"],
            "raw_path": request.scope["raw_path"].decode("latin-1"),
            "query": request.scope["query_string"].decode("latin-1"),
            "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in request.scope["headers"]],
            "body_bytes": len(body),
            "body_sha256": hashlib.sha256(body).hexdigest(),
        }
        return Response(orjson.dumps(seen), media_type="application/json")

    return app


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    release = threading.Event()
    server = ServerThread(upstream_app(release), free_port()).start()
    yield Upstream(server=server, release=release)
    release.set()
    server.stop()


@dataclass
class Gateway:
    server: ServerThread
    database_url: str
    ops_key: str

    @property
    def url(self) -> str:
        return self.server.url

    def client(self, key: str | None = None, **headers: str) -> httpx.AsyncClient:
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=30)

    async def issue(self, role: str, subject_id: str | None = None) -> dict[str, Any]:
        return await self.issue_with(role=role, subject_id=subject_id)

    async def issue_with(self, **fields: Any) -> dict[str, Any]:
        """A key issued through the admin API with `fields` (role, subject_id, expires_at, rate_limit)."""
        async with self.client(self.ops_key) as ops:
            response = await ops.post("/v1/admin/api-keys", json={"name": f"test {fields['role']}", **fields})
        assert response.status_code == 201, response.text
        return dict(response.json())


@pytest.fixture(scope="session")
def gateway(upstream: Upstream, databases: Databases) -> Iterator[Gateway]:
    database_url = databases.url("gateway_http")
    settings = GatewaySettings(
        database_url=database_url,
        signing_secret=SECRET,
        log_level="WARNING",
        sellers_url=upstream.url,
        catalogue_url=upstream.url,
        orders_url=f"http://127.0.0.1:{free_port()}",  # nothing listens there
        finance_url="",
        logistics_url=upstream.url,
        tourism_url=upstream.url,
        upstream_timeout_s=UPSTREAM_TIMEOUT_S,
        upstream_connect_timeout_s=1.0,
        max_body_bytes=MAX_BODY_BYTES,
        required_upstreams="sellers,catalogue,logistics,tourism",  # orders is down on purpose
    )
    server = ServerThread(create_app(settings), free_port()).start()
    ops_key = create_key_sync(database_url, name="test ops", role="ops")
    yield Gateway(server=server, database_url=database_url, ops_key=ops_key)
    server.stop()


@pytest.fixture
async def key_store(databases: Databases) -> AsyncIterator[KeyStore]:
    """A key store on a fresh, migrated gateway database (no cache unless a test sets one)."""
    url = databases.url(f"gateway_keys{next(_db_ids)}")
    await migrate(url)
    db = Database(url)
    yield KeyStore(db)
    await db.dispose()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-request-id"]
    return dict(response.json())
