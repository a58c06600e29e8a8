"""The marketplace feed through the gateway: snapshot, deltas, tombstones, ETags, retention."""

from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ET
from datetime import timedelta
from typing import Any

import httpx
import orjson

from services.catalogue.feed import service
from shared.db import utcnow
from tests.catalogue.conftest import (
    Seller,
    create_listing,
    make_seller,
    problem,
    published_listing,
    wait_seller_status,
)
from tests.support.platform import Platform

G = "{http://base.google.com/ns/1.0}"


async def snapshot(client: httpx.AsyncClient, fmt: str = "jsonl") -> tuple[httpx.Response, list[Any]]:
    response = await client.get("/v1/feeds/listings", params={"format": fmt})
    assert response.status_code == 200, response.text
    if fmt == "jsonl":
        return response, [orjson.loads(line) for line in response.content.splitlines() if line]
    return response, []


async def changes(client: httpx.AsyncClient, cursor: str, limit: int = 500) -> dict[str, Any]:
    """Every change after `cursor`, following `next_cursor` until `has_more` is false."""
    items: list[dict[str, Any]] = []
    while True:
        response = await client.get("/v1/feeds/listings/changes", params={"cursor": cursor, "limit": limit})
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            return {"items": items, "next_cursor": cursor}


def about(items: list[dict[str, Any]], listing_id: str) -> list[dict[str, Any]]:
    return [i for i in items if i["listing_id"] == listing_id]


async def test_a_published_listing_reaches_the_snapshot_and_the_delta(platform: Platform, seller: Seller) -> None:
    async with platform.client(platform.keys["marketplace"]) as market:
        before, _ = await snapshot(market)
        listing = await published_listing(platform, seller)
        response, items = await snapshot(market)
        assert response.headers["content-type"].startswith("application/x-ndjson")
        mine = [i for i in items if i["id"] == listing["id"]]
        assert len(mine) == 1
        item = mine[0]
        assert item["title"] == listing["title"]
        assert item["price"] == {"amount": "15.00", "currency": "USD", "amount_minor": 1500}
        assert item["availability"] == "in_stock"
        assert item["image_link"] == "https://images.example.rw/huye/1.jpg"
        assert item["additional_image_link"] == ["https://images.example.rw/huye/2.jpg"]
        assert item["hs_code"] == "090111"
        assert item["origin_country"] == "RW"
        assert item["unit_net_weight_g"] == 1000
        assert item["condition"] == "new"
        assert item["brand"] == "Huye Mountain"
        assert item["identifier_exists"] is True
        assert item["link"].endswith(listing["id"])
        assert int(response.headers["x-feed-count"]) == len(items)
        # The listings are in id order and appear once each.
        ids = [i["id"] for i in items]
        assert ids == sorted(set(ids))

        delta = await changes(market, before.headers["x-feed-cursor"])
        upserts = about(delta["items"], listing["id"])
        assert [u["op"] for u in upserts] == ["upsert"]
        assert upserts[0]["item"]["id"] == listing["id"]
        assert upserts[0]["version"] == listing["version"]

        # Nothing changed since the second snapshot: its cursor has no news about the listing.
        after = await changes(market, response.headers["x-feed-cursor"])
        assert about(after["items"], listing["id"]) == []


async def test_a_price_change_is_an_upsert_in_the_delta(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller)
    async with platform.client(platform.keys["marketplace"]) as market, platform.client(seller.key) as own:
        response, _ = await snapshot(market)
        cursor = response.headers["x-feed-cursor"]
        patched = await own.patch(
            f"/v1/listings/{listing['id']}", json={"price": {"amount": "17.50", "currency": "USD"}}
        )
        assert patched.status_code == 200, patched.text
        delta = await changes(market, cursor)
        upserts = about(delta["items"], listing["id"])
        assert len(upserts) == 1
        assert upserts[0]["op"] == "upsert"
        assert upserts[0]["item"]["price"]["amount"] == "17.50"
        assert upserts[0]["version"] == patched.json()["version"] > listing["version"]
        # Reading again from the returned cursor gives nothing new.
        again = await changes(market, delta["next_cursor"])
        assert about(again["items"], listing["id"]) == []


