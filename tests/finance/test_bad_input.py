"""Bad input of every kind → 4xx problem+json naming the field, and nothing written (either database)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.finance.conftest import BASE, application_body, confirmed_order, counts, make_seller
from tests.support.factories import Seller
from tests.support.platform import Platform
from tests.support.problems import fields, problem


@pytest.fixture(scope="module")
async def seller(platform: Platform) -> Seller:
    return await make_seller(platform)


CREATE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("negative amount", {"amount": "-100.00"}, "amount"),
    ("zero amount", {"amount": "0"}, "amount"),
    ("float amount", {"amount": 100.5}, "amount"),
    ("three decimals in USD", {"amount": "100.005"}, "amount"),
    ("decimals in RWF", {"amount": "100000.5", "currency": "RWF"}, "amount"),
    ("huge amount", {"amount": "1" + "0" * 30}, "amount"),
    ("tenor 0", {"tenor_days": 0}, "tenor_days"),
    ("negative tenor", {"tenor_days": -5}, "tenor_days"),
    ("tenor past a BIGINT", {"tenor_days": 2**63}, "tenor_days"),
    ("bool as tenor", {"tenor_days": True}, "tenor_days"),
    ("unknown product", {"product": "crypto_loan"}, "product"),
    ("unknown currency", {"currency": "XYZ"}, "currency"),
    ("lower-case currency", {"currency": "usd"}, "currency"),
    ("a currency with no minor units", {"currency": "XAU"}, "currency"),
    ("NUL in purpose", {"purpose": "coffee\x00cherry"}, "purpose"),
    ("lone surrogate in purpose", {"purpose": "coffee \ud800"}, "purpose"),
    ("empty purpose", {"purpose": "   "}, "purpose"),
    ("Unicode digits in an order id", {"linked_order_ids": ["ord-١٢٣"]}, "linked_order_ids.0"),
    ("too many linked orders", {"linked_order_ids": [f"ord-{i}" for i in range(51)]}, "linked_order_ids"),
    ("a repeated order", {"linked_order_ids": ["ord-1", "ord-1"]}, "linked_order_ids"),
    ("unknown document type", {"documents": [{"type": "selfie", "reference": "x"}]}, "documents.0.type"),
    ("unknown guarantee scheme", {"guarantee_scheme": "uncle"}, "guarantee_scheme"),
    ("bool as number for guarantee_enhanced", {"guarantee_enhanced": 1}, "guarantee_enhanced"),
    ("three decimals in the trade amount", {"trade": {"amount": "1.005"}}, "trade.amount"),
    ("unknown Incoterm", {"trade": {"incoterm": "XYZ"}}, "trade.incoterm"),
    (
        "payment before shipment",
        {"trade": {"expected_shipment_on": "2027-02-01", "expected_payment_on": "2027-01-01"}},
        "trade",
    ),
    ("an unknown field", {"interest_free": True}, "interest_free"),
]


@pytest.mark.parametrize(("case", "overrides", "field"), CREATE_CASES, ids=[c[0] for c in CREATE_CASES])
async def test_bad_applications_are_refused_naming_the_field(
    platform: Platform, seller: Seller, case: str, overrides: dict[str, Any], field: str
) -> None:
    before = await counts(platform)
    async with platform.client(seller.key) as own:
        # json.dumps escapes a lone surrogate as \\ud800, which is how a client can send one.
        raw = json.dumps(application_body(**overrides)).encode()
        body = problem(await own.post(BASE, content=raw, headers={"content-type": "application/json"}), 422)
    assert field in fields(body), body
    assert await counts(platform) == before


async def test_linking_another_sellers_order_is_refused_and_writes_nothing(platform: Platform, seller: Seller) -> None:
    other = await make_seller(platform)
    theirs = await confirmed_order(platform, other.id, "1000.00")
    before = await counts(platform)
    async with platform.client(seller.key) as own:
        body = problem(await own.post(BASE, json=application_body(linked_order_ids=[theirs])), 422)
        assert "linked_order_ids" in fields(body)
        draft = (await own.post(BASE, json=application_body(product="pre_shipment"))).json()
        mid = await counts(platform)
        body = problem(await own.patch(f"{BASE}/{draft['id']}", json={"linked_order_ids": [theirs]}), 422)
        assert "linked_order_ids" in fields(body)
        assert await counts(platform) == mid
    assert mid["applications"] == before["applications"] + 1


async def test_bad_edits_and_lender_terms_are_refused(platform: Platform, seller: Seller) -> None:
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(product="pre_shipment", amount="500.00"))).json()
        path = f"{BASE}/{app['id']}"
        before = await counts(platform)
        for patch, field in (
            ({"tenor_days": None}, "tenor_days"),
            ({"amount": "1.001"}, "amount"),
            ({"amount": "-1"}, "amount"),
            ({"currency": "RWF"}, "currency"),
            ({"purpose": "\x00"}, "purpose"),
        ):
            assert field in fields(problem(await own.patch(path, json=patch), 422)), patch
        assert await counts(platform) == before
        assert (await own.post(f"{path}/submit")).status_code == 200
    async with platform.client(platform.keys["lender"]) as bank:
        assert (await bank.post(f"{path}/review")).status_code == 200
        before = await counts(platform)
        for terms, field in (
            ({"amount": "500.01"}, "amount"),
            ({"amount": "-5"}, "amount"),
            ({"amount": "100.00", "annual_rate": "-0.1"}, "annual_rate"),
            ({"amount": "100.00", "fees": "0.001"}, "fees"),
            ({"amount": "100.00", "instalments": 0}, "instalments"),
            ({"amount": "100.00", "instalments": 91}, "instalments"),
            ({"amount": "100.00", "conditions": ["ok\x00"]}, "conditions.0"),
            ({"amount": "100.00", "conditions": ["  "]}, "conditions.0"),
        ):
            assert field in fields(problem(await bank.post(f"{path}/approve", json=terms), 422)), terms
        assert "reason" in fields(problem(await bank.post(f"{path}/reject", json={}), 422))
        assert "reason" in fields(problem(await bank.post(f"{path}/reject", json={"reason": " "}), 422))
        assert await counts(platform) == before
        assert (await bank.post(f"{path}/approve", json={"amount": "500.00"})).status_code == 200
        problem(await bank.post(f"{path}/disburse", json={"reference": "TT-1", "disbursed_on": "2999-01-01"}), 422)
        assert (await bank.post(f"{path}/disburse", json={"reference": "TT-1"})).status_code == 200
        before = await counts(platform)
        for payment, field in (
            ({"amount": "0"}, "amount"),
            ({"amount": "-1.00"}, "amount"),
            ({"amount": "1000000.00"}, "amount"),  # more than is outstanding
            ({"amount": "1.00", "paid_on": "1999-01-01"}, "paid_on"),
        ):
            assert field in fields(problem(await bank.post(f"{path}/repayments", json=payment), 422)), payment
        assert await counts(platform) == before


async def test_bad_queries_are_refused(platform: Platform) -> None:
    async with platform.client(platform.keys["lender"]) as bank:
        problem(await bank.get(BASE, params={"cursor": "not-ours"}), 400)
        for params, field in (
            ({"limit": 0}, "limit"),
            ({"status": "pending"}, "status"),
            ({"min_amount": "10.00"}, "currency"),
            ({"min_amount": "-1", "currency": "USD"}, "min_amount"),
            ({"min_age_days": "true"}, "min_age_days"),
            ({"currency": "US1"}, "currency"),
        ):
            assert field in fields(problem(await bank.get(BASE, params=params), 422)), params
