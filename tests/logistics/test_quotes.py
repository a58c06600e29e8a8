"""Quotes and rate cards through the gateway: options per mode and carrier, Incoterm rules, access,
`quote.issued` on the real broker, card versions that never change an issued quote."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from services.logistics.domain.incoterms import SEA_ONLY_INCOTERMS, Incoterm
from services.logistics.models import QuoteRow
from services.logistics.ratecards.cache import RateCardCache
from services.logistics.schemas import QuoteOut
from services.logistics.seed import SEED_RATE_CARDS
from shared.contracts.logistics import QuoteIssuedV1
from shared.tables import outbox_table
from tests.logistics.conftest import (
    ask_quote,
    counts,
    eventually,
    fields,
    logistics_events,
    money,
    parcel,
    problem,
    quote_body,
)
from tests.support.platform import Platform

MODES = ["air", "sea", "road", "courier"]


@pytest.fixture(scope="module")
def seller_key(platform: Platform) -> str:
    return platform.issue_key("seller", f"seller-{uuid.uuid4().hex[:8]}")


async def test_a_quote_offers_every_mode_and_carrier_with_itemised_charges(platform: Platform, seller_key: str) -> None:
    quote = await ask_quote(platform, seller_key)
    assert quote["reason"] is None and quote["requested_by"].startswith("seller:")
    assert quote["actual_weight_kg"] == "82"  # 3 × 12.5 + 4 + 2 × 20.25
    options = quote["options"]
    assert [o["mode"] for o in options] == sorted((o["mode"] for o in options), key=MODES.index)
    assert {o["mode"] for o in options} == {"air", "courier", "sea"}
    assert {o["via"] for o in options if o["mode"] == "sea"} == {"KEMBA", "TZDAR"}
    assert len({o["option_id"] for o in options}) == len(options)
    seed_versions = {c.card_id: c.version for c in SEED_RATE_CARDS}
    for option in options:
        assert money(option["total"]) == sum(money(leg["total"]) for leg in option["legs"])
        assert datetime.fromisoformat(option["valid_until"]) > datetime.now(UTC)
        for leg in option["legs"]:
            assert leg["rate_card_version"] == seed_versions[leg["rate_card_id"]]
            payable = [money(c["amount"]) for c in leg["charges"] if not c["included"]]
            assert money(leg["total"]) == sum(payable)
            assert all(c["amount"]["currency"] == "USD" for c in leg["charges"])
    air = next(o for o in options if o["mode"] == "air")
    # 3 × 96,000 + 18,000 + 2 × 60,000 cm³ = 426,000 cm³ / 6000 = 71 kg volumetric < 82 kg actual
    weight = air["legs"][0]["chargeable_weight"]
    assert (weight["volumetric_kg"], weight["chargeable_kg"]) == ("71", "82")
    sea = next(o for o in options if o["mode"] == "sea")
    assert sea["legs"][1]["chargeable_weight"]["chargeable_kg"] == "1000"  # 1 W/M minimum


async def test_quote_issued_is_published_and_the_quote_is_readable_by_its_asker_and_ops(
    platform: Platform, seller_key: str
) -> None:
    quote = await ask_quote(platform, seller_key)
    published = await logistics_events(platform, quote["id"], {QuoteIssuedV1.TYPE})
    data = QuoteIssuedV1.from_event(published[0])
    assert [o.option_id for o in data.options] == [o["option_id"] for o in quote["options"]]
    assert [o.total for o in data.options] == [o["total"]["amount"] for o in quote["options"]]
    for key in (seller_key, platform.keys["ops"]):
        async with platform.client(key) as client:
            response = await client.get(f"/v1/logistics/quotes/{quote['id']}")
        assert response.status_code == 200 and response.json() == quote
    other_seller = platform.issue_key("seller", f"seller-{uuid.uuid4().hex[:8]}")
    for key in (other_seller, platform.keys["marketplace"]):
        async with platform.client(key) as client:
            problem(await client.get(f"/v1/logistics/quotes/{quote['id']}"), 404)
    async with platform.client(platform.keys["lender"]) as lender:
        problem(await lender.post("/v1/logistics/quotes", json=quote_body()), 403)


@pytest.mark.parametrize("incoterm", [t.value for t in Incoterm])
async def test_incoterm_mode_matrix(platform: Platform, seller_key: str, incoterm: str) -> None:
    sea_only = Incoterm(incoterm) in SEA_ONLY_INCOTERMS
    async with platform.client(seller_key) as client:
        response = await client.post("/v1/logistics/quotes", json=quote_body(incoterm=incoterm))
        assert response.status_code == 201, response.text
        offered = {o["mode"] for o in response.json()["options"]}
        assert offered == ({"sea"} if sea_only else {"air", "courier", "sea"})
        for mode in MODES:
            response = await client.post("/v1/logistics/quotes", json=quote_body(incoterm=incoterm, mode=mode))
            if sea_only and mode != "sea":
                assert "incoterm" in fields(problem(response, 422))
            else:
                assert response.status_code == 201, response.text
                assert {o["mode"] for o in response.json()["options"]} <= {mode}


async def test_no_lane_is_an_empty_list_with_a_reason(platform: Platform, seller_key: str) -> None:
    quote = await ask_quote(platform, seller_key, destination="USNYC")
    assert quote["options"] == [] and "USNYC" in quote["reason"]
    road = await ask_quote(platform, seller_key, destination="TZDAR", incoterm="DAP")
    assert [o["mode"] for o in road["options"]] == ["road"]


BAD: list[tuple[str, dict[str, Any], str]] = [
    ("negative weight", {"parcels": [parcel(kg="-1")]}, "parcels.0.weight_kg"),
    ("zero weight", {"parcels": [parcel(kg=0)]}, "parcels.0.weight_kg"),
    ("zero dimension", {"parcels": [parcel(dims=("0", "10", "10"))]}, "parcels.0.length_cm"),
    ("huge dimension", {"parcels": [parcel(dims=("10", "10", "1e9"))]}, "parcels.0.height_cm"),
    ("4 decimal places", {"parcels": [parcel(kg="1.2345")]}, "parcels.0.weight_kg"),
    ("NaN weight", {"parcels": [parcel(kg="NaN")]}, "parcels.0.weight_kg"),
    ("boolean weight", {"parcels": [parcel(kg=True)]}, "parcels.0.weight_kg"),
    ("Arabic-Indic digits", {"parcels": [parcel(kg="١٢")]}, "parcels.0.weight_kg"),
    ("10,000 parcels", {"parcels": [parcel(count=10_000)]}, "parcels.0.count"),
    ("boolean count", {"parcels": [parcel(count=True)]}, "parcels.0.count"),
    ("count past Int64", {"parcels": [parcel(count=2**70)]}, "parcels.0.count"),
    ("1,000 parcels over two lines", {"parcels": [parcel(count=500), parcel(count=500)]}, "body"),
    ("101 parcel lines", {"parcels": [parcel()] * 101}, "parcels"),
    ("no parcels", {"parcels": []}, "parcels"),
    ("lower-case UN/LOCODE", {"origin": "rwkgl"}, "origin"),
    ("UN/LOCODE with a 0", {"destination": "CNPV0"}, "destination"),
    ("UN/LOCODE with a Unicode digit", {"destination": "CNPV٣"}, "destination"),
    ("UN/LOCODE of no country", {"destination": "ZZPVG"}, "destination"),
    ("UN/LOCODE with a NUL", {"origin": "RW\x00GL"}, "origin"),
    ("same origin and destination", {"destination": "RWKGL"}, "body"),
    ("DAT (Incoterms 2010)", {"incoterm": "DAT"}, "incoterm"),
    ("lower-case Incoterm", {"incoterm": "fca"}, "incoterm"),
    ("unknown mode", {"mode": "rail"}, "mode"),
    ("sea-only Incoterm by air", {"incoterm": "CIF", "mode": "air"}, "incoterm"),
    ("unknown field", {"insured": True}, "insured"),
]


@pytest.mark.parametrize(("case", "changes", "field"), BAD, ids=[b[0] for b in BAD])
async def test_bad_quote_requests_are_422_naming_the_field_and_write_nothing(
    platform: Platform, seller_key: str, case: str, changes: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(seller_key) as client:
        body = problem(await client.post("/v1/logistics/quotes", json=quote_body(**changes)), 422)
    assert field in fields(body), body
    assert await counts(platform) == before


def card_body(card_id: str, destination: str, price: str, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "card_id": card_id,
        "carrier": "Test Air Cargo",
        "mode": "air",
        "origin": "RWKGL",
        "destination": destination,
        "currency": "USD",
        "breaks": [{"from_kg": "0", "price_per_kg": price}, {"from_kg": "100", "price_per_kg": "3.00"}],
        "minimum_charge": "50.00",
        "surcharges": [{"kind": "fuel", "basis": "per_kg", "value": "0.50", "included": False}],
        "transit_days": 3,
        "valid_from": "2026-01-01",
        "valid_to": "2027-12-31",
    }
    body.update(overrides)
    return body


async def test_a_new_card_version_prices_new_quotes_and_never_changes_issued_ones(
    platform: Platform, seller_key: str
) -> None:
    card_id = f"T-{uuid.uuid4().hex[:8].upper()}"
    lane = {"destination": "JPTYO", "parcels": [parcel(1, "10", ("10", "10", "10"))]}
    async with platform.client(platform.keys["ops"]) as ops:
        first = await ops.post("/v1/logistics/rate-cards", json=card_body(card_id, "JPTYO", "6.00"))
        assert first.status_code == 201, first.text
        assert first.json()["version"] == 1
        old = await ask_quote(platform, seller_key, **lane)
        assert [(leg["rate_card_id"], leg["rate_card_version"]) for leg in old["options"][0]["legs"]] == [(card_id, 1)]
        assert money(old["options"][0]["total"]) == Decimal("65.00")  # 10 kg × (6.00 + 0.50)
        second = await ops.post("/v1/logistics/rate-cards", json=card_body(card_id, "JPTYO", "8.00"))
        assert second.status_code == 201 and second.json()["version"] == 2
        new = await ask_quote(platform, seller_key, **lane)
        assert new["options"][0]["legs"][0]["rate_card_version"] == 2
        assert money(new["options"][0]["total"]) == Decimal("85.00")
        versions = await ops.get(f"/v1/logistics/rate-cards/{card_id}")
        assert [v["version"] for v in versions.json()] == [2, 1]
    async with platform.client(seller_key) as client:
        again = await client.get(f"/v1/logistics/quotes/{old['id']}")
    assert again.json() == old


async def test_a_cards_own_volumetric_ratio_and_rounding_price_its_quotes(platform: Platform, seller_key: str) -> None:
    """Issue 11: "rounding up per the card": this card counts 1 kg per 5,000 cm³ (not air's 6,000) and
    rounds up to whole kg; the override is stored with the card and read back."""
    card_id = f"T-{uuid.uuid4().hex[:8].upper()}"
    sent = card_body(card_id, "JPFUK", "6.00", volumetric={"kg": 1, "per_cm3": 5000}, rounding_step_kg="1")
    async with platform.client(platform.keys["ops"]) as ops:
        published = await ops.post("/v1/logistics/rate-cards", json=sent)
        assert published.status_code == 201, published.text
        assert published.json()["volumetric"] == {"kg": 1, "per_cm3": 5000}
        default = await ops.post(
            "/v1/logistics/rate-cards", json=card_body(f"{card_id}-D", "JPFUK", "9.00", carrier="Other Air")
        )
        assert default.json()["volumetric"] is None
    # 50 × 40 × 30 cm = 60,000 cm³: 12 kg at 1:5000 (10 kg at the mode's 1:6000) > 1 kg actual
    answer = await ask_quote(platform, seller_key, destination="JPFUK", parcels=[parcel(1, "1", ("50", "40", "30"))])
    legs = {o["legs"][0]["rate_card_id"]: o["legs"][0] for o in answer["options"]}
    assert legs[card_id]["chargeable_weight"]["chargeable_kg"] == "12"
    assert money(legs[card_id]["total"]) == Decimal("78.00")  # 12 kg × (6.00 + 0.50)
    assert legs[f"{card_id}-D"]["chargeable_weight"]["chargeable_kg"] == "10"


async def test_rate_cards_are_for_ops_and_inconsistent_ones_are_refused(platform: Platform, seller_key: str) -> None:
    before = await counts(platform)
    async with platform.client(seller_key) as client:
        problem(await client.post("/v1/logistics/rate-cards", json=card_body("T-X", "JPOSA", "1.00")), 403)
        problem(await client.get("/v1/logistics/rate-cards"), 403)
    bad = [
        ({"breaks": [{"from_kg": "10", "price_per_kg": "1.00"}]}, "body"),
        ({"valid_to": "2025-01-01"}, "body"),
        ({"currency": "XYZ"}, "currency"),
        ({"minimum_charge": "-1"}, "minimum_charge"),
        ({"transit_days": 0}, "transit_days"),
        ({"card_id": "lower-case"}, "card_id"),
        ({"surcharges": [{"kind": "insurance", "basis": "per_kg", "value": "1"}]}, "surcharges.0.kind"),
        ({"volumetric": {"kg": 0, "per_cm3": 5000}}, "volumetric.kg"),
        ({"volumetric": {"kg": 1}}, "volumetric.per_cm3"),
        ({"volumetric": {"kg": 1, "per_cm3": True}}, "volumetric.per_cm3"),
    ]
    async with platform.client(platform.keys["ops"]) as ops:
        for changes, field in bad:
            sent = {**card_body("T-BAD", "JPOSA", "1"), **changes}
            body = problem(await ops.post("/v1/logistics/rate-cards", json=sent), 422)
            assert field in fields(body), (changes, body)
        listed = await ops.get("/v1/logistics/rate-cards", params={"mode": "sea", "limit": 2})
        assert listed.status_code == 200 and len(listed.json()["items"]) == 2
        rest = await ops.get("/v1/logistics/rate-cards", params={"mode": "sea", "cursor": listed.json()["next_cursor"]})
        assert {c["mode"] for c in rest.json()["items"]} == {"sea"}
        problem(await ops.get("/v1/logistics/rate-cards", params={"cursor": "bm90LWEtY3Vyc29y"}), 400)
    assert await counts(platform) == before


async def test_the_answer_matches_its_schema_and_an_idempotency_key_replays_it(
    platform: Platform, seller_key: str
) -> None:
    quote = await ask_quote(platform, seller_key)
    assert QuoteOut.model_validate(quote).model_dump(mode="json") == quote
    key = {"Idempotency-Key": f"q-{uuid.uuid4().hex}"}
    async with platform.client(seller_key) as client:
        first = await client.post("/v1/logistics/quotes", json=quote_body(), headers=key)
        again = await client.post("/v1/logistics/quotes", json=quote_body(), headers=key)
        other = await client.post("/v1/logistics/quotes", json=quote_body(incoterm="DAP"), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true" and again.json() == first.json()
    assert first.headers["location"] == f"/v1/logistics/quotes/{first.json()['id']}"
    problem(other, 422)


async def test_concurrent_quotes_are_each_committed_with_their_event(platform: Platform, seller_key: str) -> None:
    """Quotes are committed together (group commit); each answer still means its rows are there."""
    async with platform.client(seller_key) as client:
        responses = await asyncio.gather(*(client.post("/v1/logistics/quotes", json=quote_body()) for _ in range(40)))
    assert all(r.status_code == 201 for r in responses), [r.text for r in responses if r.status_code != 201]
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == 40
    async with platform.db("logistics") as db, db.read() as session:
        stored = set((await session.scalars(select(QuoteRow.id).where(QuoteRow.id.in_(ids)))).all())
        staged = await session.scalar(select(func.count()).select_from(outbox_table).where(outbox_table.c.key.in_(ids)))
    assert stored == ids and staged == 40


async def test_another_replicas_card_change_reaches_this_cache(platform: Platform) -> None:
    """A second cache on its own connection to the database stands for another replica: it drops its
    cards when the publishing transaction commits (PostgreSQL NOTIFY; one process owns an SQLite file)."""
    async with platform.db("logistics") as db:
        if db.is_sqlite:
            pytest.skip("an SQLite file has one process, so no other replica")
        replica = RateCardCache(db)
        card_id = f"T-{uuid.uuid4().hex[:8].upper()}"

        async def listening() -> bool:
            await replica.cards()
            return replica._cache._state(db).listening  # noqa: SLF001 - the replica must have subscribed

        await eventually(listening, what="the replica's cache to listen")
        async with platform.client(platform.keys["ops"]) as ops:
            response = await ops.post("/v1/logistics/rate-cards", json=card_body(card_id, "JPNGO", "5.00"))
        assert response.status_code == 201, response.text

        async def seen() -> bool:
            return card_id in {c.card_id for c in await replica.cards()}

        await eventually(seen, what="the replica to see the new card")


async def test_racing_publications_of_one_card_get_distinct_versions(platform: Platform) -> None:
    card_id = f"T-{uuid.uuid4().hex[:8].upper()}"
    async with platform.client(platform.keys["ops"]) as ops:
        responses = await asyncio.gather(
            *(ops.post("/v1/logistics/rate-cards", json=card_body(card_id, "JPUKB", f"{4 + i}.00")) for i in range(6))
        )
        assert {r.status_code for r in responses} <= {201, 409}
        versions = sorted(r.json()["version"] for r in responses if r.status_code == 201)
        listed = await ops.get(f"/v1/logistics/rate-cards/{card_id}")
    assert versions == list(range(1, len(versions) + 1))
    assert sorted(v["version"] for v in listed.json()) == versions
