"""A seller sees and edits only itself; forged or unsigned requests never reach a service's logic."""

import httpx

from shared.auth import sign_identity
from tests.sellers.conftest import problem, register
from tests.support.platform import Platform


async def test_a_seller_sees_and_edits_only_its_own_profile(platform: Platform) -> None:
    mine, other = await register(platform), await register(platform)
    async with platform.client(platform.issue_key("seller", mine["id"])) as seller:
        assert (await seller.get(f"/v1/sellers/{mine['id']}")).status_code == 200
        problem(await seller.get(f"/v1/sellers/{other['id']}"), 403)
        problem(await seller.patch(f"/v1/sellers/{other['id']}", json={"district": "huye"}), 403)
        listed = (await seller.get("/v1/sellers", params={"limit": 200})).json()["items"]
        assert [s["id"] for s in listed] == [mine["id"]]
        edited = await seller.patch(f"/v1/sellers/{mine['id']}", json={"contact_phone": "+250722000111"})
        assert edited.status_code == 200
        assert edited.json()["contact_phone"] == "+250722000111"
        assert edited.json()["version"] == mine["version"] + 1


async def test_a_seller_cannot_drop_the_naeb_number_while_in_coffee(platform: Platform) -> None:
    mine = await register(platform)
    async with platform.client(platform.issue_key("seller", mine["id"])) as seller:
        body = problem(await seller.patch(f"/v1/sellers/{mine['id']}", json={"naeb_registration_number": None}), 422)
        assert body["errors"][0]["field"] == "naeb_registration_number"
        moved = await seller.patch(
            f"/v1/sellers/{mine['id']}", json={"sectors": ["handicrafts"], "naeb_registration_number": None}
        )
        assert moved.status_code == 200
        assert moved.json()["sectors"] == ["handicrafts"]


async def test_an_rdb_officer_does_not_edit_profiles(platform: Platform) -> None:
    mine = await register(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        problem(await officer.patch(f"/v1/sellers/{mine['id']}", json={"district": "huye"}), 403)


async def test_client_supplied_identity_headers_do_not_pass_the_gateway(platform: Platform) -> None:
    mine = await register(platform)
    forged = {"X-Ewtp-Role": "rdb_officer", "X-Ewtp-Principal": "attacker", "X-Ewtp-Subject": ""}
    async with platform.client(platform.issue_key("seller", mine["id"])) as seller:
        problem(await seller.post(f"/v1/sellers/{mine['id']}/verify", headers=forged), 403)


async def test_unsigned_or_forged_requests_straight_to_the_service_are_refused(platform: Platform) -> None:
    sellers_url = platform.servers["sellers"].url
    async with httpx.AsyncClient(base_url=sellers_url) as direct:
        problem(await direct.get("/v1/sellers"), 401)
        forged = sign_identity(
            b"not-the-gateway-secret",
            principal="x",
            role="ops",
            subject=None,
            request_id="req-00000001",
            method="GET",
            path="/v1/sellers",
        )
        problem(await direct.get("/v1/sellers", headers=forged), 401)
        assert (await direct.get("/health/live")).status_code == 200


async def test_a_marketplace_key_cannot_read_sellers(platform: Platform) -> None:
    async with platform.client(platform.keys["marketplace"]) as marketplace:
        problem(await marketplace.get("/v1/sellers"), 403)
