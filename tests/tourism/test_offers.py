"""Offers and dated inventory: the seeded store, per-date overrides and closures, availability and prices."""

from __future__ import annotations

from typing import Any

from tests.support.platform import Platform
from tests.tourism.conftest import App, ahead, create_offer, eventually, hold, hold_body, problem, remaining


async def test_the_store_is_seeded_with_the_issue_s_offers(platform: Platform, app: App) -> None:
    async with app.client(platform) as client:

        async def seeded() -> dict[str, Any] | None:
            response = await client.get("/v1/tourism/offers/gorilla-volcanoes")
            return dict(response.json()) if response.status_code == 200 else None

        gorilla = await eventually(seeded, what="the seeded gorilla permit")
        assert (gorilla["default_capacity"], gorilla["currency"], gorilla["minimum_age"]) == (96, "USD", 15)
        assert gorilla["prices"]["foreign_non_resident"] == "1500.00"
        assert gorilla["reschedule"]["min_days_before"] == 30
        ids = set()
        cursor = None
        while True:
            page = (
                await client.get("/v1/tourism/offers", params={"limit": 3, **({"cursor": cursor} if cursor else {})})
            ).json()
            ids |= {o["id"] for o in page["items"]}
            if not (cursor := page["next_cursor"]):
                break
        assert {
            "gorilla-volcanoes",
            "golden-monkey-volcanoes",
            "nyungwe-canopy-walk",
            "akagera-entry",
            "lodge-musanze-double",
            "lodge-kivu-twin",
            "flight-kgl-pvg",
        } <= ids
        kivu = (await client.get("/v1/tourism/offers/lodge-kivu-twin")).json()
        assert kivu["currency"] == "RWF"


async def test_dates_follow_the_default_unless_overridden_or_closed(platform: Platform, app: App) -> None:
    offer = await create_offer(platform, default_capacity=10)
    plain, override, closed = ahead(40), ahead(41), ahead(42)
    async with platform.client(platform.keys["ops"]) as ops:
        url = f"/v1/tourism/offers/{offer['id']}"
        set_override = await ops.put(f"{url}/dates/{override}", json={"capacity": 80})
        assert set_override.json()["capacity"] == 80 and set_override.json()["overridden"]
        assert (await ops.put(f"{url}/dates/{closed}", json={"closed": True})).json()["closed"]
        async with app.client(platform) as client:
            await hold(client, offer["id"], plain, 3)
        # A new default reaches dates without an override, including one already booked.
        assert (await ops.patch(url, json={"default_capacity": 56})).json()["default_capacity"] == 56
        dates = (await ops.get(f"{url}/dates", params={"from": str(plain), "to": str(closed)})).json()
        assert [(d["capacity"], d["taken"], d["remaining"], d["closed"]) for d in dates] == [
            (56, 3, 53, False),
            (80, 0, 80, False),
            (56, 0, 0, True),
        ]
        back = await ops.put(f"{url}/dates/{override}", json={"capacity": None})
        assert (back.json()["capacity"], back.json()["overridden"]) == (56, False)
        problem(await ops.put(f"{url}/dates/{ahead(-3)}", json={"closed": True}), 422)
        problem(await ops.put(f"/v1/tourism/offers/no-such-offer/dates/{plain}", json={"closed": True}), 404)
        problem(await ops.patch(url, json={"name": None}), 422)


async def test_availability_prices_the_party_and_rooms_for_a_lodge(platform: Platform, app: App) -> None:
    lodge = await create_offer(
        platform,
        kind="hotel_room",
        unit="per_room",
        room_occupancy=2,
        currency="RWF",
        prices={"foreign_non_resident": "150000", "rwandan": "85000"},
        minimum_age=None,
        default_capacity=5,
        max_quantity=4,
    )
    day = ahead(14)
    async with app.client(platform) as client:
        params = {"offer_id": lodge["id"], "from": str(day), "to": str(ahead(15)), "party": 3}
        items = (await client.get("/v1/tourism/availability", params=params)).json()["items"]
        assert [(i["date"], i["quantity"], i["remaining"], i["available"]) for i in items] == [
            (str(day), 2, 5, True),
            (str(ahead(15)), 2, 5, True),
        ]
        assert items[0]["price"] == {"amount": "300000", "currency": "RWF"}
        resident = (
            await client.get("/v1/tourism/availability", params=params | {"visitor_category": "rwandan"})
        ).json()
        assert resident["items"][0]["price"] == {"amount": "170000", "currency": "RWF"}
        none = (
            await client.get("/v1/tourism/availability", params=params | {"visitor_category": "eac_citizen"})
        ).json()
        assert (none["items"][0]["price"], none["items"][0]["available"]) == (None, False)
        big = (await client.get("/v1/tourism/availability", params=params | {"party": 11})).json()
        assert big["items"][0]["available"] is False
        assert await remaining(client, lodge["id"], day) == 5


async def test_a_withdrawn_offer_is_not_searched_nor_held(platform: Platform, app: App) -> None:
    offer = await create_offer(platform)
    async with platform.client(platform.keys["ops"]) as ops:
        assert (await ops.patch(f"/v1/tourism/offers/{offer['id']}", json={"active": False})).json()["active"] is False
    async with app.client(platform) as client:
        params = {"offer_id": offer["id"], "from": str(ahead(10)), "to": str(ahead(10))}
        assert (await client.get("/v1/tourism/availability", params=params)).json()["items"] == []
        refused = problem(await client.post("/v1/tourism/bookings", json=hold_body(offer["id"], ahead(10))), 422)
        assert refused["errors"][0]["field"] == "offer_id"
