"""Listing with filters and cursors, documents, and Idempotency-Key through the gateway."""

import uuid

from tests.sellers.conftest import counts, problem, register, seller_body
from tests.support.platform import Platform


async def test_list_filters_and_paginates_with_cursors(platform: Platform) -> None:
    tag = uuid.uuid4().hex[:8]
    made = [
        await register(
            platform,
            legal_name=f"Basket Weavers {tag} {i}",
            sectors=["handicrafts"],
            naeb_registration_number=None,
            district="nyanza",
        )
        for i in range(5)
    ]
    await register(platform, legal_name=f"Tea Estate {tag}", sectors=["tea"], district="nyanza")
    async with platform.client(platform.keys["ops"]) as ops:
        seen: list[str] = []
        cursor = None
        while True:
            params = {"name": f"Basket Weavers {tag}", "sector": "handicrafts", "district": "nyanza", "limit": 2}
            page = (await ops.get("/v1/sellers", params=params | ({"cursor": cursor} if cursor else {}))).json()
            assert len(page["items"]) <= 2
            seen += [s["id"] for s in page["items"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == [s["id"] for s in made]
        tea = (await ops.get("/v1/sellers", params={"name": tag, "sector": "tea"})).json()["items"]
        assert [s["legal_name"] for s in tea] == [f"Tea Estate {tag}"]
        pending = (await ops.get("/v1/sellers", params={"name": tag, "status": "verified"})).json()["items"]
        assert pending == []


async def test_a_seller_adds_and_lists_its_documents(platform: Platform) -> None:
    seller = await register(platform)
    async with platform.client(platform.issue_key("seller", seller["id"])) as own:
        doc = {
            "type": "certificate_of_origin",
            "origin_certificate_type": "coo_export_to_china",
            "number": "RW-COO-2026-0001",
            "issued_on": "2026-03-01",
            "expires_on": "2027-03-01",
        }
        created = await own.post(f"/v1/sellers/{seller['id']}/documents", json=doc)
        assert created.status_code == 201
        listed = (await own.get(f"/v1/sellers/{seller['id']}/documents")).json()
    assert [(d["type"], d["origin_certificate_type"], d["number"]) for d in listed] == [
        ("certificate_of_origin", "coo_export_to_china", "RW-COO-2026-0001")
    ]


async def test_idempotency_key_replays_and_refuses_reuse(platform: Platform) -> None:
    body = seller_body()
    key = {"Idempotency-Key": f"onboard-{uuid.uuid4()}"}
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        first = await officer.post("/v1/sellers", json=body, headers=key)
        after_first = await counts(platform)
        replay = await officer.post("/v1/sellers", json=body, headers=key)
        assert replay.status_code == 201
        assert replay.content == first.content
        assert replay.headers["idempotent-replayed"] == "true"
        assert await counts(platform) == after_first
        other = await officer.post("/v1/sellers", json=seller_body(), headers=key)
        problem(other, 422)
        assert await counts(platform) == after_first
