"""The snapshot is one consistent read: writes made while it streams are not in it, but in the delta.

The gateway and uvicorn send faster than a test can interleave, so this test drives a second
catalogue app on the run's database directly over ASGI, streaming 10 rows per round trip, and makes
its writes (through the gateway, on the real service) between two chunks.
"""

from __future__ import annotations

import uuid
from typing import Any

import orjson
from starlette.types import Message

from services.catalogue.app import create_app
from services.catalogue.settings import CatalogueSettings
from shared.auth import sign_identity
from tests.catalogue.conftest import Seller, create_listing, published_listing
from tests.catalogue.test_feed import about, changes
from tests.support.platform import SECRET, Platform


async def test_writes_during_a_streamed_snapshot_go_to_the_delta_not_the_snapshot(
    platform: Platform, seller: Seller
) -> None:
    ours = [await published_listing(platform, seller) for _ in range(12)]
    async with platform.client(seller.key) as own:
        drafts = [await create_listing(own) for _ in range(3)]
    victim = max(ours, key=lambda x: x["id"])
    newcomer = max(drafts, key=lambda x: x["id"])

    settings = CatalogueSettings(
        database_url=platform.urls["catalogue"],
        kafka_bootstrap=platform.broker.bootstrap,
        signing_secret=SECRET,
        run_migrations=False,
        feed_chunk_size=10,
        feed_prune_interval_s=0,
        log_level="WARNING",
    )
    app = create_app(settings)  # no lifespan: no relay, no consumers, only the routes
    path = "/v1/feeds/listings"
    identity = sign_identity(
        SECRET.encode(),
        principal="test-market",
        role="marketplace",
        subject="mkt-test",
        request_id=str(uuid.uuid4()),
        method="GET",
        path=path,
        query="format=jsonl",
    )
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.4"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"format=jsonl",
        "root_path": "",
        "headers": [(k.encode(), v.encode()) for k, v in identity.items()],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
    }
    started: dict[str, Any] = {}
    chunks: list[bytes] = []
    wrote = False

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        nonlocal wrote
        if message["type"] == "http.response.start":
            started.update(message)
            return
        body = message.get("body", b"")
        if body:
            chunks.append(body)
        if body and not wrote:
            wrote = True
            async with platform.client(seller.key) as own:
                assert (await own.post(f"/v1/listings/{victim['id']}/withdraw")).status_code == 200
                assert (await own.post(f"/v1/listings/{newcomer['id']}/publish")).status_code == 200

    try:
        await app(scope, receive, send)
    finally:
        await app.state.parts.db.dispose()

    assert started["status"] == 200
    headers = {k.decode(): v.decode() for k, v in started["headers"]}
    assert wrote
    assert len(chunks) > 1, "the snapshot should have come in several chunks"
    items = [orjson.loads(line) for line in b"".join(chunks).splitlines() if line]
    ids = [i["id"] for i in items]
    assert ids == sorted(set(ids))
    assert len(items) == int(headers["x-feed-count"])
    assert victim["id"] in ids  # withdrawn after the snapshot began: still in it
    assert newcomer["id"] not in ids  # published after the snapshot began: not in it
    assert {x["id"] for x in ours} <= set(ids)

    async with platform.client(platform.keys["marketplace"]) as market:
        delta = await changes(market, headers["x-feed-cursor"])
    assert [c["op"] for c in about(delta["items"], victim["id"])] == ["delete"]
    assert [c["op"] for c in about(delta["items"], newcomer["id"])] == ["upsert"]
