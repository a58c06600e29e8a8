"""The lender's review queue: filters (status, product, amount, age) and keyset cursors we issued only."""

from __future__ import annotations

from typing import Any

import pytest

from tests.finance.conftest import BASE, application_body, make_seller
from tests.support.cursors import HOSTILE_TIMESTAMPS, forge, forge_raw
from tests.support.platform import Platform
from tests.support.problems import problem

# Guarantees in RWF within this band are made by this module only.
BAND = {"product": "guarantee", "currency": "RWF", "min_amount": "1234501", "max_amount": "1234505"}


async def _pages(client: Any, params: dict[str, Any]) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        response = await client.get(BASE, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([i["id"] for i in body["items"]])
        cursor = body["next_cursor"]
        if cursor is None:
            return pages


async def test_the_queue_filters_and_pages_without_skipping_or_repeating(platform: Platform) -> None:
    seller = await make_seller(platform)
    ids: list[str] = []
    async with platform.client(seller.key) as own:
        for n in range(1, 6):
            body = application_body(product="guarantee", currency="RWF", amount=f"123450{n}", tenor_days=30)
            app = (await own.post(BASE, json=body)).json()
            ids.append(app["id"])
            if n < 5:  # the last stays a draft: lenders never see drafts
                assert (await own.post(f"{BASE}/{app['id']}/submit")).status_code == 200
        own_pages = await _pages(own, {**BAND, "limit": 2})
    assert sum(own_pages, []) == ids
    async with platform.client(platform.keys["lender"]) as bank:
        pages = await _pages(bank, {**BAND, "limit": 2})
        assert pages == [ids[0:2], ids[2:4]] or pages == [ids[0:2], ids[2:4], []]
        assert sum(await _pages(bank, {**BAND, "min_amount": "1234503"}), []) == ids[2:4]
        assert sum(await _pages(bank, {**BAND, "status": "draft"}), []) == []
        assert sum(await _pages(bank, {**BAND, "max_age_days": 1}), []) == ids[:4]
        assert sum(await _pages(bank, {**BAND, "min_age_days": 1}), []) == []
        assert sum(await _pages(bank, {**BAND, "product": "invoice_finance"}), []) == []
        assert (await bank.post(f"{BASE}/{ids[0]}/review")).status_code == 200
        assert sum(await _pages(bank, {**BAND, "status": "under_review"}), []) == [ids[0]]
    async with platform.client(platform.keys["ops"]) as ops:
        assert sum(await _pages(ops, {**BAND, "limit": 3}), []) == ids


@pytest.mark.parametrize(
    "cursor",
    [
        "%%%",
        forge([1, 2]),
        forge({"t": "2026-01-01T00:00:00+00:00"}),
        forge({"t": "2026-01-01T00:00:00+00:00", "id": "a\x00b"}),
        forge_raw(b'{"t": "2026-01-01T00:00:00+00:00", "id": 123456789012345678901234}'),
        forge_raw(b'{"t": "2026-01-01T00:00:00+00:00", "id": "\\ud800"}'),
        *(forge({"t": t, "id": "x"}) for t in HOSTILE_TIMESTAMPS),
    ],
)
async def test_a_cursor_we_did_not_issue_is_400(platform: Platform, cursor: str) -> None:
    async with platform.client(platform.keys["lender"]) as bank:
        problem(await bank.get(BASE, params={"cursor": cursor}), 400)
