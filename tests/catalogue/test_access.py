"""Who may do what with a listing, through the gateway."""

from __future__ import annotations

from tests.catalogue.conftest import (
    Seller,
    counts,
    create_listing,
    listing_body,
    make_seller,
    problem,
    published_listing,
)
from tests.support.platform import Platform


async def test_another_seller_cannot_touch_the_listing(platform: Platform, seller: Seller) -> None:
    """Another seller's listing is 404, the same answer as an id that does not exist (no existence leak)."""
    listing = await published_listing(platform, seller)
    intruder = await make_seller(platform)
    before = await counts(platform)
    lid = listing["id"]
    async with platform.client(intruder.key) as other:
        problem(await other.get(f"/v1/listings/{lid}"), 404)
        problem(await other.patch(f"/v1/listings/{lid}", json={"title": "Mine now"}), 404)
        problem(await other.post(f"/v1/listings/{lid}/withdraw"), 404)
        problem(await other.post(f"/v1/listings/{lid}/publish"), 404)
        problem(await other.delete(f"/v1/listings/{lid}"), 404)
        problem(await other.get(f"/v1/listings/{lid}/stock"), 404)
        problem(await other.post(f"/v1/listings/{lid}/stock/adjustments", json={"delta": -100, "reason": "lost"}), 404)
        missing = "00000000-0000-4000-8000-000000000000"
        assert (
            problem(await other.get(f"/v1/listings/{missing}"), 404)["title"]
            == problem(await other.get(f"/v1/listings/{lid}"), 404)["title"]
        )
        problem(await other.post("/v1/listings", json=listing_body(seller_id=seller.id)), 403)
        problem(await other.get("/v1/listings", params={"seller_id": seller.id}), 403)
        # Its own search shows only its own listings (none yet).
        assert (await other.get("/v1/listings")).json()["items"] == []
    assert await counts(platform) == before
    async with platform.client(seller.key) as own:
        unchanged = (await own.get(f"/v1/listings/{lid}")).json()
    assert (unchanged["title"], unchanged["status"], unchanged["version"]) == (
        listing["title"],
        "published",
        listing["version"],
    )


async def test_a_marketplace_key_cannot_write_listings(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller)
    before = await counts(platform)
    lid = listing["id"]
    async with platform.client(platform.keys["marketplace"]) as market:
        problem(await market.post("/v1/listings", json=listing_body(seller_id=seller.id)), 403)
        problem(await market.patch(f"/v1/listings/{lid}", json={"price": {"amount": "1.00", "currency": "USD"}}), 403)
        problem(await market.post(f"/v1/listings/{lid}/withdraw"), 403)
        problem(await market.delete(f"/v1/listings/{lid}"), 403)
        problem(
            await market.post(f"/v1/listings/{lid}/stock/adjustments", json={"delta": 1, "reason": "received"}), 403
        )
        problem(
            await market.post(
                "/v1/listings/fx-rates",
                json={"base": "USD", "quote": "CNY", "rate": "1", "source": "x", "as_of": "2026-01-01T00:00:00Z"},
            ),
            403,
        )
        # It may read what is on sale.
        seen = await market.get(f"/v1/listings/{lid}")
        assert seen.status_code == 200
        assert seen.json()["id"] == lid
    assert await counts(platform) == before


async def test_partner_apps_see_published_listings_only(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        draft = await create_listing(own)
    listing = await published_listing(platform, seller)
    async with platform.client(platform.keys["traveller_app"]) as app:
        problem(await app.get(f"/v1/listings/{draft['id']}"), 404)
        assert (await app.get(f"/v1/listings/{listing['id']}")).status_code == 200
        found = (await app.get("/v1/listings", params={"seller_id": seller.id})).json()["items"]
        assert [x["id"] for x in found] == [listing["id"]]
        problem(await app.get("/v1/listings", params={"status": "draft"}), 403)


async def test_ops_act_on_any_sellers_listing_and_must_name_the_seller(platform: Platform, seller: Seller) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        missing = problem(await ops.post("/v1/listings", json=listing_body()), 422)
        assert missing["errors"][0]["field"] == "seller_id"
        created = await ops.post("/v1/listings", json=listing_body(seller_id=seller.id))
        assert created.status_code == 201, created.text
        listing = created.json()
        assert listing["seller_id"] == seller.id
        assert created.headers["location"] == f"/v1/listings/{listing['id']}"
        published = await ops.post(f"/v1/listings/{listing['id']}/publish")
        assert published.status_code == 200
    async with platform.client(seller.key) as own:
        mine = (await own.get("/v1/listings")).json()["items"]
        assert listing["id"] in {x["id"] for x in mine}


async def test_only_a_verified_seller_publishes(platform: Platform) -> None:
    pending = await make_seller(platform, verified=False)
    async with platform.client(pending.key) as own:
        draft = await create_listing(own)
        refused = problem(await own.post(f"/v1/listings/{draft['id']}/publish"), 409)
        assert "verified" in refused["detail"]
        assert (await own.get(f"/v1/listings/{draft['id']}")).json()["status"] == "draft"


async def test_the_listing_lifecycle_refuses_impossible_moves(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        draft = await create_listing(own)
        lid = draft["id"]
        problem(await own.post(f"/v1/listings/{lid}/withdraw"), 409)
        assert (await own.post(f"/v1/listings/{lid}/publish")).status_code == 200
        problem(await own.post(f"/v1/listings/{lid}/publish"), 409)
        deleted = await own.delete(f"/v1/listings/{lid}")
        assert deleted.status_code == 200
        assert deleted.json()["status"] == "deleted"
        problem(await own.get(f"/v1/listings/{lid}"), 404)
        problem(await own.patch(f"/v1/listings/{lid}", json={"title": "Back"}), 404)


async def test_a_stale_if_match_is_refused_with_412(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        listing = await create_listing(own)
        lid = listing["id"]
        got = await own.get(f"/v1/listings/{lid}")
        etag = got.headers["etag"]
        first = await own.patch(f"/v1/listings/{lid}", json={"title": "First edit"}, headers={"If-Match": etag})
        assert first.status_code == 200
        stale = await own.patch(f"/v1/listings/{lid}", json={"title": "Second edit"}, headers={"If-Match": etag})
        problem(stale, 412)
        assert (await own.get(f"/v1/listings/{lid}")).json()["title"] == "First edit"


async def test_a_sku_is_unique_per_seller(platform: Platform, seller: Seller) -> None:
    other = await make_seller(platform)
    body = listing_body()
    async with platform.client(seller.key) as own:
        assert (await own.post("/v1/listings", json=body)).status_code == 201
        problem(await own.post("/v1/listings", json={**body, "title": "Same SKU again"}), 409)
    async with platform.client(other.key) as theirs:
        assert (await theirs.post("/v1/listings", json=body)).status_code == 201


async def test_a_repeated_idempotency_key_creates_one_listing(platform: Platform, seller: Seller) -> None:
    body = listing_body()
    async with platform.client(seller.key) as own:
        headers = {"Idempotency-Key": f"create-{body['sku']}"}
        first = await own.post("/v1/listings", json=body, headers=headers)
        again = await own.post("/v1/listings", json=body, headers=headers)
        assert first.status_code == again.status_code == 201
        assert again.headers.get("idempotent-replayed") == "true"
        assert first.json()["id"] == again.json()["id"]