async def test_a_suspended_seller_is_tombstoned_and_returns_only_by_republishing(platform: Platform) -> None:
    seller = await make_seller(platform)
    first = await published_listing(platform, seller)
    second = await published_listing(platform, seller)
    async with platform.client(platform.keys["marketplace"]) as market:
        response, _ = await snapshot(market)
        cursor = response.headers["x-feed-cursor"]
        async with platform.client(platform.keys["rdb_officer"]) as officer:
            suspended = await officer.post(f"/v1/sellers/{seller.id}/suspend", json={"reason": "expired NAEB licence"})
            assert suspended.status_code == 200, suspended.text
        await wait_seller_status(platform, seller.id, "suspended")

        delta = await changes(market, cursor)
        for listing in (first, second):
            tombstones = about(delta["items"], listing["id"])
            assert [(t["op"], t["reason"], t["item"]) for t in tombstones] == [("delete", "seller_suspended", None)]
        _, items = await snapshot(market)
        assert {first["id"], second["id"]}.isdisjoint(i["id"] for i in items)

        async with platform.client(seller.key) as own:
            listing = (await own.get(f"/v1/listings/{first['id']}")).json()
            assert (listing["status"], listing["withdrawn_reason"]) == ("withdrawn", "seller_suspended")
            refused = problem(await own.post(f"/v1/listings/{first['id']}/publish"), 409)
            assert "verified" in refused["detail"]

            async with platform.client(platform.keys["ops"]) as ops:
                reinstated = await ops.post(f"/v1/sellers/{seller.id}/reinstate", json={"reason": "licence renewed"})
                assert reinstated.status_code == 200, reinstated.text
            await wait_seller_status(platform, seller.id, "verified")
            # Reinstatement alone brings nothing back.
            _, items = await snapshot(market)
            assert first["id"] not in {i["id"] for i in items}
            republished = await own.post(f"/v1/listings/{first['id']}/publish")
            assert republished.status_code == 200, republished.text

        _, items = await snapshot(market)
        ids = {i["id"] for i in items}
        assert first["id"] in ids
        assert second["id"] not in ids


async def test_a_withdrawn_listing_is_a_tombstone_and_can_be_published_again(
    platform: Platform, seller: Seller
) -> None:
    listing = await published_listing(platform, seller)
    async with platform.client(platform.keys["marketplace"]) as market, platform.client(seller.key) as own:
        response, _ = await snapshot(market)
        cursor = response.headers["x-feed-cursor"]
        withdrawn = await own.post(f"/v1/listings/{listing['id']}/withdraw")
        assert withdrawn.status_code == 200
        assert withdrawn.json()["status"] == "withdrawn"
        delta = await changes(market, cursor)
        assert [(c["op"], c["reason"]) for c in about(delta["items"], listing["id"])] == [
            ("delete", "withdrawn_by_seller")
        ]
        assert (await own.post(f"/v1/listings/{listing['id']}/publish")).status_code == 200
        delta = await changes(market, delta["next_cursor"])
        assert [c["op"] for c in about(delta["items"], listing["id"])] == ["upsert"]


