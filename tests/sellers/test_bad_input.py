"""Bad input of every kind: a clear 4xx problem+json naming what is wrong, and nothing written."""

from typing import Any

import pytest
from pydantic import BaseModel

from services.sellers.schemas import DecisionIn, DocumentCreate, SellerCreate, SellerUpdate
from tests.sellers.conftest import counts, problem, register, seller_body
from tests.support.factories import Seller, verified_seller
from tests.support.hostile import (
    CLASS_SCRIPTS,
    LONE_SURROGATE,
    NUL,
    non_ascii_variants,
    raw_json,
    string_fields,
    value_at,
    with_value,
)
from tests.support.platform import Platform
from tests.support.problems import fields

JSON = {"content-type": "application/json"}


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


# --------------------------------------------------------------------------------------------------
# Classes of bad input (issue 7), each over every field of its class, on both databases.

HOSTILE = {"NUL": NUL, "lone surrogate": LONE_SURROGATE}
DOCUMENT = {"type": "phytosanitary", "number": "PH-2026-001", "issued_on": "2026-01-10", "expires_on": "2026-07-10"}
PROFILE = {
    "contact_email": "export@kivuhills.rw",
    "contact_phone": "+250788123456",
    "naeb_registration_number": "NAEB-CE-0042",
}


def _hostile_cases(model: type[BaseModel], base: dict[str, Any]) -> list[Any]:
    """(path, bad value) for every string field of `model`: NUL and a lone surrogate inside a valid
    value, and every code written with non-ASCII digits or letters."""
    cases = []
    for field in string_fields(model):
        valid = str(value_at(base, field.path) or "ab")
        for name, char in HOSTILE.items():
            bad = valid[: len(valid) // 2] + char + valid[len(valid) // 2 :]
            cases.append(pytest.param(field.path, bad, id=f"{field.path}-{name}"))
        if field.code:
            for script, bad in non_ascii_variants(valid).items():
                if script in CLASS_SCRIPTS:
                    cases.append(pytest.param(field.path, bad, id=f"{field.path}-{script}"))
    return cases


@pytest.fixture(scope="module")
async def own_seller(platform: Platform) -> Seller:
    return await verified_seller(platform)


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(SellerCreate, seller_body()))
async def test_every_registration_string_refuses_nul_surrogates_and_non_ascii_codes(
    platform: Platform, path: str, bad: str
) -> None:
    body = with_value(seller_body(), path, bad)
    before = await counts(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        answer = problem(await officer.post("/v1/sellers", content=raw_json(body), headers=JSON), 422)
    assert path in fields(answer), answer
    assert await counts(platform) == before


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(SellerUpdate, PROFILE))
async def test_every_profile_string_refuses_nul_surrogates_and_non_ascii_codes(
    platform: Platform, own_seller: Seller, path: str, bad: str
) -> None:
    async with platform.client(own_seller.key) as own:
        before = (await own.get(f"/v1/sellers/{own_seller.id}")).json()
        body = raw_json({path: bad})
        answer = problem(await own.patch(f"/v1/sellers/{own_seller.id}", content=body, headers=JSON), 422)
        assert path in fields(answer), answer
        assert (await own.get(f"/v1/sellers/{own_seller.id}")).json() == before


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(DocumentCreate, DOCUMENT))
async def test_every_document_string_refuses_nul_surrogates_and_non_ascii_codes(
    platform: Platform, own_seller: Seller, path: str, bad: str
) -> None:
    async with platform.client(own_seller.key) as own:
        url = f"/v1/sellers/{own_seller.id}/documents"
        before = (await own.get(url)).json()
        answer = problem(await own.post(url, content=raw_json(with_value(DOCUMENT, path, bad)), headers=JSON), 422)
        assert path in fields(answer), answer
        assert (await own.get(url)).json() == before


