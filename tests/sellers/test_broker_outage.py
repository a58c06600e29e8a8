"""A seller registered while the broker is down is announced once the broker is back: nothing is lost."""

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from services.sellers.app import create_app
from shared.contracts.sellers import TOPIC
from shared.db import Database
from shared.tables import outbox_table
from tests.sellers.conftest import seller_body
from tests.support.broker import TansuBroker, free_port
from tests.support.databases import Databases
from tests.support.events import wait_for_events
from tests.support.platform import SECRET, service_settings
from tests.support.servers import ServerThread
from tests.support.signing import GatewaySigner


@pytest.fixture
def isolated(tmp_root: Path, databases: Databases) -> Iterator[tuple[TansuBroker, ServerThread, str]]:
    """A sellers instance on a broker of its own, so the outage touches no other test."""
    broker = TansuBroker(log_dir=tmp_root)
    broker.start()
    url = databases.url(f"sellers_outage_{uuid.uuid4().hex[:6]}")
    server = ServerThread(create_app(service_settings("sellers", url, broker.bootstrap)), free_port()).start()
    yield broker, server, url
    server.stop()
    broker.stop()


async def _pending(url: str) -> int:
    db = Database(url)
    try:
        async with db.read() as session:
            stmt = select(func.count()).select_from(outbox_table).where(outbox_table.c.published_at.is_(None))
            return int((await session.execute(stmt)).scalar_one())
    finally:
        await db.dispose()


def _signer() -> GatewaySigner:
    return GatewaySigner(SECRET.encode(), principal="officer-1", role="rdb_officer", request_id=uuid.uuid4().hex)


async def test_events_committed_during_an_outage_are_published_after_it(
    isolated: tuple[TansuBroker, ServerThread, str],
) -> None:
    broker, server, url = isolated
    broker.stop()
    async with httpx.AsyncClient(base_url=server.url, auth=_signer()) as client:
        created = await client.post("/v1/sellers", json=seller_body())
        assert created.status_code == 201  # the request path never waits for the broker
        seller_id = created.json()["id"]
        ready = await client.get("/health/ready")
        assert ready.status_code == 503
        assert ready.json()["checks"]["broker"].startswith("failing")
    await asyncio.sleep(1.0)
    assert await _pending(url) == 1
    broker.start()
    found = await wait_for_events(
        broker.bootstrap, TOPIC, lambda es: any(e.subject == seller_id for e in es), timeout_s=40
    )
    assert [e.type for e in found if e.subject == seller_id] == ["rw.ewtp.seller.registered.v1"]
