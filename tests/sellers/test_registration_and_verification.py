"""Registering, verifying, suspending and reinstating an exporter through the gateway, events included."""

from shared.contracts.sellers import TOPIC
from tests.sellers.conftest import problem, register, seller_body
from tests.support.events import events, read_topic
from tests.support.platform import Platform


async def test_register_then_verify_through_the_gateway_emits_events(platform: Platform) -> None:
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        created = await officer.post("/v1/sellers", json=seller_body())
        assert created.status_code == 201
        seller = created.json()
        assert seller["status"] == "pending_verification"
        assert created.headers["location"] == f"/v1/sellers/{seller['id']}"
        verified = await officer.post(f"/v1/sellers/{seller['id']}/verify", json={"reason": "documents checked"})
        assert verified.status_code == 200
        assert verified.json()["status"] == "verified"

    def mine(records: list) -> list:  # type: ignore[type-arg]
        return [e for e in events(records) if e.subject == seller["id"]]

    records = await read_topic(platform.broker.bootstrap, TOPIC, lambda rs: len(mine(rs)) >= 2)
    ours = mine(records)
    assert [e.type for e in ours] == ["rw.ewtp.seller.registered.v1", "rw.ewtp.seller.verified.v1"]
    assert ours[0].data["tin"] == seller["tin"]
    assert ours[1].data["actor"].startswith("rdb_officer:")
    assert ours[1].data["reason"] == "documents checked"
    keys = {r.key for r in records if r.key == seller["id"].encode()}
    assert keys == {seller["id"].encode()}


async def test_the_whole_verification_lifecycle_is_in_the_history(platform: Platform) -> None:
    seller = await register(platform)
    sid = seller["id"]
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        assert (await officer.post(f"/v1/sellers/{sid}/verify")).status_code == 200
        assert (await officer.post(f"/v1/sellers/{sid}/suspend", json={"reason": "expired NAEB licence"})).json()[
            "status"
        ] == "suspended"
    async with platform.client(platform.keys["ops"]) as ops:
        assert (await ops.post(f"/v1/sellers/{sid}/reinstate", json={"reason": "licence renewed"})).json()[
            "status"
        ] == "verified"
        history = (await ops.get(f"/v1/sellers/{sid}/history")).json()["items"]
    assert [(h["from_status"], h["to_status"]) for h in history] == [
        (None, "pending_verification"),
        ("pending_verification", "verified"),
        ("verified", "suspended"),
        ("suspended", "verified"),
    ]
    assert history[2]["reason"] == "expired NAEB licence"
    assert history[2]["actor"].startswith("rdb_officer:")
    assert history[3]["actor"].startswith("ops:")
    assert all(h["at"] for h in history)


async def test_an_impossible_transition_is_a_409(platform: Platform) -> None:
    seller = await register(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        await officer.post(f"/v1/sellers/{seller['id']}/reject", json={"reason": "TIN does not match RDB"})
        again = await officer.post(f"/v1/sellers/{seller['id']}/verify")
        body = problem(again, 409)
        assert body["current_status"] == "rejected"
        suspend_pending = await officer.post(
            f"/v1/sellers/{(await register(platform))['id']}/suspend", json={"reason": "x" * 5}
        )
        problem(suspend_pending, 409)


async def test_rejecting_or_suspending_needs_a_reason(platform: Platform) -> None:
    seller = await register(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        body = problem(await officer.post(f"/v1/sellers/{seller['id']}/reject"), 422)
        assert body["errors"] == [{"field": "reason", "reason": "required to reject"}]
        current = (await officer.get(f"/v1/sellers/{seller['id']}")).json()
    assert current["status"] == "pending_verification"


async def test_only_an_rdb_officer_verifies(platform: Platform) -> None:
    seller = await register(platform)
    for role in ("ops", "marketplace", "lender", "traveller_app"):
        async with platform.client(platform.keys[role]) as client:
            problem(await client.post(f"/v1/sellers/{seller['id']}/verify"), 403)
    seller_key = platform.issue_key("seller", seller["id"])
    async with platform.client(seller_key) as own:
        problem(await own.post(f"/v1/sellers/{seller['id']}/verify"), 403)
