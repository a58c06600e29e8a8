"""Browsing for partner apps, the category tree, stock levels and indicative display prices."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx

from tests.catalogue.conftest import Seller, create_listing, make_seller, new_sku, problem, published_listing
from tests.support.platform import Platform


async def all_pages(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = {**params, **({"cursor": cursor} if cursor else {})}
        response = await client.get("/v1/listings", params=query)
        assert response.status_code == 200, response.text
        page = response.json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_search_filters_sorts_and_pages(platform: Platform) -> None:
    seller = await make_seller(platform)
    tag = new_sku("T")
    specs = [
        ("coffee.green", "090111", "12.00", f"{tag} Kivu green coffee", 10),
        ("coffee.roasted", "090121", "18.50", f"{tag} Kigali roast coffee", 0),
        ("tea.black", "090230", "7.25", f"{tag} Rukeri black tea BP1", 5),
        ("handicrafts.baskets", "460219", "42.00", f"{tag} Agaseke basket", 3),
        ("coffee.green", "090112", "25.00", f"{tag} Decaf green coffee", 1),
    ]
    attributes = {
        "coffee.green": {"process": "natural"},
        "coffee.roasted": {"process": "honey", "roast_level": "medium"},
        "tea.black": {"grade": "BP1"},
        "handicrafts.baskets": {"material": "sweetgrass"},
    }
    created = {}
    for category, hs, price, title, on_hand in specs:
        listing = await published_listing(
            platform,
            seller,
            category=category,
            hs_code=hs,
            national_tariff_code=None,
            price={"amount": price, "currency": "USD"},
            title=title,
            attributes=attributes[category],
            on_hand=on_hand,
        )
        created[title] = listing
    async with platform.client(platform.keys["traveller_app"]) as app:
        mine = {"seller_id": seller.id}
        coffee = await all_pages(app, **mine, category="coffee", sort="price", currency="USD", limit=1)
        assert [x["title"] for x in coffee] == [
            f"{tag} Kivu green coffee",
            f"{tag} Kigali roast coffee",
            f"{tag} Decaf green coffee",
        ]
        by_price = await all_pages(
            app, **mine, sort="-price", currency="USD", min_price="7.25", max_price="25", limit=2
        )
        assert [x["price"]["amount"] for x in by_price] == ["25.00", "18.50", "12.00", "7.25"]
        in_stock = await all_pages(app, **mine, availability="in_stock")
        assert f"{tag} Kigali roast coffee" not in {x["title"] for x in in_stock}
        assert len(in_stock) == 4
        sold_out = await all_pages(app, **mine, availability="out_of_stock")
        assert [x["title"] for x in sold_out] == [f"{tag} Kigali roast coffee"]
        tea = await all_pages(app, **mine, hs_code="0902")
        assert [x["title"] for x in tea] == [f"{tag} Rukeri black tea BP1"]
        text = await all_pages(app, q=f"{tag.lower()} AGASEKE")
        assert [x["title"] for x in text] == [f"{tag} Agaseke basket"]
        newest = await all_pages(app, **mine, limit=2)
        assert [x["title"] for x in newest] == [s[3] for s in reversed(specs)]
        titles = await all_pages(app, **mine, sort="title", limit=3)
        assert [x["title"] for x in titles] == sorted(s[3] for s in specs)


async def test_categories_carry_hs_headings_and_attribute_schemas(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        tree = (await own.get("/v1/categories")).json()["items"]
        roots = {c["id"]: c for c in tree}
        assert {"coffee", "tea", "handicrafts", "horticulture"} <= set(roots)
        green = next(c for c in roots["coffee"]["children"] if c["id"] == "coffee.green")
        assert green["leaf"] is True
        assert green["hs_prefixes"] == ["090111", "090112"]
        process = next(a for a in green["attributes"] if a["name"] == "process")
        assert process["choices"] == ["fully_washed", "natural", "honey"]
        assert process["required"] is True
        black = (await own.get("/v1/categories/tea.black")).json()
        grade = next(a for a in black["attributes"] if a["name"] == "grade")
        assert {"BP1", "PF1", "PD", "D1"} <= set(grade["choices"])
        baskets = (await own.get("/v1/categories/handicrafts.baskets")).json()
        assert baskets["hs_prefixes"] == ["4602"]
        assert baskets["path"] == "Handicrafts > Baskets (agaseke)"


async def test_stock_adjustments_keep_a_history_and_drive_availability(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        listing = await create_listing(own, on_hand=0, out_of_stock_policy="preorder", availability_date="2027-03-01")
        lid = listing["id"]
        assert listing["stock"]["availability"] == "preorder"
        assert listing["stock"]["availability_date"] == "2027-03-01"
        url = f"/v1/listings/{lid}/stock/adjustments"
        received = await own.post(url, json={"delta": 40, "reason": "received", "note": "lot 7 from Huye"})
        assert received.status_code == 200, received.text
        assert received.json()["stock"]["availability"] == "in_stock"
        counted = await own.post(url, json={"on_hand": 37, "reason": "stock_count"})
        assert counted.json()["stock"] == {
            "on_hand": 37,
            "reserved": 0,
            "available": 37,
            "availability": "in_stock",
            "availability_date": "2027-03-01",
            "out_of_stock_policy": "preorder",
        }
        history = (await own.get(f"/v1/listings/{lid}/stock")).json()["recent_adjustments"]
        assert [(h["delta"], h["on_hand_after"], h["reason"]) for h in history] == [
            (-3, 37, "stock_count"),
            (40, 40, "received"),
        ]
        assert history[1]["note"] == "lot 7 from Huye"
        assert history[0]["actor"].startswith("seller:")
        emptied = await own.post(url, json={"delta": -37, "reason": "sold_elsewhere"})
        assert emptied.json()["stock"]["availability"] == "preorder"


async def test_display_prices_are_indicative_half_even_and_absent_without_a_rate(
    platform: Platform, seller: Seller
) -> None:
    as_of = datetime.now(UTC).replace(microsecond=0).isoformat()
    async with platform.client(platform.keys["ops"]) as ops:
        for base, quote, rate, source in (("EUR", "CNY", "7.8", "PBoC"), ("EUR", "RWF", "150", "BNR")):
            response = await ops.put(
                f"/v1/listings/fx-rates/{base}/{quote}",
                json={"base": base, "quote": quote, "rate": rate, "source": source, "as_of": as_of},
            )
            assert response.status_code == 200, response.text
            assert response.json()["set_by"].startswith("ops:")
        older = await ops.post(
            "/v1/listings/fx-rates",
            json={"base": "EUR", "quote": "CNY", "rate": "1", "source": "old", "as_of": "2020-01-01T00:00:00Z"},
        )
        problem(older, 409)
    async with platform.client(seller.key) as own:
        # 10.05 EUR x 150 = 1507.5 RWF -> 1508 (half to even); x 7.8 = 78.39 CNY.
        eur = await create_listing(own, price={"amount": "10.05", "currency": "EUR"})
        rwf = eur["display_prices"]["RWF"]
        assert (rwf["amount"], rwf["amount_minor"], rwf["rate"], rwf["source"]) == ("1508", 1508, "150", "BNR")
        assert datetime.fromisoformat(rwf["as_of"]) == datetime.fromisoformat(as_of)
        assert eur["display_prices"]["CNY"]["amount"] == "78.39"
        # 10.15 x 150 = 1522.5 -> 1522 (half to even, down this time).
        assert (await create_listing(own, price={"amount": "10.15", "currency": "EUR"}))["display_prices"]["RWF"][
            "amount"
        ] == "1522"
        # Nobody set a rate for Tanzanian shillings: no guess, no field.
        tzs = await create_listing(own, price={"amount": "35000.00", "currency": "TZS"})
        assert tzs["display_prices"] == {}
        assert tzs["price"] == {"amount": "35000.00", "currency": "TZS"}
        # A price in CNY is shown in CNY as it is.
        cny = await create_listing(own, price={"amount": "99.00", "currency": "CNY"})
        assert cny["display_prices"]["CNY"]["amount"] == "99.00"
    async with platform.client(platform.keys["marketplace"]) as market:
        rates = (await market.get("/v1/listings/fx-rates")).json()["items"]
        assert {"EUR/CNY", "EUR/RWF"} <= {f"{r['base']}/{r['quote']}" for r in rates}


async def test_a_listing_in_rwf_has_no_decimals(platform: Platform, seller: Seller) -> None:
    listing = await published_listing(platform, seller, price={"amount": "25000", "currency": "RWF"})
    assert listing["price"] == {"amount": "25000", "currency": "RWF"}
    assert listing["display_prices"]["RWF"]["amount"] == "25000"
