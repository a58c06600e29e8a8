"""Reads scoped by role, landed cost for buyers in China, and the demand insight."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.contracts import logistics, orders
from tests.orders.conftest import buyer, eventually, listing, make_seller, place, wait_status
from tests.support.events import cloud_event, produce_events, wait_for_events
from tests.support.factories import Seller
from tests.support.platform import Platform
from tests.support.problems import fields, problem


@pytest.fixture(scope="module")
async def other_seller(platform: Platform) -> Seller:
    return await make_seller(platform)


async def _quote(platform: Platform, *options: tuple[str, str, str], destination: str = "CNHGH") -> str:
    """A quote.issued on `logistics.events`, as logistics would publish it: (option id, total, currency)."""
    quote_id = f"q-{uuid.uuid4().hex[:12]}"
    now = datetime.now(UTC)
    data = logistics.QuoteIssuedV1(
        quote_id=quote_id,
        requested_by="mkt-tmall-global",
        origin="RWKGL",
        destination=destination,
        incoterm="CPT",
        actual_weight_kg="3.000",
        options=[
            logistics.QuoteOptionData(
                option_id=option_id,
                mode="air",
                carrier="RwandAir Cargo",
                total=total,
                currency=currency,
                transit_days=4,
                valid_until=now + timedelta(days=1),
                legs=[
                    logistics.QuoteLeg(
                        rate_card_id="rc-air-1",
                        rate_card_version=1,
                        carrier="RwandAir Cargo",
                        mode="air",
                        origin="RWKGL",
                        destination=destination,
                        chargeable_weight_kg="3.000",
                    )
                ],
            )
            for option_id, total, currency in options
        ],
        occurred_at=now,
    )
    await produce_events(platform.broker.bootstrap, logistics.TOPIC, cloud_event(data, subject=quote_id))
    return quote_id


async def _landed(platform: Platform, body: dict[str, Any]) -> Any:
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        return await marketplace.post("/v1/orders/landed-cost", json=body)


async def test_landed_cost_within_cbec_limits_with_freight_from_the_chosen_option(
    platform: Platform, seller: Seller
) -> None:
    made = await listing(platform, seller, on_hand=100, price={"amount": "15.00", "currency": "USD"})
    quote_id = await _quote(platform, ("air-eco", "412.50", "USD"), ("air-exp", "600.00", "USD"))
    body = {
        "currency": "USD",
        "lines": [{"listing_id": made["id"], "quantity": 3}],
        "logistics_quote_id": quote_id,
        "logistics_option_id": "air-eco",
    }

    async def answered() -> Any:
        response = await _landed(platform, body)
        return response if response.status_code == 200 else None

    cost = (await eventually(answered, what="the quote projection")).json()
    # 45.00 USD × 7.12 = 320.40 CNY; green coffee 9% VAT at 70%: 20.1852 → 20.19; freight 412.50 × 7.12.
    assert cost["regime"] == "cbec"
    assert cost["general_trade"] is False
    assert cost["goods_value"] == {"amount": "45.00", "currency": "USD"}
    assert cost["customs_value"] == {"amount": "320.40", "currency": "CNY"}
    assert (cost["tariff"]["amount"], cost["vat"]["amount"], cost["consumption_tax"]["amount"]) == (
        "0.00",
        "20.19",
        "0.00",
    )
    assert cost["freight"] == {"amount": "2937.00", "currency": "CNY"}
    assert cost["landed"] == {"amount": "3277.59", "currency": "CNY"}
    assert (cost["fx"]["rate"], cost["fx"]["base"], cost["fx"]["quote"]) == ("7.1200", "USD", "CNY")
    assert cost["fx"]["as_of"]
    assert cost["freight_option_id"] == "air-eco"

    several = problem(await _landed(platform, {**body, "logistics_option_id": None}), 422)
    assert fields(several) == {"logistics_option_id"}


async def test_an_order_over_the_single_order_limit_is_flagged_general_trade(
    platform: Platform, seller: Seller
) -> None:
    made = await listing(platform, seller, on_hand=100, price={"amount": "15.00", "currency": "USD"})
    cost = (await _landed(platform, {"currency": "USD", "lines": [{"listing_id": made["id"], "quantity": 50}]})).json()
    # 750.00 USD = 5,340.00 CNY > 5,000 with 50 items: general trade, full 9% VAT.
    assert (cost["regime"], cost["general_trade"]) == ("general_trade", True)
    assert cost["vat"]["amount"] == "480.60"
    assert cost["landed"]["amount"] == "5820.60"


async def test_an_order_to_china_records_its_landed_cost_and_confirms_with_the_quote(
    platform: Platform, seller: Seller
) -> None:
    made = await listing(platform, seller, on_hand=100, price={"amount": "15.00", "currency": "USD"})
    quote_id = await _quote(platform, ("air-only", "100.00", "USD"))
    body = {"currency": "USD", "lines": [{"listing_id": made["id"], "quantity": 2}], "logistics_quote_id": quote_id}
    await eventually(lambda: _ok(platform, body), what="the quote projection")
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (made["id"], 2), logistics_quote_id=quote_id, incoterm="CPT")
    assert order["landed_cost"]["freight_quote_id"] == quote_id
    assert order["landed_cost"]["customs_value"]["amount"] == "213.60"
    await wait_status(platform, order["id"], "confirmed")
    found = await wait_for_events(
        platform.broker.bootstrap,
        orders.TOPIC,
        lambda es: any(e.subject == order["id"] and e.type == orders.OrderConfirmedV1.TYPE for e in es),
    )
    confirmed = orders.OrderConfirmedV1.from_event(
        next(e for e in found if e.subject == order["id"] and e.type == orders.OrderConfirmedV1.TYPE)
    )
    assert (confirmed.logistics_quote_id, confirmed.logistics_option_id) == (quote_id, None)
    assert (confirmed.gross_weight_kg, confirmed.incoterm, confirmed.total) == ("2.000", "CPT", "30.00")
    assert [(line.seller_id, line.unit_price, line.line_value) for line in confirmed.lines] == [
        (seller.id, "15.00", "30.00")
    ]


async def _ok(platform: Platform, body: dict[str, Any]) -> bool:
    return bool((await _landed(platform, body)).status_code == 200)


async def test_each_role_sees_only_its_own(platform: Platform, seller: Seller, other_seller: Seller) -> None:
    mine = await listing(platform, seller, on_hand=10, price={"amount": "10.00", "currency": "USD"})
    theirs = await listing(platform, other_seller, on_hand=10, price={"amount": "7.00", "currency": "USD"})
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        order = await place(marketplace, (mine["id"], 1), (theirs["id"], 2))
    path = f"/v1/orders/{order['id']}"
    async with platform.client(seller.key) as own:
        seen = (await own.get(path)).json()
        assert [line["listing_id"] for line in seen["lines"]] == [mine["id"]]
        assert seen["total"] == {"amount": "10.00", "currency": "USD"}
        assert seen["buyer"]["address"] is None
        listed = (await own.get("/v1/orders", params={"limit": 200})).json()["items"]
        assert order["id"] in {o["id"] for o in listed}
        assert all(line["seller_id"] == seller.id for o in listed for line in o["lines"])
    async with platform.client(other_seller.key) as other:
        assert (await other.get(path)).json()["total"] == {"amount": "14.00", "currency": "USD"}
    stranger = await make_seller(platform)
    async with platform.client(stranger.key) as nobody:
        problem(await nobody.get(path), 404)
        assert (await nobody.get("/v1/orders")).json()["items"] == []
    rival = platform.issue_key("marketplace", "mkt-jd-worldwide")
    async with platform.client(rival) as jd:
        problem(await jd.get(path), 404)
        problem(await jd.post(f"{path}/cancel"), 404)
        assert order["id"] not in {o["id"] for o in (await jd.get("/v1/orders")).json()["items"]}
    async with platform.client(platform.keys["ops"]) as ops:
        assert (await ops.get(path)).json()["total"] == {"amount": "24.00", "currency": "USD"}


async def test_lists_filter_and_page_with_cursors(platform: Platform, seller: Seller) -> None:
    made = await listing(platform, seller, on_hand=50)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        placed = [await place(marketplace, (made["id"], 1)) for _ in range(3)]
    for order in placed:
        await wait_status(platform, order["id"], "confirmed")
    since = placed[0]["placed_at"]
    async with platform.client(platform.keys["ops"]) as ops:
        pages, cursor = [], None
        while True:
            params = {"limit": 1, "seller_id": seller.id, "placed_from": since, "status": "confirmed"}
            if cursor:
                params["cursor"] = cursor
            body = (await ops.get("/v1/orders", params=params)).json()
            pages.append([o["id"] for o in body["items"]])
            cursor = body["next_cursor"]
            if not cursor:
                break
    ids = [i for page in pages for i in page]
    assert ids == [o["id"] for o in reversed(placed)]  # newest first, each once


async def test_demand_insight_counts_confirmed_orders_and_shows_a_sellers_share(
    platform: Platform, other_seller: Seller
) -> None:
    made = await listing(platform, other_seller, on_hand=100, price={"amount": "12.00", "currency": "USD"})
    params = {"window": 7, "hs_code": "090111"}
    # Rows group by the listing's category, which catalogue's listing events now carry (the factory's).

    async def row(key: str) -> dict[str, Any]:
        async with platform.client(key) as client:
            response = await client.get("/v1/insights/demand", params=params)
        assert response.status_code == 200, response.text
        rows = [r for r in response.json()["rows"] if r["currency"] == "USD" and r["category"] == "coffee.green"]
        return rows[0] if rows else {"units": 0, "distinct_buyers": 0, "value": {"amount": "0"}}

    before = await row(platform.keys["ops"])
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        first = await place(marketplace, (made["id"], 2), buyer=buyer(city="Ningbo", name=f"B {uuid.uuid4().hex}"))
        second = await place(marketplace, (made["id"], 3), buyer=buyer(city="Ningbo", name=f"B {uuid.uuid4().hex}"))
    for order in (first, second):
        await wait_status(platform, order["id"], "confirmed")
    after = await row(platform.keys["ops"])
    assert after["units"] - before["units"] == 5
    assert after["distinct_buyers"] - before["distinct_buyers"] in {1, 2}  # a sketch: 2, or 1 on a collision
    assert any(c["city"] == "Ningbo" for c in after["top_cities"])
    assert after["median_unit_price"]["currency"] == "USD"
    assert after["units_trend"]["direction"] in {"up", "new", "flat", "down"}
    own = await row(other_seller.key)
    assert float(own["seller_share_percent"]) > 0
    assert after.get("seller_share_percent") is None
