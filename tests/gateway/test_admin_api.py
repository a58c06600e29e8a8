"""The admin API over real HTTP: ops only, keys shown once, listed without secrets, revoked at once."""

from __future__ import annotations

import base64
import uuid

import orjson

from gateway.keys import parse_key
from tests.gateway.conftest import Gateway, problem


async def test_health_probes_need_no_key(gateway: Gateway) -> None:
    async with gateway.client() as anonymous:
        live, ready = await anonymous.get("/health/live"), await anonymous.get("/health/ready")
    assert live.status_code == 200 and live.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] == checks["sellers"] == "ok" and checks["orders"].startswith("failing")
    assert live.headers["x-request-id"] and ready.headers["x-request-id"]


async def test_every_other_path_needs_a_key(gateway: Gateway) -> None:
    async with gateway.client() as anonymous:
        for method, path in [
            ("GET", "/v1/sellers"),
            ("GET", "/v1/admin/api-keys"),
            ("POST", "/v1/admin/api-keys"),
            ("GET", "/v1/nothing-here"),
            ("GET", "/"),
        ]:
            body = problem(await anonymous.request(method, path), 401)
            assert body["instance"] == path
    async with gateway.client() as anonymous:
        response = await anonymous.get("/v1/sellers")
    assert response.headers["www-authenticate"] == "Bearer"


async def test_a_malformed_or_unknown_key_is_refused(gateway: Gateway) -> None:
    unknown = "ewtp_zzzzzzzz_" + "A" * 43
    for key in ("nonsense", unknown, gateway.ops_key + "x"):
        async with gateway.client(key) as caller:
            response = await caller.get("/v1/sellers")
        problem(response, 401)
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_the_key_may_come_in_x_api_key(gateway: Gateway) -> None:
    async with gateway.client(**{"X-API-Key": gateway.ops_key}) as ops:
        assert (await ops.get("/v1/admin/api-keys", params={"limit": 1})).status_code == 200


async def test_only_ops_may_use_the_admin_api(gateway: Gateway) -> None:
    lender = await gateway.issue("lender")
    async with gateway.client(lender["key"]) as caller:
        problem(await caller.get("/v1/admin/api-keys"), 403)
        problem(await caller.post("/v1/admin/api-keys", json={"name": "mine", "role": "ops"}), 403)
        problem(await caller.delete(f"/v1/admin/api-keys/{lender['id']}"), 403)


async def test_ops_create_list_and_revoke_a_key(gateway: Gateway) -> None:
    async with gateway.client(gateway.ops_key) as ops:
        created = await ops.post(
            "/v1/admin/api-keys", json={"name": "Tmall Global", "role": "marketplace", "subject_id": "mkt-tmall"}
        )
        assert created.status_code == 201, created.text
        assert created.headers["cache-control"] == "no-store"
        issued = created.json()
        assert parse_key(issued["key"]) is not None and parse_key(issued["key"])[0] == issued["id"]  # type: ignore[index]
        assert (issued["role"], issued["subject_id"], issued["revoked_at"]) == ("marketplace", "mkt-tmall", None)

        # The new key works, and is now in the gateway's cache.
        async with gateway.client(issued["key"]) as marketplace:
            assert (await marketplace.get("/v1/listings")).status_code == 200

        listed: list[dict[str, object]] = []
        cursor = None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await ops.get("/v1/admin/api-keys", params=params)).json()
            listed += page["items"]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        mine = [k for k in listed if k["id"] == issued["id"]]
        assert mine == [{k: v for k, v in issued.items() if k != "key"}]
        fields = {"id", "name", "role", "subject_id", "created_at", "revoked_at"}
        fields |= {"expires_at", "rate_limit", "last_used_at"}
        assert all(set(k) == fields for k in listed)

        assert (await ops.delete(f"/v1/admin/api-keys/{issued['id']}")).status_code == 204
        # Revoked in this gateway: refused on the very next request despite the cache.
        async with gateway.client(issued["key"]) as marketplace:
            body = problem(await marketplace.get("/v1/listings"), 401)
        assert "revoked" in body["detail"]

        assert (await ops.delete(f"/v1/admin/api-keys/{issued['id']}")).status_code == 204
        problem(await ops.delete("/v1/admin/api-keys/zzzzzzzz"), 404)
        page = (await ops.get("/v1/admin/api-keys", params={"limit": 200})).json()
        assert next(k for k in page["items"] if k["id"] == issued["id"])["revoked_at"] is not None


