"""A cursor we did not issue is 400 problem+json on both databases, never 500 (issue 7, item 4):
listing search in every sort, and the feed's change cursor."""

from __future__ import annotations

from typing import Any

import pytest

from tests.catalogue.conftest import Seller, problem, published_listing
from tests.support.cursors import HOSTILE_TIMESTAMPS, forge, forge_raw
from tests.support.platform import Platform

SOME_ID = "00000000-0000-4000-8000-000000000000"

#: (sort, extra query, cursor)
CASES: list[tuple[str, dict[str, Any], str]] = [
    *[("-created_at", {}, forge({"s": "-created_at", "k": [t, SOME_ID]})) for t in HOSTILE_TIMESTAMPS],
    *[("created_at", {}, forge({"s": "created_at", "k": [t, SOME_ID]})) for t in HOSTILE_TIMESTAMPS],
    ("price", {"currency": "USD"}, forge({"s": "price", "k": [2**63, SOME_ID]})),
    ("price", {"currency": "USD"}, forge_raw(b'{"s": "price", "k": [18446744073709551616, "x"]}')),
    ("-price", {"currency": "USD"}, forge({"s": "-price", "k": [-1, SOME_ID]})),
    ("-price", {"currency": "USD"}, forge({"s": "-price", "k": [True, SOME_ID]})),
    ("-price", {"currency": "USD"}, forge({"s": "-price", "k": [1.5, SOME_ID]})),
    ("title", {}, forge({"s": "title", "k": ["a\x00b", SOME_ID]})),
    ("title", {}, forge_raw(b'{"s": "title", "k": ["\\ud800", "x"]}')),
    ("title", {}, forge({"s": "title", "k": ["a", 2**63]})),
    ("title", {}, forge({"s": "-created_at", "k": ["2026-01-01T00:00:00+00:00", SOME_ID]})),
]


@pytest.mark.parametrize(("sort", "extra", "cursor"), CASES)
async def test_a_tampered_search_cursor_is_400(
    platform: Platform, sort: str, extra: dict[str, Any], cursor: str
) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        response = await ops.get("/v1/listings", params={"sort": sort, "cursor": cursor, **extra})
        assert "cursor" in problem(response, 400)["detail"].lower()


@pytest.mark.parametrize(
    "cursor",
    [
        forge({"seq": 2**63}),
        forge({"seq": -1}),
        forge({"seq": True}),
        forge({"seq": "1"}),
        forge_raw(b'{"seq": 18446744073709551616}'),
    ],
)
async def test_a_tampered_feed_cursor_is_400(platform: Platform, cursor: str) -> None:
    async with platform.client(platform.keys["marketplace"]) as market:
        response = await market.get("/v1/feeds/listings/changes", params={"cursor": cursor})
        assert "cursor" in problem(response, 400)["detail"].lower()


async def test_issued_cursors_still_page_in_every_sort(platform: Platform, module_seller: Seller) -> None:
    for _ in range(3):
        await published_listing(platform, module_seller)
    async with platform.client(platform.keys["ops"]) as ops:
        for sort, extra in (("-created_at", {}), ("created_at", {}), ("price", {"currency": "USD"}), ("title", {})):
            query = {"sort": sort, "limit": 2, "seller_id": module_seller.id, **extra}
            first = (await ops.get("/v1/listings", params=query)).json()
            second = await ops.get("/v1/listings", params={**query, "cursor": first["next_cursor"]})
            assert second.status_code == 200, second.text
            assert {x["id"] for x in second.json()["items"]}.isdisjoint({x["id"] for x in first["items"]})
