"""Bad input of every kind is a 4xx problem naming the field, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.orders.conftest import counts, listing, order_body
from tests.support.factories import Seller
from tests.support.platform import Platform
from tests.support.problems import fields, problem

JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
async def known(platform: Platform, seller: Seller) -> dict[str, Any]:
    return await listing(platform, seller, on_hand=10)


def _cases(listing_id: str) -> list[tuple[dict[str, Any], str]]:
    line = {"listing_id": listing_id, "quantity": 1}
    return [
        ({"lines": [{**line, "quantity": 0}]}, "lines.0.quantity"),
        ({"lines": [{**line, "quantity": 2**31}]}, "lines.0.quantity"),
        ({"lines": [{**line, "quantity": True}]}, "lines.0.quantity"),
        ({"lines": [{**line, "quantity": 1.5}]}, "lines.0.quantity"),
        ({"lines": [{"listing_id": str(uuid.uuid4()), "quantity": 1}]}, "lines.0.listing_id"),
        ({"lines": [line, line]}, "lines"),
        ({"lines": [{**line, "listing_id": "１２３"}]}, "lines.0.listing_id"),
        ({"lines": [line] * 1000}, "lines"),
        ({"lines": []}, "lines"),
        ({"incoterm": "FOO"}, "incoterm"),
        ({"channel": "retail"}, "channel"),
        ({"currency": "XYZ"}, "currency"),
        ({"currency": "RWF"}, "lines.0.listing_id"),  # the listing is priced in USD
        ({"expected_total": {"amount": "15.005", "currency": "USD"}}, "expected_total"),
        ({"expected_total": {"amount": "99.00", "currency": "USD"}}, "expected_total"),
        ({"expected_total": {"amount": "１５.00", "currency": "USD"}}, "expected_total.amount"),
        ({"reference": "ref\x00nul"}, "reference"),
        ({"reference": "ＲＥＦ-1"}, "reference"),
        ({"buyer": {"name": "Li\x00Wei", "country": "CN", "city": "Hangzhou", "address": "1 Rd"}}, "buyer.name"),
        ({"buyer": {"name": "Li \ud800", "country": "CN", "city": "Hangzhou", "address": "1 Rd"}}, "buyer.name"),
        ({"buyer": {"name": "Li Wei", "country": "ZZ", "city": "Hangzhou", "address": "1 Rd"}}, "buyer.country"),
        ({"buyer": {"name": "Li Wei", "country": "CN", "city": "Hangzhou"}}, "buyer.address"),
        ({"logistics_quote_id": "q-does-not-exist"}, "logistics_quote_id"),
        ({"logistics_option_id": "opt-1"}, "body"),
        ({"marketplace_id": "mkt-someone-else"}, "marketplace_id"),
        ({"surprise": 1}, "surprise"),
    ]


@pytest.mark.parametrize("index", range(26))
async def test_a_bad_order_is_refused_naming_the_field_and_writes_nothing(
    platform: Platform, known: dict[str, Any], index: int
) -> None:
    change, field = _cases(known["id"])[index]
    before = await counts(platform)
    body = order_body((known["id"], 1), **change)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        response = await marketplace.post("/v1/orders", content=_dumps(body), headers=JSON)
    found = problem(response, 422)
    assert field in fields(found), found
    assert await counts(platform) == before


def _dumps(body: dict[str, Any]) -> bytes:
    import json

    return json.dumps(body, ensure_ascii=True).encode()  # a lone surrogate travels as \\ud800, as JSON allows


async def test_the_cases_cover_every_parameter() -> None:
    assert len(_cases("x")) == 26


async def test_ops_must_name_the_marketplace(platform: Platform, known: dict[str, Any]) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        found = problem(await ops.post("/v1/orders", json=order_body((known["id"], 1))), 422)
    assert fields(found) == {"marketplace_id"}


async def test_roles_that_do_not_order_are_refused(platform: Platform, known: dict[str, Any]) -> None:
    async with platform.client(platform.keys["lender"]) as lender:
        problem(await lender.post("/v1/orders", json=order_body((known["id"], 1))), 403)
        problem(await lender.get("/v1/orders"), 403)


async def test_a_bad_query_is_named_and_a_foreign_cursor_is_400(platform: Platform) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        assert "status" in fields(problem(await ops.get("/v1/orders", params={"status": "lost"}), 422))
        assert "placed_from" in fields(problem(await ops.get("/v1/orders", params={"placed_from": "yesterday"}), 422))
        assert "limit" in fields(problem(await ops.get("/v1/orders", params={"limit": 10_000}), 422))
        problem(await ops.get("/v1/orders", params={"cursor": "bm90LWEtY3Vyc29y"}), 400)
        assert "window" in fields(problem(await ops.get("/v1/insights/demand", params={"window": 8}), 422))
        assert "hs_code" in fields(
            problem(await ops.get("/v1/insights/demand", params={"hs_code": "０９０１１１"}), 422)
        )
        problem(await ops.get("/v1/orders/no-such-order"), 404)
