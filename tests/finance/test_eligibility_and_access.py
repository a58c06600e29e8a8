"""Eligibility from finance's projections, seller standing (hold and release), and who may see what."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from services.finance.models import Application, OrderClaim, OrderProjection
from shared.contracts.orders import OrderCancelledV1, OrderDeliveredV1, OrderRejectedV1, OrderShippedV1
from tests.finance.conftest import (
    BASE,
    application_body,
    confirmed,
    confirmed_order,
    counts,
    make_seller,
    new_order_id,
    produce_orders,
    wait_order,
)
from tests.support.platform import Platform
from tests.support.problems import problem
from tests.support.waiting import eventually


def _rules(application: dict[str, object]) -> dict[str, bool]:
    eligibility = application["eligibility"]
    assert isinstance(eligibility, dict)
    return {r["rule"]: r["passed"] for r in eligibility["rules"]}


async def test_an_advance_above_the_rate_times_the_confirmed_orders_is_ineligible(platform: Platform) -> None:
    seller = await make_seller(platform)
    order_id = await confirmed_order(platform, seller.id, "1000.00")
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(amount="800.01", linked_order_ids=[order_id]))).json()
        body = (await own.post(f"{BASE}/{app['id']}/submit")).json()
    assert body["status"] == "submitted"
    assert body["eligibility"]["eligible"] is False
    rules = _rules(body)
    assert rules["advance_within_limit"] is False
    assert rules["seller_verified"] and rules["linked_orders_usable"] and rules["tenor_within_limit"]
    detail = next(r["detail"] for r in body["eligibility"]["rules"] if r["rule"] == "advance_within_limit")
    assert "800.00 USD" in detail
    # Editing a submitted application evaluates it again.
    async with platform.client(seller.key) as own:
        lowered = (await own.patch(f"{BASE}/{app['id']}", json={"amount": "700.00"})).json()
        assert (lowered["status"], lowered["eligibility"]["eligible"]) == ("submitted", True)
        raised = (await own.patch(f"{BASE}/{app['id']}", json={"amount": "800.01"})).json()
        assert raised["eligibility"]["eligible"] is False
    # An ineligible application cannot be approved.
    async with platform.client(platform.keys["lender"]) as bank:
        assert (await bank.post(f"{BASE}/{app['id']}/review")).status_code == 200
        problem(await bank.post(f"{BASE}/{app['id']}/approve", json={"amount": "800.00"}), 409)
        rejected = await bank.post(f"{BASE}/{app['id']}/reject", json={"reason": "advance above 80% of the order"})
        assert rejected.json()["status"] == "rejected"


async def test_an_unverified_seller_is_ineligible(platform: Platform) -> None:
    seller = await make_seller(platform, verified=False)
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(product="pre_shipment"))).json()
        body = (await own.post(f"{BASE}/{app['id']}/submit")).json()
    assert body["eligibility"]["eligible"] is False
    assert _rules(body)["seller_verified"] is False


async def test_tenor_currency_and_unusable_orders_are_each_named(platform: Platform) -> None:
    seller = await make_seller(platform)
    cancelled_id = await confirmed_order(platform, seller.id, "1000.00")
    await produce_orders(platform, OrderCancelledV1(order_id=cancelled_id, occurred_at=datetime.now(UTC)))
    await wait_order(platform, cancelled_id, seller.id, "cancelled_at")
    async with platform.client(seller.key) as own:
        long = (await own.post(BASE, json=application_body(product="invoice_finance", tenor_days=91))).json()
        body = (await own.post(f"{BASE}/{long['id']}/submit")).json()
        assert _rules(body)["tenor_within_limit"] is False
        assert _rules(body)["linked_orders_usable"] is False  # no order linked
        eur = (await own.post(BASE, json=application_body(product="pre_shipment", currency="EUR"))).json()
        assert _rules((await own.post(f"{BASE}/{eur['id']}/submit")).json())["currency_supported"] is False
        gone = (await own.post(BASE, json=application_body(amount="100.00", linked_order_ids=[cancelled_id]))).json()
        body = (await own.post(f"{BASE}/{gone['id']}/submit")).json()
    detail = next(r["detail"] for r in body["eligibility"]["rules"] if r["rule"] == "linked_orders_usable")
    assert f"{cancelled_id} (not confirmed)" in detail


async def test_suspension_puts_open_applications_on_hold_and_reinstatement_releases_them(platform: Platform) -> None:
    seller = await make_seller(platform)
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(product="pre_shipment"))).json()
        draft = (await own.post(BASE, json=application_body(product="pre_shipment"))).json()
        assert (await own.post(f"{BASE}/{app['id']}/submit")).status_code == 200
    async with platform.client(platform.keys["lender"]) as bank:
        assert (await bank.post(f"{BASE}/{app['id']}/review")).status_code == 200
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        suspended = await officer.post(f"/v1/sellers/{seller.id}/suspend", json={"reason": "expired NAEB licence"})
        assert suspended.status_code == 200, suspended.text

    async def status_is(expected: str) -> dict[str, object] | None:
        async with platform.client(seller.key) as own:
            body = dict((await own.get(f"{BASE}/{app['id']}")).json())
        return body if body["status"] == expected else None

    held = await eventually(lambda: status_is("on_hold"), what="the application to go on hold")
    assert held["held_from"] == "under_review"
    assert "expired NAEB licence" in str(held["hold_reason"])
    async with platform.client(platform.keys["lender"]) as bank:
        problem(await bank.post(f"{BASE}/{app['id']}/approve", json={"amount": "100.00"}), 409)
    async with platform.client(seller.key) as own:
        assert (await own.get(f"{BASE}/{draft['id']}")).json()["status"] == "draft"  # a draft is left alone
    async with platform.client(platform.keys["rdb_officer"]) as officer:
        assert (await officer.post(f"/v1/sellers/{seller.id}/reinstate", json={"reason": "renewed"})).status_code == 200
    released = await eventually(lambda: status_is("under_review"), what="the application to be released")
    assert (released["held_from"], released["hold_reason"]) == (None, None)
    async with platform.client(platform.keys["lender"]) as bank:
        history = (await bank.get(f"{BASE}/{app['id']}/history")).json()["items"]
    assert [(h["action"], h["actor"]) for h in history[-2:]] == [("hold", "system"), ("release", "system")]


async def test_another_seller_cannot_read_or_touch_it_and_other_roles_cannot_reach_finance(platform: Platform) -> None:
    seller = await make_seller(platform)
    intruder = await make_seller(platform)
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(product="pre_shipment"))).json()
    before = await counts(platform)
    path = f"{BASE}/{app['id']}"
    async with platform.client(intruder.key) as other:
        missing = problem(await other.get(f"{BASE}/00000000-0000-4000-8000-000000000000"), 404)
        assert problem(await other.get(path), 404)["title"] == missing["title"]
        problem(await other.get(f"{path}/history"), 404)
        problem(await other.get(f"{path}/trade-profile"), 404)
        problem(await other.patch(path, json={"tenor_days": 30}), 404)
        problem(await other.post(f"{path}/submit"), 404)
        problem(await other.post(f"{path}/withdraw"), 404)
        assert app["id"] not in {i["id"] for i in (await other.get(BASE)).json()["items"]}
        problem(await other.post(f"{path}/approve", json={"amount": "1.00"}), 403)
        problem(await other.get("/v1/finance/portfolio"), 403)
    for role in ("marketplace", "rdb_officer", "traveller_app"):
        async with platform.client(platform.keys[role]) as outsider:
            problem(await outsider.get(BASE), 403)
            problem(await outsider.get(path), 403)
            problem(await outsider.post(BASE, json=application_body()), 403)
            problem(await outsider.post(f"{path}/approve", json={"amount": "1.00"}), 403)
            problem(await outsider.get("/v1/finance/portfolio"), 403)
    async with platform.client(platform.keys["lender"]) as bank:
        # A lender does not see drafts, not even by id, and may not write a seller's application.
        assert app["id"] not in {i["id"] for i in (await bank.get(BASE)).json()["items"]}
        problem(await bank.get(path), 404)
        problem(await bank.get(f"{path}/history"), 404)
        problem(await bank.get(f"{path}/trade-profile"), 404)
        problem(await bank.post(f"{path}/review"), 404)
        problem(await bank.post(BASE, json=application_body()), 403)
        problem(await bank.patch(path, json={"tenor_days": 30}), 403)
    async with platform.client(platform.keys["ops"]) as ops:
        assert (await ops.get(path)).status_code == 200
        problem(await ops.post(f"{path}/review"), 403)
    assert await counts(platform) == before


async def test_the_trade_profile_counts_the_sellers_own_orders(platform: Platform) -> None:
    seller = await make_seller(platform)
    shipped_id = await confirmed_order(platform, seller.id, "300.00", marketplace="mkt-a")
    delivered_id = await confirmed_order(platform, seller.id, "100.00", marketplace="mkt-a")
    await confirmed_order(platform, seller.id, "50.00", marketplace="mkt-b")
    await produce_orders(
        platform,
        confirmed(shipped_id, seller.id, "300.00", marketplace="mkt-a", event=OrderShippedV1),
        confirmed(delivered_id, seller.id, "100.00", marketplace="mkt-a", event=OrderShippedV1),
        confirmed(delivered_id, seller.id, "100.00", marketplace="mkt-a", event=OrderDeliveredV1),
    )
    await wait_order(platform, delivered_id, seller.id, "delivered_at")
    await wait_order(platform, shipped_id, seller.id, "shipped_at")
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(product="pre_shipment"))).json()
        assert (await own.post(f"{BASE}/{app['id']}/submit")).status_code == 200
    async with platform.client(platform.keys["lender"]) as bank:
        profile = (await bank.get(f"{BASE}/{app['id']}/trade-profile")).json()
    three, twelve = profile["windows"]
    assert (three["window"], twelve["window"]) == ("3m", "12m")
    assert (three["orders_confirmed"], three["orders_shipped"], three["orders_delivered"]) == (3, 2, 1)
    assert three["confirmed_value"] == [{"amount": "450.00", "currency": "USD"}]
    assert three["shipped_value"] == [{"amount": "400.00", "currency": "USD"}]
    assert (three["delivered_share"], three["cancellation_rate"]) == ("0.3333", "0.0000")
    assert (three["top_marketplace"], three["top_marketplace_share"]) == ("mkt-a", "0.6667")
    assert profile["as_of"] is not None and "as of the last one consumed" in profile["note"]
    async with platform.db("finance") as db, db.read() as session:
        parts = (await session.execute(select(OrderProjection).where(OrderProjection.seller_id == seller.id))).all()
    assert len(parts) == 3


async def _stored(platform: Platform, application_id: str) -> tuple[bool | None, list[str]]:
    """The stored eligibility and the orders the application claims, read from finance's database."""
    async with platform.db("finance") as db, db.read() as session:
        eligible = await session.scalar(select(Application.eligible).where(Application.id == application_id))
        claims = await session.scalars(select(OrderClaim.order_id).where(OrderClaim.application_id == application_id))
        return eligible, sorted(claims)


