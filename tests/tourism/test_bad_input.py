"""Bad input of every kind is a 4xx problem naming the field, and nothing is written."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest

from tests.support.platform import Platform
from tests.tourism.conftest import (
    App,
    ahead,
    counts,
    create_offer,
    fields,
    hold,
    hold_body,
    offer_body,
    problem,
    today,
    traveller,
)


@pytest.fixture(scope="module")
async def offer(platform: Platform) -> dict[str, Any]:
    return await create_offer(platform, default_capacity=3)


def _with(offer_id: str, **changes: Any) -> dict[str, Any]:
    return hold_body(offer_id, ahead(20), 1) | changes


def _traveller(offer_id: str, **changes: Any) -> dict[str, Any]:
    return _with(offer_id, travellers=[traveller(**changes)])


CASES: list[tuple[str, Any, int, str]] = [
    ("date in the past", lambda o: _with(o, visit_date=(today() - timedelta(days=1)).isoformat()), 422, "visit_date"),
    ("today", lambda o: _with(o, visit_date=today().isoformat()), 422, "visit_date"),
    ("beyond the window", lambda o: _with(o, visit_date=ahead(800).isoformat()), 422, "visit_date"),
    ("year 10000", lambda o: _with(o, visit_date="10000-01-01"), 422, "visit_date"),
    ("quantity 0", lambda o: _with(o, quantity=0), 422, "quantity"),
    ("quantity negative", lambda o: _with(o, quantity=-1), 422, "quantity"),
    ("quantity a boolean", lambda o: _with(o, quantity=True), 422, "quantity"),
    ("quantity huge", lambda o: _with(o, quantity=2**63), 422, "quantity"),
    ("quantity above the offer's maximum", lambda o: hold_body(o, ahead(20), 9), 422, "quantity"),
    ("fewer travellers than places", lambda o: _with(o, quantity=2), 422, "travellers"),
    ("no travellers", lambda o: _with(o, travellers=[]), 422, "travellers"),
    ("too many travellers", lambda o: _with(o, travellers=[traveller()] * 51), 422, "travellers"),
    (
        "unknown visitor category",
        lambda o: _traveller(o, visitor_category="diplomat"),
        422,
        "travellers.0.visitor_category",
    ),
    ("rwandan category, kenyan", lambda o: _traveller(o, nationality="KE", visitor_category="rwandan"), 422, ""),
    ("EAC category, British", lambda o: _traveller(o, visitor_category="eac_citizen"), 422, "travellers[0].category"),
    ("unknown country", lambda o: _traveller(o, nationality="XX"), 422, "travellers.0.nationality"),
    ("fullwidth country", lambda o: _traveller(o, nationality="ＧＢ"), 422, "travellers.0.nationality"),
    ("NUL in a name", lambda o: _traveller(o, name="Amina\x00"), 422, "travellers.0.name"),
    ("lone surrogate in a name", lambda o: _traveller(o, name="Amina \ud800"), 422, "travellers.0.name"),
    ("born in the future", lambda o: _traveller(o, date_of_birth=ahead(40).isoformat()), 422, ""),
    (
        "a 12-year-old",
        lambda o: _traveller(o, date_of_birth=(ahead(20) - timedelta(days=12 * 365)).isoformat()),
        422,
        "",
    ),
    ("unknown offer", lambda o: _with("no-such-offer"), 422, "offer_id"),
    ("offer id with capitals", lambda o: _with("Gorilla"), 422, "offer_id"),
    ("unknown field", lambda o: _with(o, discount="100"), 422, "discount"),
]


@pytest.mark.parametrize(("case", "make", "status", "field"), CASES, ids=[c[0] for c in CASES])
async def test_bad_holds_are_refused_and_write_nothing(
    platform: Platform, app: App, offer: dict[str, Any], case: str, make: Any, status: int, field: str
) -> None:
    before = await counts(platform)
    async with app.client(platform) as client:
        # json.dumps escapes a lone surrogate as \ud800, as a client in another language would send it.
        raw = json.dumps(make(offer["id"]))
        sent = await client.post("/v1/tourism/bookings", content=raw, headers={"content-type": "application/json"})
        body = problem(sent, status)
    if field:
        assert field in fields(body), body
    assert await counts(platform) == before


async def test_more_than_the_date_has_left_is_a_conflict_and_writes_nothing(
    platform: Platform, app: App, offer: dict[str, Any]
) -> None:
    day = ahead(25)
    async with app.client(platform) as client:
        await hold(client, offer["id"], day, 2)
        before = await counts(platform)
        refused = problem(await client.post("/v1/tourism/bookings", json=hold_body(offer["id"], day, 2)), 409)
    assert refused["visit_date"] == day.isoformat()
    assert await counts(platform) == before


async def test_a_closed_date_or_one_with_capacity_0_takes_no_holds(
    platform: Platform, app: App, offer: dict[str, Any]
) -> None:
    closed, none = ahead(26), ahead(27)
    async with platform.client(platform.keys["ops"]) as ops:
        url = f"/v1/tourism/offers/{offer['id']}/dates"
        assert (await ops.put(f"{url}/{closed.isoformat()}", json={"closed": True})).status_code == 200
        assert (await ops.put(f"{url}/{none.isoformat()}", json={"capacity": 0})).status_code == 200
    before = await counts(platform)
    async with app.client(platform) as client:
        for day in (closed, none):
            problem(await client.post("/v1/tourism/bookings", json=hold_body(offer["id"], day, 1)), 409)
    assert await counts(platform) == before


async def test_confirm_needs_an_idempotency_key_and_a_valid_reference(
    platform: Platform, app: App, offer: dict[str, Any]
) -> None:
    async with app.client(platform) as client:
        held = await hold(client, offer["id"], ahead(28), 1)
        url = f"/v1/tourism/bookings/{held['id']}/confirm"
        before = await counts(platform)
        missing = problem(await client.post(url, json={"payment_reference": "pay_1"}), 400)
        assert fields(missing) == {"Idempotency-Key"}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        for bad in ("", "pay 1", "pay_\u0661", "x" * 129, 12):
            refused = problem(await client.post(url, json={"payment_reference": bad}, headers=key), 422)
            assert fields(refused) == {"payment_reference"}
        assert await counts(platform) == before
        assert (await client.get(f"/v1/tourism/bookings/{held['id']}")).json()["status"] == "held"


async def test_confirm_twice_with_different_payments_under_one_key_is_refused(
    platform: Platform, app: App, offer: dict[str, Any]
) -> None:
    async with app.client(platform) as client:
        held = await hold(client, offer["id"], ahead(29), 1)
        url = f"/v1/tourism/bookings/{held['id']}/confirm"
        key = {"Idempotency-Key": uuid.uuid4().hex}
        first = await client.post(url, json={"payment_reference": "pay_first"}, headers=key)
        assert first.status_code == 200, first.text
        before = await counts(platform)
        second = problem(await client.post(url, json={"payment_reference": "pay_second"}, headers=key), 422)
        assert fields(second) == {"Idempotency-Key"}
        other_key = {"Idempotency-Key": uuid.uuid4().hex}
        problem(await client.post(url, json={"payment_reference": "pay_second"}, headers=other_key), 409)
        assert await counts(platform) == before
        booking = (await client.get(f"/v1/tourism/bookings/{held['id']}")).json()
    assert (booking["status"], booking["payment_reference"]) == ("confirmed", "pay_first")


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"from": "2020-01-01", "to": "2019-12-31"}, 422),
        ({"from": "2030-01-01", "to": "2030-06-01"}, 422),
        ({"from": "2030-01-01", "to": "2030-01-02", "party": 0}, 422),
        ({"from": "2030-01-01", "to": "2030-01-02", "visitor_category": "diplomat"}, 422),
        ({"from": "2030-01-01", "to": "2030-01-02", "kind": "safari"}, 422),
        ({"from": "2030-01-01", "to": "2030-01-02", "place": "a\x00b"}, 422),
        ({"from": "not-a-date", "to": "2030-01-02"}, 422),
        ({"to": "2030-01-02"}, 422),
    ],
)
async def test_bad_availability_searches_are_422(
    platform: Platform, app: App, params: dict[str, Any], status: int
) -> None:
    async with app.client(platform) as client:
        problem(await client.get("/v1/tourism/availability", params=params), status)


OFFER_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("3 decimals in USD", {"prices": {"foreign_non_resident": "1500.001"}}, "prices.foreign_non_resident"),
    ("cents in RWF", {"currency": "RWF", "prices": {"rwandan": "1500.50"}}, "prices.rwandan"),
    ("unknown category", {"prices": {"diplomat": "10"}}, "prices.diplomat.[key]"),
    ("price as a float", {"prices": {"rwandan": 10.5}}, "prices.rwandan"),
    ("no tier at 0 days", {"cancellation": [{"min_days_before": 30, "refund_percent": "80"}]}, "cancellation"),
    (
        "later refunds more",
        {
            "cancellation": [
                {"min_days_before": 30, "refund_percent": "10"},
                {"min_days_before": 0, "refund_percent": "50"},
            ]
        },
        "cancellation",
    ),
    ("refund above 100", {"cancellation": [{"min_days_before": 0, "refund_percent": "150"}]}, "cancellation"),
    ("unknown kind", {"kind": "safari"}, "kind"),
    ("unknown currency", {"currency": "XYZ"}, "currency"),
    ("capacity a boolean", {"default_capacity": True}, "default_capacity"),
    ("capacity negative", {"default_capacity": -1}, "default_capacity"),
    ("capacity huge", {"default_capacity": 2**40}, "default_capacity"),
    ("max quantity 0", {"max_quantity": 0}, "max_quantity"),
    ("ttl beyond the maximum", {"hold_ttl_s": 86_400}, "hold_ttl_s"),
    ("NUL in the name", {"name": "Gorilla\x00"}, "name"),
    ("id with a space", {"id": "gorilla permit"}, "id"),
]


@pytest.mark.parametrize(("case", "change", "field"), OFFER_CASES, ids=[c[0] for c in OFFER_CASES])
async def test_bad_offers_are_refused_and_write_nothing(
    platform: Platform, case: str, change: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(platform.keys["ops"]) as ops:
        body = problem(await ops.post("/v1/tourism/offers", json=offer_body(**change)), 422)
    assert field in fields(body), body
    assert await counts(platform) == before


async def test_an_existing_offer_id_is_a_conflict(platform: Platform, offer: dict[str, Any]) -> None:
    before = await counts(platform)
    async with platform.client(platform.keys["ops"]) as ops:
        problem(await ops.post("/v1/tourism/offers", json=offer_body(id=offer["id"])), 409)
    assert await counts(platform) == before


async def test_only_ops_manage_offers_and_only_apps_hold(platform: Platform, app: App, offer: dict[str, Any]) -> None:
    async with app.client(platform) as client:
        problem(await client.post("/v1/tourism/offers", json=offer_body()), 403)
        problem(await client.put(f"/v1/tourism/offers/{offer['id']}/dates/{ahead(5)}", json={"closed": True}), 403)
    async with platform.client(platform.keys["ops"]) as ops:
        problem(await ops.post("/v1/tourism/bookings", json=hold_body(offer["id"], ahead(20))), 403)
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        problem(await marketplace.get("/v1/tourism/offers"), 403)
