"""A pending order past its deadline is rejected (`timeout`); a late stock.reserved for it is released.

Catalogue answers an order in milliseconds, so the deadline can only pass when nobody answers: this
module runs an orders instance of its own on a broker of its own (no catalogue), with a one-second
deadline, and plays catalogue itself by producing the contracts' events on that broker.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from services.orders.app import create_app
from services.orders.models import ListingProjection
from shared.contracts import catalogue, orders
from shared.db import Database
from tests.orders.conftest import order_body
from tests.support.broker import TansuBroker, free_port
from tests.support.databases import Databases
from tests.support.events import cloud_event, produce_events, wait_for_events
from tests.support.platform import SECRET, service_settings
from tests.support.servers import ServerThread
from tests.support.signing import GatewaySigner
from tests.support.waiting import eventually


class Isolated:
    def __init__(self, broker: TansuBroker, server: ServerThread, url: str) -> None:
        self.broker, self.server, self.url = broker, server, url

    def client(self) -> httpx.AsyncClient:
        signer = GatewaySigner(
            SECRET.encode(), principal="mkt-1", role="marketplace", subject="mkt-solo", request_id=uuid.uuid4().hex
        )
        return httpx.AsyncClient(base_url=self.server.url, auth=signer)


@pytest.fixture(scope="module")
async def isolated(tmp_root: Path, databases: Databases) -> AsyncIterator[Isolated]:
    broker = TansuBroker(log_dir=tmp_root)
    broker.start()
    url = databases.url(f"orders_timeout_{uuid.uuid4().hex[:6]}")
    settings = service_settings("orders", url, broker.bootstrap, pending_timeout_s=1.0, timeout_sweep_interval_s=0.2)
    server = ServerThread(create_app(settings), free_port()).start()
    yield Isolated(broker, server, url)
    server.stop()
    broker.stop()


async def _publish_listing(isolated: Isolated) -> str:
    listing_id = str(uuid.uuid4())
    data = catalogue.ListingPublishedV1(
        listing_id=listing_id,
        seller_id="seller-solo",
        sku="RW-TEA-1",
        title="Rwanda black tea, 500 g",
        price=catalogue.LinePrice(amount="8.50", currency="USD"),
        hs_code="090230",
        unit_net_weight_g=500,
        status="published",
        version=2,
        occurred_at=datetime.now(UTC),
    )
    await produce_events(isolated.broker.bootstrap, catalogue.TOPIC, cloud_event(data, subject=listing_id))
    database = Database(isolated.url)
    try:

        async def known() -> bool:
            async with database.read() as session:
                return (
                    await session.scalar(select(ListingProjection.id).where(ListingProjection.id == listing_id))
                    is not None
                )

        await eventually(known, what="the listing projection")
    finally:
        await database.dispose()
    return listing_id


async def test_a_pending_order_times_out_and_a_late_reservation_is_released(isolated: Isolated) -> None:
    listing_id = await _publish_listing(isolated)
    async with isolated.client() as client:
        placed = await client.post("/v1/orders", json=order_body((listing_id, 2)))
        assert placed.status_code == 201, placed.text
        order_id = placed.json()["id"]

        async def rejected() -> dict | None:  # type: ignore[type-arg]
            body = (await client.get(f"/v1/orders/{order_id}")).json()
            return body if body["status"] == "rejected" else None

        order = await eventually(rejected, what="the timeout")
        assert order["reject_reason"] == "timeout"

        late = catalogue.StockReservedV1(
            order_id=order_id,
            occurred_at=datetime.now(UTC),
            lines=[catalogue.ReservedLine(line_id="1", listing_id=listing_id, quantity=2)],
        )
        await produce_events(isolated.broker.bootstrap, catalogue.TOPIC, cloud_event(late, subject=order_id))

        def told_twice(events: list) -> bool:  # type: ignore[type-arg]
            mine = [e for e in events if e.subject == order_id and e.type == orders.OrderRejectedV1.TYPE]
            return len(mine) >= 2

        found = await wait_for_events(isolated.broker.bootstrap, orders.TOPIC, told_twice)
        mine = [e.type for e in found if e.subject == order_id]
        # placed, rejected on timeout, rejected again so catalogue releases the late reservation
        assert mine == [orders.OrderPlacedV1.TYPE, orders.OrderRejectedV1.TYPE, orders.OrderRejectedV1.TYPE]
        assert all(e.data["reason"] == "timeout" for e in found if e.type == orders.OrderRejectedV1.TYPE)

        still = (await client.get(f"/v1/orders/{order_id}")).json()
        assert (still["status"], still["reject_reason"]) == ("rejected", "timeout")
        moves = (await client.get(f"/v1/orders/{order_id}/history")).json()["transitions"]
    assert [(m["action"], m["to_status"], m["actor"]) for m in moves] == [
        ("place", "pending", "marketplace:mkt-1"),
        ("timeout", "rejected", "system:timeout"),
        ("stock_reserved", "rejected", None),
    ]
    assert moves[-1]["note"] == "release_stock"