async def test_bad_input_lists_each_bad_field(gateway: Gateway) -> None:
    async with gateway.client(gateway.ops_key) as ops:
        body = problem(await ops.post("/v1/admin/api-keys", json={"name": "", "role": "pilot"}), 422)
        assert sorted(e["field"] for e in body["errors"]) == ["name", "role"]
        body = problem(await ops.post("/v1/admin/api-keys", json={"name": "coop", "role": "seller"}), 422)
        assert [e["field"] for e in body["errors"]] == ["subject_id"]
        body = problem(await ops.post("/v1/admin/api-keys", json={"name": "app", "role": "traveller_app"}), 422)
        assert [e["field"] for e in body["errors"]] == ["subject_id"]
        body = problem(await ops.post("/v1/admin/api-keys", json={"name": "n", "role": "ops", "subject_id": "x"}), 422)
        assert [e["field"] for e in body["errors"]] == ["subject_id"]
        body = problem(await ops.post("/v1/admin/api-keys", json={"name": "n", "role": "ops", "scope": "all"}), 422)
        assert [e["field"] for e in body["errors"]] == ["scope"]
        problem(
            await ops.post("/v1/admin/api-keys", content=b"{not json", headers={"content-type": "application/json"}),
            400,
        )
        problem(await ops.get("/v1/admin/api-keys", params={"limit": 0}), 422)
        problem(await ops.get("/v1/admin/api-keys", params={"cursor": "!!" + uuid.uuid4().hex}), 400)


async def test_a_cursor_we_did_not_issue_is_a_400(gateway: Gateway) -> None:
    def cursor(position: object) -> str:
        return base64.urlsafe_b64encode(orjson.dumps(position)).decode().rstrip("=")

    tampered = [
        {"t": "2026-01-01T00:00:00", "id": "abcd1234"},  # naive
        {"t": "0001-01-01T00:00:00+14:00", "id": "abcd1234"},  # overflows when made UTC
        {"t": "9999-12-31T23:59:59-14:00", "id": "abcd1234"},
        {"t": "2026-01-01T00:00:00+02:00", "id": "abcd1234"},  # we issue UTC only
        {"t": 1, "id": "abcd1234"},
        {"t": "2026-01-01T00:00:00+00:00", "id": 2**70},
        {"t": "2026-01-01T00:00:00+00:00", "id": "abc\u0000d1234"},
        {"t": "2026-01-01T00:00:00+00:00", "id": "\ud800bcd1234"},
        {"t": "2026-01-01T00:00:00+00:00", "id": "abcd1234", "extra": 1},
        [1, 2],
    ]
    async with gateway.client(gateway.ops_key) as ops:
        for position in tampered:
            try:
                raw = cursor(position)
            except TypeError:  # orjson refuses the lone surrogate: encode it by hand
                raw = base64.urlsafe_b64encode(b'{"t":"2026-01-01T00:00:00+00:00","id":"\\ud800bcd1234"}').decode()
            body = problem(await ops.get("/v1/admin/api-keys", params={"cursor": raw}), 400)
            assert "cursor" in body["detail"], position
        fine = await ops.get(
            "/v1/admin/api-keys", params={"cursor": cursor({"t": "2026-01-01T00:00:00+00:00", "id": "abcd1234"})}
        )
        assert fine.status_code == 200, fine.text
