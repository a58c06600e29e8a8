"""Bad input of every kind: a clear 4xx problem+json naming what is wrong, and nothing written."""

from typing import Any

import pytest

from tests.sellers.conftest import counts, problem, register, seller_body
from tests.support.platform import Platform


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"tin": "12345678"}, "tin"),
        ({"tin": "12345678A"}, "tin"),
        ({"sectors": ["gold"]}, "sectors.0"),
        ({"sectors": []}, "sectors"),
        ({"district": "atlantis"}, "district"),
        ({"contact_email": "not-an-email"}, "contact_email"),
        ({"contact_phone": "0788"}, "contact_phone"),
        ({"naeb_registration_number": None}, "naeb_registration_number"),
        ({"legal_name": None}, "legal_name"),
        ({"unexpected": "field"}, "unexpected"),
    ],
)
async def test_a_bad_field_is_named_and_nothing_is_written(
    platform: Platform, overrides: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        body = problem(await officer.post("/v1/sellers", json=seller_body(**overrides)), 422)
    assert field in [e["field"] for e in body["errors"]]
    assert await counts(platform) == before


async def test_missing_fields_are_each_listed(platform: Platform) -> None:
    before = await counts(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        body = problem(await officer.post("/v1/sellers", json={"legal_name": "Only A Name"}), 422)
    assert {"tin", "sectors", "district", "contact_email", "contact_phone"} <= {e["field"] for e in body["errors"]}
    assert await counts(platform) == before


async def test_malformed_json_is_a_400(platform: Platform) -> None:
    before = await counts(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        response = await officer.post(
            "/v1/sellers", content=b'{"legal_name": "x",', headers={"content-type": "application/json"}
        )
    assert "JSON" in problem(response, 400)["detail"]
    assert await counts(platform) == before


async def test_an_oversized_body_is_a_413(platform: Platform) -> None:
    before = await counts(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        huge = seller_body(legal_name="x" * 2_000_000)
        problem(await officer.post("/v1/sellers", json=huge), 413)
    assert await counts(platform) == before


async def test_a_duplicate_tin_is_a_409_and_writes_nothing(platform: Platform) -> None:
    first = await register(platform)
    before = await counts(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        body = problem(await officer.post("/v1/sellers", json=seller_body(tin=first["tin"])), 409)
    assert first["tin"] in body["detail"]
    assert await counts(platform) == before


async def test_an_unknown_seller_is_a_404(platform: Platform) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        problem(await ops.get("/v1/sellers/00000000-0000-0000-0000-000000000000"), 404)


async def test_a_bad_query_parameter_is_named(platform: Platform) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        body = problem(await ops.get("/v1/sellers", params={"status": "happy", "limit": 0}), 422)
        assert {e["field"] for e in body["errors"]} == {"status", "limit"}
        problem(await ops.get("/v1/sellers", params={"cursor": "garbage!"}), 400)


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"type": "certificate_of_origin", "number": "C1", "issued_on": "2026-01-10"}, "origin_certificate_type"),
        (
            {"type": "s_mark", "number": "S1", "issued_on": "2026-01-10", "origin_certificate_type": "eur1"},
            "origin_certificate_type",
        ),
        (
            {"type": "phytosanitary", "number": "P1", "issued_on": "2026-01-10", "expires_on": "2026-01-01"},
            "expires_on",
        ),
        ({"type": "passport", "number": "P1", "issued_on": "2026-01-10"}, "type"),
        ({"type": "phytosanitary", "number": "P1", "issued_on": "10/01/2026"}, "issued_on"),
    ],
)
async def test_a_bad_document_is_refused(platform: Platform, document: dict[str, Any], field: str) -> None:
    seller = await register(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        body = problem(await officer.post(f"/v1/sellers/{seller['id']}/documents", json=document), 422)
        assert field in [e["field"] for e in body["errors"]]
        assert (await officer.get(f"/v1/sellers/{seller['id']}/documents")).json() == []