@pytest.mark.parametrize(("path", "bad"), _hostile_cases(DecisionIn, {"reason": "documents do not match"}))
async def test_every_decision_string_refuses_nul_and_surrogates(platform: Platform, path: str, bad: str) -> None:
    seller = await register(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        url = f"/v1/sellers/{seller['id']}/reject"
        answer = problem(await officer.post(url, content=raw_json({path: bad}), headers=JSON), 422)
        assert path in fields(answer), answer
        assert (await officer.get(f"/v1/sellers/{seller['id']}")).json()["status"] == "pending_verification"


@pytest.mark.parametrize("script", ["fullwidth", "arabic-indic", "devanagari"])
async def test_a_tin_in_other_digits_is_not_a_second_seller(platform: Platform, script: str) -> None:
    first = await register(platform)
    lookalike = non_ascii_variants(first["tin"])[script]
    before = await counts(platform)
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        answer = problem(await officer.post("/v1/sellers", json=seller_body(tin=lookalike)), 422)
    assert fields(answer) == {"tin"}
    assert await counts(platform) == before


REQUIRED_IN_A_PATCH = sorted(set(SellerUpdate.model_fields) - SellerUpdate.nullable_fields())


@pytest.mark.parametrize("field", REQUIRED_IN_A_PATCH)
async def test_a_null_for_a_field_that_cannot_be_cleared_is_named_and_nothing_changes(
    platform: Platform, own_seller: Seller, field: str
) -> None:
    async with platform.client(own_seller.key) as own:
        before = (await own.get(f"/v1/sellers/{own_seller.id}")).json()
        answer = problem(await own.patch(f"/v1/sellers/{own_seller.id}", json={field: None}), 422)
        assert fields(answer) == {field}
        after = (await own.get(f"/v1/sellers/{own_seller.id}")).json()
    assert after == before
    assert after["contact_email"] != "None"


async def test_a_null_naeb_number_clears_it_only_where_no_sector_needs_it(platform: Platform) -> None:
    seller = await verified_seller(platform, sectors=["handicrafts"])
    async with platform.client(seller.key) as own:
        cleared = await own.patch(f"/v1/sellers/{seller.id}", json={"naeb_registration_number": None})
        assert cleared.status_code == 200, cleared.text
        assert cleared.json()["naeb_registration_number"] is None
        answer = problem(await own.patch(f"/v1/sellers/{seller.id}", json={"sectors": ["coffee"]}), 422)
        assert fields(answer) == {"naeb_registration_number"}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"name": f"Kivu{NUL}"}, "name"),
        ({"limit": "true"}, "limit"),
        ({"limit": "٥"}, "limit"),
        ({"limit": str(2**63)}, "limit"),
        ({"status": f"verified{NUL}"}, "status"),
    ],
    ids=["name-NUL", "limit-bool", "limit-arabic-indic", "limit-2^63", "status-NUL"],
)
async def test_bad_query_parameters_are_422_on_every_database(
    platform: Platform, params: dict[str, str], field: str
) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        assert field in fields(problem(await ops.get("/v1/sellers", params=params), 422))


@pytest.mark.parametrize("suffix", ["", "/documents", "/history"])
async def test_a_nul_in_a_seller_id_is_a_4xx_on_every_database(platform: Platform, suffix: str) -> None:
    async with platform.client(platform.keys["ops"]) as ops:
        answer = await ops.get(f"/v1/sellers/abc%00def{suffix}")
    assert answer.status_code in (404, 422), answer.text
    assert answer.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(
    ("document", "field"),
    [
        ({"issued_on": "0001-01-01"}, "issued_on"),
        ({"expires_on": "9999-12-31"}, "expires_on"),
    ],
)
async def test_dates_at_the_edge_of_the_range_are_refused(
    platform: Platform, own_seller: Seller, document: dict[str, str], field: str
) -> None:
    async with platform.client(own_seller.key) as own:
        url = f"/v1/sellers/{own_seller.id}/documents"
        assert field in fields(problem(await own.post(url, json={**DOCUMENT, **document}), 422))
