"""The gateway's `/health/ready`: each upstream's readiness, cached, no fan-out per probe; false while a
required upstream is down and true again when it returns (a real service process restarted on its port)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass

import aiohttp
import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.readiness import UpstreamReadiness
from gateway.routing import Service
from gateway.settings import GatewaySettings
from tests.gateway.conftest import SECRET
from tests.support.broker import free_port
from tests.support.databases import Databases
from tests.support.servers import ServerThread
from tests.support.waiting import eventually


def service_app() -> FastAPI:
    app = FastAPI()

    @app.get("/health/ready")
    async def ready() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class Setup:
    gateway: ServerThread
    sellers_port: int
    sellers: ServerThread | None

    @property
    def readiness(self) -> UpstreamReadiness:
        app = self.gateway.server.config.app
        assert isinstance(app, FastAPI)
        readiness = app.state.readiness
        assert isinstance(readiness, UpstreamReadiness)
        return readiness


@pytest.fixture(scope="module")
def setup(databases: Databases) -> Iterator[Setup]:
    sellers_port = free_port()
    sellers = ServerThread(service_app(), sellers_port).start()
    settings = GatewaySettings(
        database_url=databases.url("gateway_readiness"),
        signing_secret=SECRET,
        log_level="WARNING",
        sellers_url=f"http://127.0.0.1:{sellers_port}",
        catalogue_url=f"http://127.0.0.1:{free_port()}",  # deployed but down: optional here
        orders_url="",
        finance_url="",
        logistics_url="",
        tourism_url="",
        required_upstreams="sellers",
        readiness_cache_s=0.5,
    )
    gateway = ServerThread(create_app(settings), free_port()).start()
    running = Setup(gateway=gateway, sellers_port=sellers_port, sellers=sellers)
    yield running
    gateway.stop()
    if running.sellers is not None:
        running.sellers.stop()


async def probe(setup: Setup) -> httpx.Response:
    async with httpx.AsyncClient(base_url=setup.gateway.url) as client:
        return await client.get("/health/ready")


async def test_ready_reports_each_upstream_and_ignores_an_optional_one_down(setup: Setup) -> None:
    response = await probe(setup)
    assert response.status_code == 200, response.text
    checks = response.json()["checks"]
    assert checks["database"] == checks["sellers"] == "ok"
    assert checks["catalogue"].startswith("failing")
    assert set(checks) == {"database", "sellers", "catalogue"}  # undeployed services are not asked


async def test_many_probes_make_one_round_of_upstream_requests(setup: Setup) -> None:
    """Concurrent and repeated probes within the cache lifetime share one round (a frozen clock)."""
    now = [0.0]
    async with aiohttp.ClientSession() as session:
        readiness = UpstreamReadiness(
            {Service.SELLERS: f"http://127.0.0.1:{setup.sellers_port}", Service.ORDERS: ""},
            lambda: session,
            ttl_s=1.0,
            clock=lambda: now[0],
        )
        answers = await asyncio.gather(*(readiness.snapshot() for _ in range(50)))
        answers += [await readiness.snapshot() for _ in range(50)]
        assert readiness.rounds == 1
        assert all(a == {"sellers": "ok"} for a in answers)
        now[0] += 1.0
        await readiness.snapshot()
        assert readiness.rounds == 2


async def test_not_ready_while_a_required_service_is_down_and_ready_when_it_returns(setup: Setup) -> None:
    assert (await probe(setup)).status_code == 200
    assert setup.sellers is not None
    setup.sellers.stop()
    setup.sellers = None

    async def not_ready() -> httpx.Response | None:
        response = await probe(setup)
        return response if response.status_code == 503 else None

    down = await eventually(not_ready, timeout_s=15, what="the gateway to report sellers down")
    assert down.headers["content-type"] == "application/problem+json"
    assert down.json()["checks"]["sellers"].startswith("failing")
    assert "sellers" in down.json()["detail"]
    async with httpx.AsyncClient(base_url=setup.gateway.url) as client:
        assert (await client.get("/health/live")).status_code == 200  # live stays cheap and true

    setup.sellers = ServerThread(service_app(), setup.sellers_port).start()

    async def ready_again() -> httpx.Response | None:
        response = await probe(setup)
        return response if response.status_code == 200 else None

    back = await eventually(ready_again, timeout_s=15, what="the gateway to report sellers back")
    assert back.json()["checks"]["sellers"] == "ok"
