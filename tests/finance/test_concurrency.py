"""Races through the gateway, on whichever database the run uses (SQLite or PostgreSQL)."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
from sqlalchemy import select

from services.finance.models import Application, OrderClaim
from tests.finance.conftest import BASE, application_body, confirmed_order, make_seller
from tests.support.platform import Platform
from tests.support.problems import problem


async def test_two_lenders_approving_at_once_one_wins_the_other_gets_409(platform: Platform) -> None:
    seller = await make_seller(platform)
    order_id = await confirmed_order(platform, seller.id, "500.00")
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(amount="400.00", linked_order_ids=[order_id]))).json()
        assert (await own.post(f"{BASE}/{app['id']}/submit")).json()["eligibility"]["eligible"] is True
    first, second = platform.issue_key("lender"), platform.issue_key("lender")
    async with platform.client(first) as bank:
        assert (await bank.post(f"{BASE}/{app['id']}/review")).status_code == 200
    async with platform.client(first) as a, platform.client(second) as b:
        answers = await asyncio.gather(
            a.post(f"{BASE}/{app['id']}/approve", json={"amount": "400.00"}),
            b.post(f"{BASE}/{app['id']}/approve", json={"amount": "350.00"}),
        )
    statuses = sorted(r.status_code for r in answers)
    assert statuses == [200, 409], [r.text for r in answers]
    loser = next(r for r in answers if r.status_code == 409)
    assert problem(loser, 409)["current_status"] == "approved"
    async with platform.client(first) as bank:
        history = (await bank.get(f"{BASE}/{app['id']}/history")).json()["items"]
    assert [h["action"] for h in history].count("approve") == 1


async def test_fifty_applications_against_one_order_never_exceed_the_advance_limit(platform: Platform) -> None:
    """The order's value is financed at most once: one application claims it, the others are ineligible."""
    seller = await make_seller(platform)
    order_id = await confirmed_order(platform, seller.id, "1000.00")
    limit = Decimal("800.00")  # 80% of 1000.00 for purchase-order finance

    async def apply(client: httpx.AsyncClient, n: int) -> dict[str, object]:
        amount = f"{700 + n}.00"  # every one alone is within the limit
        created = await client.post(BASE, json=application_body(amount=amount, linked_order_ids=[order_id]))
        assert created.status_code == 201, created.text
        submitted = await client.post(f"{BASE}/{created.json()['id']}/submit")
        assert submitted.status_code == 200, submitted.text
        return dict(submitted.json())

    async with platform.client(seller.key) as own:
        results = await asyncio.gather(*(apply(own, n) for n in range(50)))
    eligible = [r for r in results if r["eligibility"]["eligible"]]  # type: ignore[index]
    assert len(eligible) == 1
    assert sum(Decimal(str(r["amount"])) for r in eligible) <= limit
    for other in results:
        if other is not eligible[0]:
            rules = {r["rule"]: r for r in other["eligibility"]["rules"]}  # type: ignore[index]
            assert rules["advance_within_limit"]["passed"] is False
            assert f"already financed by application {eligible[0]['id']}" in rules["linked_orders_usable"]["detail"]
    async with platform.db("finance") as db, db.read() as session:
        claims = (await session.execute(select(OrderClaim.application_id).where(OrderClaim.order_id == order_id))).all()
        stored = (
            await session.execute(
                select(Application.requested_minor).where(
                    Application.seller_id == seller.id, Application.eligible.is_(True)
                )
            )
        ).all()
    assert [c.application_id for c in claims] == [eligible[0]["id"]]
    assert sum(r.requested_minor for r in stored) <= 80_000

    # Withdrawing the winner frees the order for the next application.
    async with platform.client(seller.key) as own:
        assert (await own.post(f"{BASE}/{eligible[0]['id']}/withdraw")).status_code == 200
        again = (await own.post(BASE, json=application_body(amount="800.00", linked_order_ids=[order_id]))).json()
        assert (await own.post(f"{BASE}/{again['id']}/submit")).json()["eligibility"]["eligible"] is True
