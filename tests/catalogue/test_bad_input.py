"""Bad input is a 422 problem naming the field, and nothing is written; no input gives a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import BaseModel

from services.catalogue.schemas import FxRateIn, ListingCreate, ListingUpdate, StockAdjustmentIn
from shared.contracts import CloudEvent
from shared.contracts import catalogue as stock_events
from shared.contracts.orders import INT32_MAX, MAX_LINES
from shared.contracts.orders import TOPIC as ORDERS_TOPIC
from tests.catalogue.conftest import (
    Seller,
    cloud_event,
    counts,
    create_listing,
    fields,
    listing_body,
    order_placed,
    problem,
    produce,
    published_listing,
    reservation_status,
    stock,
)
from tests.support.events import wait_for_events
from tests.support.hostile import (
    CLASS_SCRIPTS,
    LONE_SURROGATE,
    NUL,
    non_ascii_variants,
    raw_json,
    string_fields,
    value_at,
    with_value,
)
from tests.support.platform import Platform

BAD_LISTINGS: list[tuple[str, dict[str, Any], str]] = [
    ("HS code of another chapter", {"hs_code": "090230"}, "hs_code"),
    ("HS code of another heading", {"hs_code": "460219"}, "hs_code"),
    ("HS code not 6 digits", {"hs_code": "0901"}, "hs_code"),
    ("national code not extending the HS code", {"national_tariff_code": "0902300000"}, "national_tariff_code"),
    ("negative stock", {"on_hand": -1}, "on_hand"),
    ("3 decimals in USD", {"price": {"amount": "15.005", "currency": "USD"}}, "price"),
    ("decimals in RWF", {"price": {"amount": "1500.5", "currency": "RWF"}}, "price"),
    ("unknown currency", {"price": {"amount": "15.00", "currency": "XYZ"}}, "price.currency"),
    ("lower-case currency", {"price": {"amount": "15.00", "currency": "usd"}}, "price.currency"),
    ("negative price", {"price": {"amount": "-1.00", "currency": "USD"}}, "price.amount"),
    ("zero price", {"price": {"amount": "0.00", "currency": "USD"}}, "price"),
    ("over-long title", {"title": "x" * 151}, "title"),
    ("blank title", {"title": "   "}, "title"),
    ("title with a line break", {"title": "Coffee\nbeans"}, "title"),
    ("over-long description", {"description": "d" * 5001}, "description"),
    ("control character in the description", {"description": "bad \x00 byte"}, "description"),
    ("over-long SKU", {"sku": "S" * 51}, "sku"),
    ("unknown category", {"category": "electronics"}, "category"),
    ("a category that is not a leaf", {"category": "coffee"}, "category"),
    ("an unknown attribute", {"attributes": {"process": "natural", "colour": "green"}}, "attributes.colour"),
    ("a process that does not exist", {"attributes": {"process": "wet"}}, "attributes.process"),
    ("a required attribute missing", {"attributes": {"variety": "Bourbon"}}, "attributes.process"),
    (
        "a cupping score over 100",
        {"attributes": {"process": "honey", "cupping_score": 101}},
        "attributes.cupping_score",
    ),
    (
        "an altitude that is not whole",
        {"attributes": {"process": "honey", "altitude_m": 1800.5}},
        "attributes.altitude_m",
    ),
    ("a GTIN with a wrong check digit", {"gtin": "4006381333932"}, "gtin"),
    ("identifier_exists=false with a GTIN", {"gtin": "4006381333931", "identifier_exists": False}, "identifier_exists"),
    ("preorder without a date", {"on_hand": 0, "out_of_stock_policy": "preorder"}, "availability_date"),
    ("a weight of zero", {"unit_net_weight_g": 0}, "unit_net_weight_g"),
    (
        "dimensions in millimetres",
        {"packed_dimensions": {"length_cm": 30.25, "width_cm": 20, "height_cm": 10}},
        "packed_dimensions.length_cm",
    ),
    ("an image that is not a URL", {"images": ["not a url"]}, "images.0"),
    ("the same image twice", {"images": ["https://a.example/1.jpg", "https://a.example/1.jpg"]}, "images"),
    ("an origin other than Rwanda", {"origin_country": "KE"}, "origin_country"),
    ("an unknown certification", {"certifications": ["iso9001"]}, "certifications.0"),
    ("an unknown field", {"colour": "green"}, "colour"),
    (
        "tea without its grade",
        {"category": "tea.black", "hs_code": "090230", "national_tariff_code": None, "attributes": {}},
        "attributes.grade",
    ),
]


@pytest.mark.parametrize(("case", "overrides", "field"), BAD_LISTINGS, ids=[c[0] for c in BAD_LISTINGS])
async def test_a_bad_listing_is_refused_with_the_field_named_and_nothing_written(
    platform: Platform, module_seller: Seller, case: str, overrides: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(module_seller.key) as own:
        body = problem(await own.post("/v1/listings", json=listing_body(**overrides)), 422)
    assert field in fields(body), body
    assert field in body["detail"]
    assert await counts(platform) == before


async def test_a_bad_update_is_refused_and_the_listing_unchanged(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        listing = await create_listing(own)
        lid = listing["id"]
        before = await counts(platform)
        for patch, field in (
            ({"hs_code": "090240"}, "hs_code"),
            ({"category": "tea.black"}, "hs_code"),
            ({"price": {"amount": "9.999", "currency": "USD"}}, "price"),
            ({"title": None}, "title"),
            ({"title": "t" * 151}, "title"),
            ({"on_hand": 5}, "on_hand"),
        ):
            body = problem(await own.patch(f"/v1/listings/{lid}", json=patch), 422)
            assert field in fields(body), (patch, body)
        assert await counts(platform) == before
        after = (await own.get(f"/v1/listings/{lid}")).json()
        assert after["version"] == listing["version"]
        assert after["hs_code"] == "090111"


async def test_a_published_listing_cannot_lose_what_the_feed_needs(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        listing = await create_listing(own, images=[])
        refused = problem(await own.post(f"/v1/listings/{listing['id']}/publish"), 422)
        assert "images" in fields(refused)
        fixed = await own.patch(f"/v1/listings/{listing['id']}", json={"images": ["https://img.example.rw/a.jpg"]})
        assert fixed.status_code == 200
        assert (await own.post(f"/v1/listings/{listing['id']}/publish")).status_code == 200
        emptied = problem(await own.patch(f"/v1/listings/{listing['id']}", json={"images": []}), 422)
        assert "images" in fields(emptied)
        unidentified = problem(await own.patch(f"/v1/listings/{listing['id']}", json={"mpn": None}), 422)
        assert "gtin" in fields(unidentified)


async def test_stock_cannot_go_negative_or_below_what_is_reserved(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        listing = await create_listing(own, on_hand=10)
        url = f"/v1/listings/{listing['id']}/stock/adjustments"
        before = await counts(platform)
        for payload, field in (
            ({"delta": -11, "reason": "damaged"}, "delta"),
            ({"on_hand": -1, "reason": "stock_count"}, "on_hand"),
            ({"delta": 0, "reason": "correction"}, "delta"),
            ({"reason": "correction"}, "delta"),
            ({"delta": 1, "on_hand": 3, "reason": "correction"}, "delta"),
            ({"delta": 1, "reason": "because"}, "reason"),
            ({"delta": 1.5, "reason": "received"}, "delta"),
        ):
            body = problem(await own.post(url, json=payload), 422)
            assert field in fields(body), (payload, body)
        assert await counts(platform) == before
        assert (await own.get(f"/v1/listings/{listing['id']}/stock")).json()["stock"]["on_hand"] == 10


async def test_bad_fx_rates_are_refused(platform: Platform) -> None:
    good = {"base": "USD", "quote": "KES", "rate": "129.5", "source": "CBK", "as_of": "2026-01-01T00:00:00Z"}
    async with platform.client(platform.keys["ops"]) as ops:
        for patch, field in (
            ({"rate": "0"}, "rate"),
            ({"rate": "-3"}, "rate"),
            ({"rate": "abc"}, "rate"),
            ({"quote": "XXY"}, "quote"),
            ({"quote": "USD"}, "quote"),
            ({"as_of": "2026-01-01T00:00:00"}, "as_of"),
            ({"as_of": "2999-01-01T00:00:00Z"}, "as_of"),
            ({"source": ""}, "source"),
        ):
            body = problem(await ops.post("/v1/listings/fx-rates", json={**good, **patch}), 422)
            assert field in fields(body), (patch, body)
        rates = (await ops.get("/v1/listings/fx-rates")).json()["items"]
        assert not [r for r in rates if (r["base"], r["quote"]) == ("USD", "KES")]


async def test_bad_queries_are_4xx_never_500(platform: Platform, seller: Seller) -> None:
    async with platform.client(platform.keys["marketplace"]) as market:
        problem(await market.get("/v1/listings", params={"cursor": "@@@"}), 400)
        problem(await market.get("/v1/listings", params={"cursor": "eyJzIjoidGl0bGUiLCJrIjpbMSwyXX0"}), 400)
        assert "currency" in fields(problem(await market.get("/v1/listings", params={"min_price": "10"}), 422))
        assert "currency" in fields(problem(await market.get("/v1/listings", params={"sort": "price"}), 422))
        assert "min_price" in fields(
            problem(await market.get("/v1/listings", params={"min_price": "1.234", "currency": "USD"}), 422)
        )
        assert "currency" in fields(problem(await market.get("/v1/listings", params={"currency": "XYZ"}), 422))
        assert "category" in fields(problem(await market.get("/v1/listings", params={"category": "cars"}), 422))
        assert "hs_code" in fields(problem(await market.get("/v1/listings", params={"hs_code": "09011"}), 422))
        assert "limit" in fields(problem(await market.get("/v1/listings", params={"limit": 0}), 422))
        problem(await market.get("/v1/listings/not-a-listing"), 404)
        problem(await market.get("/v1/categories/not-a-category"), 404)
        problem(await market.get("/v1/feeds/listings", params={"format": "pdf"}), 422)
    async with platform.client(seller.key) as own:
        problem(await own.post("/v1/listings", content=b"{not json", headers={"content-type": "application/json"}), 400)
        weird = '{"sku": "S-1", "title": "\\ud800 lone surrogate"}'
        response = await own.post("/v1/listings", content=weird.encode(), headers={"content-type": "application/json"})
        assert response.status_code in (400, 422), response.text


# --------------------------------------------------------------------------------------------------
# Classes of bad input (issue 7), each over every field of its class, on both databases.

JSON = {"content-type": "application/json"}
HOSTILE = {"NUL": NUL, "lone surrogate": LONE_SURROGATE}
FX_RATE = {"base": "USD", "quote": "UGX", "rate": "3700.5", "source": "BNR", "as_of": "2026-01-01T00:00:00Z"}
ADJUSTMENT = {"delta": 5, "reason": "received", "note": "second delivery from the washing station"}


def _hostile_cases(model: type[BaseModel], base: dict[str, Any]) -> list[Any]:
    """(path, bad value) for every string field of `model`: NUL and a lone surrogate inside a valid
    value, and every code written with non-ASCII digits or letters."""
    cases = []
    for field in string_fields(model):
        valid = str(value_at(base, field.path) or "ab")
        for name, char in HOSTILE.items():
            bad = valid[: len(valid) // 2] + char + valid[len(valid) // 2 :]
            cases.append(pytest.param(field.path, bad, id=f"{field.path}-{name}"))
        if field.code:
            for script, bad in non_ascii_variants(valid).items():
                if script in CLASS_SCRIPTS:
                    cases.append(pytest.param(field.path, bad, id=f"{field.path}-{script}"))
    return cases


@pytest.fixture(scope="module")
async def module_listing(platform: Platform, module_seller: Seller) -> dict[str, Any]:
    """A published listing of the module's seller that the refusals below must leave as it is."""
    return await published_listing(platform, module_seller, on_hand=20)


