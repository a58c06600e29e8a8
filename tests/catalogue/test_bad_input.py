"""Bad input is a 422 problem naming the field, and nothing is written; no input gives a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.catalogue.conftest import Seller, counts, create_listing, fields, listing_body, problem
from tests.support.platform import Platform

BAD_LISTINGS: list[tuple[str, dict[str, Any], str]] = [
    ("HS code of another chapter", {"hs_code": "090230"}, "hs_code"),
    ("HS code of another heading", {"hs_code": "460219"}, "hs_code"),
    ("HS code not 6 digits", {"hs_code": "0901"}, "hs_code"),
    ("national code not extending the HS code", {"national_tariff_code": "0902300000"}, "national_tariff_code"),
    ("negative stock", {"on_hand": -1}, "on_hand"),
    ("3 decimals in USD", {"price": {"amount": "15.005", "currency": "USD"}}, "price"),
    ("decimals in RWF", {"price": {"amount": "1500.5", "currency": "RWF"}}, "price"),
    ("unknown currency", {"price": {"amount": "15.00", "currency": "XYZ"}}, "price"),
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