async def test_a_lender_opening_a_submitted_application_evaluates_it_again(platform: Platform) -> None:
    seller = await make_seller(platform)
    order_id = new_order_id()  # linked before finance has seen it confirmed
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(amount="400.00", linked_order_ids=[order_id]))).json()
        submitted = (await own.post(f"{BASE}/{app['id']}/submit")).json()
    assert submitted["eligibility"]["eligible"] is False
    await produce_orders(platform, confirmed(order_id, seller.id, "500.00"))
    await wait_order(platform, order_id, seller.id)
    async with platform.client(seller.key) as own:  # a seller's read evaluates nothing
        assert (await own.get(f"{BASE}/{app['id']}")).json()["eligibility"]["eligible"] is False
    async with platform.client(platform.keys["lender"]) as bank:
        opened = (await bank.get(f"{BASE}/{app['id']}")).json()
    assert opened["eligibility"]["eligible"] is True, opened["eligibility"]
    assert opened["eligibility"]["evaluated_at"] > submitted["eligibility"]["evaluated_at"]
    assert (opened["status"], opened["version"]) == ("submitted", submitted["version"])
    assert await _stored(platform, app["id"]) == (True, [order_id])


async def test_a_linked_order_cancelled_or_rejected_turns_an_open_application_ineligible(platform: Platform) -> None:
    seller = await make_seller(platform)
    cancelled_id = await confirmed_order(platform, seller.id, "500.00")
    rejected_id = await confirmed_order(platform, seller.id, "500.00")
    kept_id = await confirmed_order(platform, seller.id, "500.00")
    async with platform.client(seller.key) as own:
        waiting = (await own.post(BASE, json=application_body(amount="400.00", linked_order_ids=[cancelled_id]))).json()
        decided = (
            await own.post(BASE, json=application_body(amount="400.00", linked_order_ids=[rejected_id, kept_id]))
        ).json()
        for app in (waiting, decided):
            assert (await own.post(f"{BASE}/{app['id']}/submit")).json()["eligibility"]["eligible"] is True
    async with platform.client(platform.keys["lender"]) as bank:
        assert (await bank.post(f"{BASE}/{decided['id']}/review")).status_code == 200
        assert (await bank.post(f"{BASE}/{decided['id']}/approve", json={"amount": "400.00"})).status_code == 200
    now = datetime.now(UTC)
    await produce_orders(
        platform,
        OrderCancelledV1(order_id=cancelled_id, occurred_at=now),
        OrderRejectedV1(order_id=rejected_id, occurred_at=now),
    )

    async def turned(application_id: str) -> tuple[bool | None, list[str]] | None:
        stored = await _stored(platform, application_id)
        return stored if stored[0] is False else None

    # Awaiting a decision: ineligible, and the order is free again.
    assert await eventually(lambda: turned(waiting["id"]), what="the cancellation to be evaluated") == (False, [])
    # Approved: the result says so, but the lender's decision keeps its claims.
    after = await eventually(lambda: turned(decided["id"]), what="the rejection to be evaluated")
    assert after == (False, sorted([rejected_id, kept_id]))
    async with platform.client(seller.key) as own:
        body = (await own.get(f"{BASE}/{decided['id']}")).json()
    assert body["status"] == "approved"
    assert f"{rejected_id} (not confirmed)" in str(body["eligibility"]["rules"])