async def _unchanged(platform: Platform, seller: Seller, listing: dict[str, Any]) -> None:
    async with platform.client(seller.key) as own:
        now = (await own.get(f"/v1/listings/{listing['id']}")).json()
    assert (now["version"], now["title"], now["stock"]) == (listing["version"], listing["title"], listing["stock"])


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(ListingCreate, listing_body()))
async def test_every_listing_string_refuses_nul_surrogates_and_non_ascii_codes(
    platform: Platform, module_seller: Seller, path: str, bad: str
) -> None:
    before = await counts(platform)
    async with platform.client(module_seller.key) as own:
        body = raw_json(with_value(listing_body(), path, bad))
        answer = problem(await own.post("/v1/listings", content=body, headers=JSON), 422)
    assert path in fields(answer), answer
    assert await counts(platform) == before


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(ListingUpdate, listing_body()))
async def test_every_listing_update_string_refuses_nul_surrogates_and_non_ascii_codes(
    platform: Platform, module_seller: Seller, module_listing: dict[str, Any], path: str, bad: str
) -> None:
    before = await counts(platform)
    async with platform.client(module_seller.key) as own:
        top = path.split(".")[0]  # a nested field travels inside its whole (otherwise valid) parent
        body = raw_json({top: with_value(listing_body(), path, bad)[top]})
        answer = problem(await own.patch(f"/v1/listings/{module_listing['id']}", content=body, headers=JSON), 422)
    assert path in fields(answer), answer
    assert await counts(platform) == before
    await _unchanged(platform, module_seller, module_listing)


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(StockAdjustmentIn, ADJUSTMENT))
async def test_every_stock_adjustment_string_refuses_nul_and_surrogates(
    platform: Platform, module_seller: Seller, module_listing: dict[str, Any], path: str, bad: str
) -> None:
    async with platform.client(module_seller.key) as own:
        url = f"/v1/listings/{module_listing['id']}/stock/adjustments"
        answer = problem(await own.post(url, content=raw_json(with_value(ADJUSTMENT, path, bad)), headers=JSON), 422)
    assert path in fields(answer), answer
    await _unchanged(platform, module_seller, module_listing)


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(FxRateIn, FX_RATE))
async def test_every_fx_rate_string_refuses_nul_surrogates_and_non_ascii_codes(
    platform: Platform, path: str, bad: str
) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        body = raw_json(with_value(FX_RATE, path, bad))
        answer = problem(await ops.post("/v1/listings/fx-rates", content=body, headers=JSON), 422)
        assert path in fields(answer), answer
        rates = (await ops.get("/v1/listings/fx-rates")).json()["items"]
    assert not [r for r in rates if (r["base"], r["quote"]) == ("USD", "UGX")]


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"process": "natural", "variety": f"Red{NUL}Bourbon"}, "attributes.variety"),
        ({"process": "natural", "variety": f"Red{LONE_SURROGATE}Bourbon"}, "attributes.variety"),
        ({"process": "natural", "variety": "Red\x85Bourbon"}, "attributes.variety"),
        ({"process": "natural", f"vari{NUL}ety": "Bourbon"}, "attributes"),
        ({"process": "natural", "altitude_m": "١٨٠٠"}, "attributes.altitude_m"),
        ({"process": "natural", "altitude_m": True}, "attributes.altitude_m"),
        ({"process": "natural", "cupping_score": "８６.５"}, "attributes.cupping_score"),
    ],
    ids=[
        "text-NUL",
        "text-surrogate",
        "text-C1",
        "key-NUL",
        "integer-arabic-indic",
        "integer-bool",
        "decimal-fullwidth",
    ],
)
async def test_attributes_refuse_nul_surrogates_controls_and_non_ascii_numbers(
    platform: Platform, module_seller: Seller, attributes: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(module_seller.key) as own:
        body = raw_json(listing_body(attributes=attributes))
        answer = problem(await own.post("/v1/listings", content=body, headers=JSON), 422)
    assert any(name.startswith(field) for name in fields(answer)), answer
    assert await counts(platform) == before


REQUIRED_IN_A_PATCH = sorted(set(ListingUpdate.model_fields) - ListingUpdate.nullable_fields())


@pytest.mark.parametrize("field", REQUIRED_IN_A_PATCH)
async def test_a_null_for_a_listing_field_that_cannot_be_cleared_is_named_and_nothing_changes(
    platform: Platform, module_seller: Seller, module_listing: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(module_seller.key) as own:
        answer = problem(await own.patch(f"/v1/listings/{module_listing['id']}", json={field: None}), 422)
    assert fields(answer) == {field}
    assert await counts(platform) == before
    await _unchanged(platform, module_seller, module_listing)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"unit_net_weight_g": True}, "unit_net_weight_g"),
        ({"unit_net_weight_g": 2**31}, "unit_net_weight_g"),
        ({"unit_net_weight_g": 2**63}, "unit_net_weight_g"),
        ({"unit_net_weight_g": 2**64}, "unit_net_weight_g"),
        ({"on_hand": True}, "on_hand"),
        ({"on_hand": 2**31}, "on_hand"),
        ({"on_hand": 2**63}, "on_hand"),
        ({"identifier_exists": 1}, "identifier_exists"),
        ({"identifier_exists": 0}, "identifier_exists"),
        ({"packed_dimensions": {"length_cm": True, "width_cm": 20, "height_cm": 10}}, "packed_dimensions.length_cm"),
        ({"availability_date": "0001-01-01"}, "availability_date"),
        ({"availability_date": "9999-12-31"}, "availability_date"),
    ],
    ids=lambda v: str(v) if isinstance(v, str) else None,
)
async def test_integers_fit_their_column_and_booleans_are_not_numbers(
    platform: Platform, module_seller: Seller, overrides: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(module_seller.key) as own:
        answer = problem(await own.post("/v1/listings", json=listing_body(**overrides)), 422)
    assert field in fields(answer), answer
    assert await counts(platform) == before


@pytest.mark.parametrize(
    "adjustment",
    [
        {"delta": True, "reason": "received"},
        {"delta": 2**31, "reason": "received"},
        {"delta": 2**63, "reason": "received"},
        {"delta": -(2**63) - 1, "reason": "received"},
        {"delta": "٥", "reason": "received"},
        {"on_hand": True, "reason": "stock_count"},
        {"on_hand": 2**63, "reason": "stock_count"},
    ],
)
async def test_stock_adjustments_are_bounded_integers(
    platform: Platform, module_seller: Seller, module_listing: dict[str, Any], adjustment: dict[str, Any]
) -> None:
    async with platform.client(module_seller.key) as own:
        url = f"/v1/listings/{module_listing['id']}/stock/adjustments"
        answer = problem(await own.post(url, json=adjustment), 422)
    assert fields(answer) & {"delta", "on_hand"}, answer
    await _unchanged(platform, module_seller, module_listing)


async def test_stock_on_hand_never_passes_the_integer_column(platform: Platform, seller: Seller) -> None:
    """Each adjustment is bounded, the running total was not: past 2^31 - 1 PostgreSQL raised a 500."""
    async with platform.client(seller.key) as own:
        listing = await create_listing(own, on_hand=1_000_000_000)
        url = f"/v1/listings/{listing['id']}/stock/adjustments"
        raised = await own.post(url, json={"delta": 1_000_000_000, "reason": "received"})
        assert raised.status_code == 200, raised.text
        before = await counts(platform)
        answer = problem(await own.post(url, json={"delta": 1_000_000_000, "reason": "received"}), 422)
        assert fields(answer) == {"delta"}
        assert str(2**31 - 1) in answer["errors"][0]["reason"]
        assert await counts(platform) == before
        assert await stock(platform, listing["id"]) == (2_000_000_000, 0)
        top = await own.post(url, json={"delta": 2**31 - 1 - 2_000_000_000, "reason": "received"})
        assert top.status_code == 200, top.text
        assert top.json()["stock"]["on_hand"] == 2**31 - 1
        problem(await own.post(url, json={"delta": 1, "reason": "received"}), 422)
        assert await stock(platform, listing["id"]) == (2**31 - 1, 0)


@pytest.mark.parametrize(
    "as_of",
    ["0001-01-01T00:00:00+14:00", "0001-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "1899-12-31T23:59:59Z"],
)
async def test_an_fx_date_at_the_edge_of_the_range_is_a_422(platform: Platform, as_of: str) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        answer = problem(await ops.post("/v1/listings/fx-rates", json={**FX_RATE, "as_of": as_of}), 422)
    assert fields(answer) == {"as_of"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": f"coffee{NUL}"}, "q"),
        ({"category": f"coffee.green{NUL}"}, "category"),
        ({"seller_id": f"abc{NUL}"}, "seller_id"),
        ({"hs_code": "٠٩٠١"}, "hs_code"),
        ({"hs_code": "０９"}, "hs_code"),
        ({"currency": "ＵＳＤ"}, "currency"),
        ({"currency": "USD", "min_price": "١٠"}, "min_price"),
        ({"limit": "true"}, "limit"),
        ({"limit": str(2**63)}, "limit"),
    ],
    ids=lambda v: None,
)
async def test_bad_listing_queries_are_422_on_every_database(
    platform: Platform, params: dict[str, str], field: str
) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        assert field in fields(problem(await ops.get("/v1/listings", params=params), 422))


@pytest.mark.parametrize(
    "url",
    [
        "/v1/listings/abc%00def",
        "/v1/listings/abc%00def/stock",
        "/v1/categories/coffee%00",
        "/v1/feeds/listings/changes?cursor=%00",
    ],
)
async def test_a_nul_in_a_path_or_a_cursor_is_a_4xx_on_every_database(platform: Platform, url: str) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        answer = await ops.get(url)
    assert answer.status_code in (400, 404, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"


async def test_an_order_at_the_contract_bounds_is_rejected_not_dead_lettered(
    platform: Platform, seller: Seller
) -> None:
    """order.placed allows 200 lines of up to 2^31 - 1: on one listing they add up past any INTEGER."""
    listing = await published_listing(platform, seller, on_hand=10)
    same, many = f"bounds-same-{uuid.uuid4()}", f"bounds-many-{uuid.uuid4()}"
    on_one = order_placed(same, *[(listing["id"], INT32_MAX)] * MAX_LINES)
    unknown = order_placed(many, *[(f"{i:03d}-" + "x" * 60, INT32_MAX) for i in range(MAX_LINES)])
    await produce(platform, ORDERS_TOPIC, cloud_event(on_one, same), cloud_event(unknown, many))

    def both(evs: list[CloudEvent]) -> bool:
        return {same, many} <= {e.subject for e in evs}

    evs = await wait_for_events(platform.broker.bootstrap, stock_events.TOPIC, both, timeout_s=60)
    answers = {e.subject: e for e in evs if e.subject in (same, many)}
    assert {e.type for e in answers.values()} == {stock_events.StockRejectedV1.TYPE}
    reasons = {
        subject: {line.reason for line in stock_events.StockRejectedV1.model_validate(e.data).lines}
        for subject, e in answers.items()
    }
    assert reasons == {same: {"insufficient_stock"}, many: {"unknown_listing"}}
    assert await stock(platform, listing["id"]) == (10, 0)
    assert await reservation_status(platform, same) == "rejected"