async def test_the_snapshot_etag_answers_304_until_something_changes(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller)
    async with platform.client(platform.keys["marketplace"]) as market, platform.client(seller.key) as own:
        first = await market.get("/v1/feeds/listings")
        etag = first.headers["etag"]
        assert etag.startswith('"') and not etag.startswith("W/")
        unchanged = await market.get("/v1/feeds/listings", headers={"If-None-Match": etag})
        assert unchanged.status_code == 304
        assert unchanged.content == b""
        assert unchanged.headers["etag"] == etag
        assert unchanged.headers["x-feed-cursor"] == first.headers["x-feed-cursor"]
        # Each format is its own representation.
        other = await market.get("/v1/feeds/listings", params={"format": "csv"}, headers={"If-None-Match": etag})
        assert other.status_code == 200

        adjusted = await own.post(
            f"/v1/listings/{listing['id']}/stock/adjustments", json={"delta": 5, "reason": "received"}
        )
        assert adjusted.status_code == 200
        changed = await market.get("/v1/feeds/listings", headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag


async def test_an_expired_cursor_is_410_and_a_malformed_one_400(platform: Platform, seller: Seller) -> None:
    async with platform.client(platform.keys["marketplace"]) as market:
        response, _ = await snapshot(market)
        old_cursor = response.headers["x-feed-cursor"]
        await published_listing(platform, seller)
        # A month and a day later, the pruner has removed the change rows after that cursor.
        async with platform.db("catalogue") as db, db.transaction() as session:
            assert await service.prune_feed(session, timedelta(days=30), now=utcnow() + timedelta(days=31)) > 0
        gone = problem(await market.get("/v1/feeds/listings/changes", params={"cursor": old_cursor}), 410)
        assert "snapshot" in gone["detail"]
        assert gone["snapshot"] == "/v1/feeds/listings"

        # A fresh snapshot gives a cursor that works again.
        fresh, _ = await snapshot(market)
        ok = await market.get("/v1/feeds/listings/changes", params={"cursor": fresh.headers["x-feed-cursor"]})
        assert ok.status_code == 200
        assert ok.json()["items"] == []

        for bad in ("not-a-cursor!", "e30", "eyJzZXEiOiItMSJ9"):
            problem(await market.get("/v1/feeds/listings/changes", params={"cursor": bad}), 400)
        missing = problem(await market.get("/v1/feeds/listings/changes"), 422)
        assert missing["errors"][0]["field"] == "cursor"


async def test_csv_and_xml_carry_gmc_attributes_and_text_prices(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(
        platform,
        seller,
        title='Agaseke basket "peace" & <sisal>',
        category="handicrafts.baskets",
        hs_code="460219",
        national_tariff_code=None,
        price={"amount": "42.00", "currency": "USD"},
        identifier_exists=False,
        brand=None,
        mpn=None,
        attributes={"material": "sisal", "handmade": True},
        certifications=[],
    )
    async with platform.client(platform.keys["marketplace"]) as market:
        response = await market.get("/v1/feeds/listings", params={"format": "csv"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        row = next(r for r in rows if r["id"] == listing["id"])
        assert row["title"] == 'Agaseke basket "peace" & <sisal>'
        assert row["price"] == "42.00 USD"
        assert row["identifier_exists"] == "no"
        assert row["availability"] == "in_stock"
        assert row["hs_code"] == "460219"
        assert row["origin_country"] == "RW"
        assert row["product_weight"] == "1000 g"
        assert row["product_type"] == "Handicrafts > Baskets (agaseke)"
        assert len(rows) == int(response.headers["x-feed-count"])

        response = await market.get("/v1/feeds/listings", params={"format": "xml"})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/xml")
        root = ET.fromstring(response.content)
        items = root.findall("./channel/item")
        assert len(items) == int(response.headers["x-feed-count"])
        item = next(i for i in items if i.findtext(f"{G}id") == listing["id"])
        assert item.findtext("title") == 'Agaseke basket "peace" & <sisal>'
        assert item.findtext(f"{G}price") == "42.00 USD"
        assert item.findtext(f"{G}identifier_exists") == "no"
        assert item.findtext(f"{G}image_link") == "https://images.example.rw/huye/1.jpg"
        details = {
            d.findtext(f"{G}attribute_name"): d.findtext(f"{G}attribute_value") for d in item.iter(f"{G}product_detail")
        }
        assert details == {"material": "sisal", "handmade": "yes"}


async def test_only_marketplaces_and_ops_read_the_feed(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        problem(await own.get("/v1/feeds/listings"), 403)
        problem(await own.get("/v1/feeds/listings/changes", params={"cursor": "eyJzZXEiOjB9"}), 403)
    async with platform.client(platform.keys["traveller_app"]) as app:
        problem(await app.get("/v1/feeds/listings"), 403)
    async with platform.client(platform.keys["ops"]) as ops:
        assert (await ops.get("/v1/feeds/listings")).status_code == 200


async def test_a_draft_never_appears_in_the_feed(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        draft = await create_listing(own)
    async with platform.client(platform.keys["marketplace"]) as market:
        _, items = await snapshot(market)
        assert draft["id"] not in {i["id"] for i in items}
