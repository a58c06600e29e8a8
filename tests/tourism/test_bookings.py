"""A traveller app's bookings through the gateway: search, hold, confirm, expiry, cancel, reschedule, names."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from gateway.keys import parse_key
from services.tourism.bookings.service import app_of
from services.tourism.context import FakeClock
from services.tourism.domain import is_booking_reference
from shared.auth import Identity, Role
from shared.errors import Forbidden
from tests.support.platform import Platform
from tests.tourism.conftest import (
    STANDARD_TIERS,
    App,
    ahead,
    booking_events,
    confirm,
    confirmed,
    create_offer,
    eventually,
    fields,
    hold,
    hold_body,
    new_app,
    problem,
    remaining,
    taken,
)


async def test_search_hold_confirm(platform: Platform, app: App) -> None:
    offer = await create_offer(platform)
    day = ahead(40)
    async with app.client(platform) as client:
        found = await client.get(
            "/v1/tourism/availability",
            params={
                "kind": "gorilla_permit",
                "place": "volcanoes",
                "from": day.isoformat(),
                "to": day.isoformat(),
                "party": 2,
            },
        )
        assert found.status_code == 200, found.text
        mine = [i for i in found.json()["items"] if i["offer_id"] == offer["id"]]
        assert len(mine) == 1
        assert (mine[0]["remaining"], mine[0]["available"]) == (96, True)
        assert mine[0]["price"] == {"amount": "3000.00", "currency": "USD"}

        held = await hold(client, offer["id"], day, 2)
        assert held["status"] == "held"
        assert held["total"] == {"amount": "3000.00", "currency": "USD"}
        assert held["expires_at"] > held["created_at"]
        assert await remaining(client, offer["id"], day) == 94

        key = {"Idempotency-Key": f"pay-{uuid.uuid4().hex}"}
        body = {"payment_reference": "pay_3MtwBwLkdIwHu7ix"}
        done = await client.post(f"/v1/tourism/bookings/{held['id']}/confirm", json=body, headers=key)
        assert done.status_code == 200, done.text
        booking = done.json()
        assert booking["status"] == "confirmed"
        assert is_booking_reference(booking["booking_reference"])
        assert booking["payment_reference"] == "pay_3MtwBwLkdIwHu7ix"
        again = await client.post(f"/v1/tourism/bookings/{held['id']}/confirm", json=body, headers=key)
        assert again.status_code == 200
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json() == booking
        assert await remaining(client, offer["id"], day) == 94
        assert (await client.get(f"/v1/tourism/bookings/{held['id']}")).json() == booking

    evs = await booking_events(platform, held["id"], "held", "confirmed")
    assert [e.type for e in evs] == ["rw.ewtp.booking.held.v1", "rw.ewtp.booking.confirmed.v1"]
    assert evs[1].data["booking_reference"] == booking["booking_reference"]
    assert evs[1].data["app_id"] == held["app_id"]


async def test_a_hold_that_expires_gives_its_places_back_and_cannot_be_confirmed(platform: Platform, app: App) -> None:
    offer = await create_offer(platform, default_capacity=2, hold_ttl_s=1)
    day = ahead(10)
    async with app.client(platform) as client:
        first = await hold(client, offer["id"], day, 2)

        async def back() -> bool:
            return await remaining(client, offer["id"], day) == 2

        await eventually(back, what="the expired hold's places to be free")
        late = await confirm(client, first["id"])
        assert problem(late, 409)
        second = await hold(client, offer["id"], day, 2)
        assert second["status"] == "held"

        async def swept() -> bool:
            response = await client.get(f"/v1/tourism/bookings/{first['id']}")
            return bool(response.json()["status"] == "expired")

        await eventually(swept)
    evs = await booking_events(platform, first["id"], "held", "expired")
    assert [e.type for e in evs] == ["rw.ewtp.booking.held.v1", "rw.ewtp.booking.expired.v1"]
    assert evs[1].data["expired_at"] == first["expires_at"].replace("+00:00", "Z") or evs[1].data["expired_at"]
    assert await taken(platform, offer["id"], day) <= 2


@pytest.mark.parametrize(
    ("tiers", "days", "refund"),
    [
        (None, 45, "1200.00"),
        (None, 20, "0.00"),
        (None, 2, "0.00"),
        (STANDARD_TIERS, 45, "1500.00"),
        (STANDARD_TIERS, 20, "750.00"),
        (STANDARD_TIERS, 2, "0.00"),
    ],
)
async def test_cancel_refunds_per_the_policy_tier_on_the_day_of_cancellation(
    platform: Platform, app: App, clock: FakeClock, tiers: list[dict[str, str]] | None, days: int, refund: str
) -> None:
    offer = await create_offer(platform, **({"cancellation": tiers} if tiers else {}))
    visit = ahead(90)
    async with app.client(platform) as client:
        booking = await confirmed(client, offer["id"], visit)
        clock.advance(timedelta(days=90 - days))
        response = await client.post(f"/v1/tourism/bookings/{booking['id']}/cancel", json={"reason": "plans changed"})
        assert response.status_code == 200, response.text
        cancelled = response.json()
        assert cancelled["status"] == "cancelled"
        assert cancelled["refund"] == {"amount": refund, "currency": "USD"}
        assert await remaining(client, offer["id"], visit) == 96
        assert problem(await client.post(f"/v1/tourism/bookings/{booking['id']}/cancel"), 409)
    evs = await booking_events(platform, booking["id"], "cancelled")
    assert evs[-1].data["refund"] == {"amount": refund, "currency": "USD"}
    assert evs[-1].data["days_before"] == days
    assert evs[-1].data["previous_status"] == "confirmed"


async def test_releasing_a_hold_frees_its_places_without_refund(platform: Platform, app: App) -> None:
    offer = await create_offer(platform, default_capacity=3)
    day = ahead(5)
    async with app.client(platform) as client:
        held = await hold(client, offer["id"], day, 3)
        assert await remaining(client, offer["id"], day) == 0
        released = (await client.post(f"/v1/tourism/bookings/{held['id']}/cancel")).json()
        assert released["status"] == "cancelled_hold"
        assert released["refund"] == {"amount": "0.00", "currency": "USD"}
        assert await remaining(client, offer["id"], day) == 3
        assert problem(await confirm(client, held["id"]), 409)


async def test_reschedule_only_30_days_ahead_and_within_capacity(
    platform: Platform, app: App, clock: FakeClock
) -> None:
    offer = await create_offer(platform, default_capacity=4)
    visit, later, full = ahead(60), ahead(75), ahead(80)
    async with app.client(platform) as client:
        booking = await confirmed(client, offer["id"], visit, 2)
        await confirmed(client, offer["id"], full, 3)
        url = f"/v1/tourism/bookings/{booking['id']}/reschedule"

        assert problem(await client.post(url, json={"visit_date": full.isoformat()}), 409)  # 1 place left there
        assert problem(await client.post(url, json={"visit_date": visit.isoformat()}), 422)
        moved = await client.post(url, json={"visit_date": later.isoformat()})
        assert moved.status_code == 200, moved.text
        assert moved.json()["visit_date"] == later.isoformat()
        assert await remaining(client, offer["id"], visit) == 4
        assert await remaining(client, offer["id"], later) == 2

        clock.advance(timedelta(days=75 - 29))  # 29 days before the visit: too late to move
        refused = problem(await client.post(url, json={"visit_date": ahead(100).isoformat()}), 409)
        assert refused["days_before"] == 29

        held = await hold(client, offer["id"], ahead(70), 1)
        no = await client.post(f"/v1/tourism/bookings/{held['id']}/reschedule", json={"visit_date": later.isoformat()})
        assert problem(no, 409)
    evs = await booking_events(platform, booking["id"], "rescheduled")
    assert evs[-1].data["previous_visit_date"] == visit.isoformat()
    assert evs[-1].data["visit_date"] == later.isoformat()


async def test_a_reschedule_fee_is_charged_per_the_rule(platform: Platform, app: App) -> None:
    offer = await create_offer(
        platform, prices={"foreign_non_resident": "100"}, reschedule={"min_days_before": 30, "fee_percent": "20"}
    )
    async with app.client(platform) as client:
        booking = await confirmed(client, offer["id"], ahead(50), 2)
        moved = await client.post(
            f"/v1/tourism/bookings/{booking['id']}/reschedule", json={"visit_date": ahead(60).isoformat()}
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["fees"] == {"amount": "40.00", "currency": "USD"}


async def test_an_offer_without_a_rule_cannot_be_rescheduled(platform: Platform, app: App) -> None:
    offer = await create_offer(platform, kind="flight", reschedule=None, minimum_age=None)
    async with app.client(platform) as client:
        booking = await confirmed(client, offer["id"], ahead(50))
        response = await client.post(
            f"/v1/tourism/bookings/{booking['id']}/reschedule", json={"visit_date": ahead(60).isoformat()}
        )
        assert problem(response, 409)


async def test_traveller_names_change_at_most_twice(platform: Platform, app: App) -> None:
    offer = await create_offer(platform)
    async with app.client(platform) as client:
        booking = await confirmed(client, offer["id"], ahead(20), 2)
        url = f"/v1/tourism/bookings/{booking['id']}/name-change"
        assert problem(await client.post(url, json={"names": ["Only One"]}), 422)
        for count, names in enumerate((["Jean Mugisha", "Eric Habimana"], ["Jean Mugisha", "Aline Uwera"]), 1):
            response = await client.post(url, json={"names": names})
            assert response.status_code == 200, response.text
            assert [t["name"] for t in response.json()["travellers"]] == names
            assert response.json()["name_changes"] == count
        third = problem(await client.post(url, json={"names": ["A Third", "Name Change"]}), 409)
        assert "2" in third["detail"]


async def test_another_app_can_neither_see_nor_cancel_a_booking(platform: Platform, app: App) -> None:
    offer = await create_offer(platform)
    other = new_app(platform)
    async with app.client(platform) as mine, other.client(platform) as theirs:
        booking = await confirmed(mine, offer["id"], ahead(40))
        url = f"/v1/tourism/bookings/{booking['id']}"
        assert problem(await theirs.get(url), 404)
        assert problem(await theirs.post(f"{url}/cancel"), 404)
        assert problem(await confirm(theirs, booking["id"]), 404)
        assert problem(await theirs.post(f"{url}/reschedule", json={"visit_date": ahead(50).isoformat()}), 404)
        assert problem(await theirs.post(f"{url}/name-change", json={"names": ["Someone Else"]}), 404)
        listed = (await theirs.get("/v1/tourism/bookings", params={"limit": 200})).json()["items"]
        assert booking["id"] not in {b["id"] for b in listed}
        assert (await mine.get(url)).json()["status"] == "confirmed"
    async with platform.client(platform.keys["ops"]) as ops:
        assert (await ops.get(url)).status_code == 200
        assert problem(await ops.post(f"{url}/cancel"), 403)


async def test_every_key_of_an_app_sees_its_bookings_across_a_key_rotation(platform: Platform) -> None:
    """Bookings are bound to the app id (the keys' subject), not to a key: a second key of the app
    sees and changes them, also once the first is revoked; another app's key still gets 404."""
    offer = await create_offer(platform)
    first = new_app(platform)
    second = first.another_key(platform)
    stranger = new_app(platform)
    async with first.client(platform) as old:
        booking = await confirmed(old, offer["id"], ahead(45))
    assert booking["app_id"] == first.app_id
    url = f"/v1/tourism/bookings/{booking['id']}"
    async with platform.client(platform.keys["ops"]) as ops:
        parsed = parse_key(first.key)
        assert parsed is not None
        assert (await ops.delete(f"/v1/admin/api-keys/{parsed[0]}")).status_code == 204
    async with first.client(platform) as old, second.client(platform) as new, stranger.client(platform) as theirs:
        assert problem(await old.get(url), 401)
        assert (await new.get(url)).json()["status"] == "confirmed"
        listed = (await new.get("/v1/tourism/bookings", params={"limit": 200})).json()["items"]
        assert [b["id"] for b in listed] == [booking["id"]]
        assert problem(await theirs.get(url), 404)
        assert (await theirs.get("/v1/tourism/bookings", params={"limit": 200})).json()["items"] == []
        assert problem(await theirs.post(f"{url}/cancel"), 404)
        cancelled = await new.post(f"{url}/cancel")
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"


def test_a_traveller_app_key_without_an_app_id_is_refused() -> None:
    """A key issued before the gateway required an app id: refused, never bound to the key id."""
    legacy = Identity(principal="abcd1234", role=Role.TRAVELLER_APP, subject=None, request_id="r1")
    with pytest.raises(Forbidden):
        app_of(legacy)
    bound = Identity(principal="abcd1234", role=Role.TRAVELLER_APP, subject="app-1", request_id="r1")
    assert app_of(bound) == "app-1"


async def test_bookings_list_newest_first_with_cursors_for_the_app_and_for_ops(platform: Platform) -> None:
    offer = await create_offer(platform)
    lister = new_app(platform)
    async with lister.client(platform) as client:
        made = [(await hold(client, offer["id"], ahead(30 + i)))["id"] for i in range(5)]
        seen: list[str] = []
        cursor = None
        while True:
            params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
            page = (await client.get("/v1/tourism/bookings", params=params)).json()
            seen += [b["id"] for b in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == made[::-1]
        assert problem(await client.get("/v1/tourism/bookings", params={"cursor": "bm90IG91cnM"}), 400)
        held = (await client.get("/v1/tourism/bookings", params={"status": "held"})).json()["items"]
        assert len(held) == 5
    async with platform.client(platform.keys["ops"]) as ops:
        app_id = (await ops.get(f"/v1/tourism/bookings/{made[0]}")).json()["app_id"]
        page = (await ops.get("/v1/tourism/bookings", params={"app_id": app_id, "limit": 3})).json()
        assert [b["id"] for b in page["items"]] == made[::-1][:3]
        rest = (await ops.get("/v1/tourism/bookings", params={"app_id": app_id, "cursor": page["next_cursor"]})).json()
        assert [b["id"] for b in rest["items"]] == made[::-1][3:]


async def test_a_12_year_old_cannot_hold_a_gorilla_permit(platform: Platform, app: App) -> None:
    offer = await create_offer(platform)
    day = ahead(30)
    child = (day - timedelta(days=12 * 366)).isoformat()
    body = hold_body(offer["id"], day, 2)
    body["travellers"][1]["date_of_birth"] = child
    async with app.client(platform) as client:
        refused = problem(await client.post("/v1/tourism/bookings", json=body), 422)
    assert refused["errors"][0]["field"] == "travellers[1].date_of_birth"


async def test_a_hold_retried_under_its_idempotency_key_holds_once(platform: Platform, app: App) -> None:
    offer = await create_offer(platform, default_capacity=5)
    day = ahead(12)
    key = {"Idempotency-Key": f"hold-{uuid.uuid4().hex}"}
    async with app.client(platform) as client:
        first = await client.post("/v1/tourism/bookings", json=hold_body(offer["id"], day, 2), headers=key)
        assert first.status_code == 201, first.text
        again = await client.post("/v1/tourism/bookings", json=hold_body(offer["id"], day, 2), headers=key)
        assert (again.status_code, again.json()["id"]) == (201, first.json()["id"])
        assert again.headers["idempotent-replayed"] == "true"
        assert await remaining(client, offer["id"], day) == 3
        # A refused hold releases its key: the retry is judged afresh.
        refused_key = {"Idempotency-Key": f"hold-{uuid.uuid4().hex}"}
        too_many = hold_body(offer["id"], day, 4)
        assert problem(await client.post("/v1/tourism/bookings", json=too_many, headers=refused_key), 409)
        await client.post(f"/v1/tourism/bookings/{first.json()['id']}/cancel")
        retried = await client.post("/v1/tourism/bookings", json=too_many, headers=refused_key)
        assert retried.status_code == 201, retried.text
    assert await taken(platform, offer["id"], day) == 4


async def test_an_idempotency_key_belongs_to_the_app_not_to_one_of_its_keys(platform: Platform) -> None:
    """A hold retried with the app's new key (mid-rotation) replays; another app's same key does not."""
    offer = await create_offer(platform, default_capacity=5)
    day = ahead(13)
    first = new_app(platform)
    second, stranger = first.another_key(platform), new_app(platform)
    key = {"Idempotency-Key": f"hold-{uuid.uuid4().hex}"}
    body = hold_body(offer["id"], day, 1)
    async with first.client(platform) as old, second.client(platform) as new, stranger.client(platform) as theirs:
        made = await old.post("/v1/tourism/bookings", json=body, headers=key)
        assert made.status_code == 201, made.text
        again = await new.post("/v1/tourism/bookings", json=body, headers=key)
        assert (again.status_code, again.json()["id"]) == (201, made.json()["id"])
        assert again.headers["idempotent-replayed"] == "true"
        own = await theirs.post("/v1/tourism/bookings", json=body, headers=key)
        assert own.status_code == 201 and own.json()["id"] != made.json()["id"]
        assert own.json()["app_id"] == stranger.app_id
        # A booking id too long for an id is refused by name; one with a NUL names nothing (the
        # platform's NUL guard answers 404 for any path): never a 500.
        bad = "x" * 65
        cancel = await new.post(f"/v1/tourism/bookings/{bad}/cancel", headers=key)
        assert fields(problem(cancel, 422)) == {"booking_id"}
        assert fields(problem(await new.get(f"/v1/tourism/bookings/{bad}"), 422)) == {"booking_id"}
        assert fields(problem(await new.get(f"/v1/tourism/offers/{bad}"), 422)) == {"offer_id"}
        for path in ("/v1/tourism/bookings/a%00b", "/v1/tourism/offers/a%00b"):
            problem(await new.get(path), 404)
        problem(await new.post("/v1/tourism/bookings/a%00b/cancel", headers=key), 404)
    assert await taken(platform, offer["id"], day) == 2
