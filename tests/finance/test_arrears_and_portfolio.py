"""The arrears sweep on the real database, the cure by repayment, write-off, and the lender's portfolio."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.finance.config import DEFAULT_CONFIG
from services.finance.lending.tasks import sweep_arrears
from shared.contracts import finance as finance_events
from tests.finance.conftest import BASE, application_body, make_seller
from tests.support.events import wait_for_events
from tests.support.factories import Seller
from tests.support.platform import Platform


async def _disbursed(platform: Platform, seller: Seller, *, days_ago: int, **terms: Any) -> dict[str, Any]:
    """An lc_confirmation loan in CNY (no other test uses either), disbursed `days_ago` days ago."""
    body = application_body(product="lc_confirmation", currency="CNY", amount="10000.00", tenor_days=60)
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=body)).json()
        assert (await own.post(f"{BASE}/{app['id']}/submit")).json()["eligibility"]["eligible"] is True
    on = (datetime.now(UTC) - timedelta(days=days_ago)).date()
    async with platform.client(platform.keys["lender"]) as bank:
        assert (await bank.post(f"{BASE}/{app['id']}/review")).status_code == 200
        approved = await bank.post(f"{BASE}/{app['id']}/approve", json={"amount": "10000.00", **terms})
        assert approved.status_code == 200, approved.text
        disbursed = await bank.post(
            f"{BASE}/{app['id']}/disburse", json={"reference": f"LC-{app['id'][:8]}", "disbursed_on": on.isoformat()}
        )
        assert disbursed.status_code == 200, disbursed.text
        return dict(disbursed.json())


async def _status(platform: Platform, application_id: str) -> str:
    async with platform.client(platform.keys["ops"]) as ops:
        return str((await ops.get(f"{BASE}/{application_id}")).json()["status"])


async def test_a_past_due_instalment_puts_the_loan_in_arrears_and_paying_it_cures(platform: Platform) -> None:
    seller = await make_seller(platform)
    # Two instalments of 30 days, disbursed 40 days ago: the first fell due 10 days ago (> 5 grace days).
    late = await _disbursed(platform, seller, days_ago=40, annual_rate="0.10", fees="50.00", instalments=2)
    current = await _disbursed(platform, seller, days_ago=3, annual_rate="0.10", fees="50.00", instalments=2)
    async with platform.db("finance") as db:
        assert await sweep_arrears(db, DEFAULT_CONFIG) >= 1
        assert await sweep_arrears(db, DEFAULT_CONFIG) == 0  # a second pass finds nothing new
    assert await _status(platform, late["id"]) == "in_arrears"
    assert await _status(platform, current["id"]) == "disbursed"
    seen = await wait_for_events(
        platform.broker.bootstrap,
        finance_events.TOPIC,
        lambda evs: any(e.subject == late["id"] and e.type == finance_events.ApplicationInArrearsV1.TYPE for e in evs),
    )
    event = next(e for e in seen if e.subject == late["id"] and e.type == finance_events.ApplicationInArrearsV1.TYPE)
    first = late["schedule"][0]
    assert event.data["overdue_amount"] == first["total"]
    assert event.data["days_past_due"] == 10

    async with platform.client(platform.keys["lender"]) as bank:
        paid = await bank.post(f"{BASE}/{late['id']}/repayments", json={"amount": first["total"]})
        assert paid.status_code == 201, paid.text
        assert paid.json()["status"] == "disbursed"  # cured: the overdue instalment is paid
        history = (await bank.get(f"{BASE}/{late['id']}/history")).json()["items"]
    assert [h["action"] for h in history[-3:]] == ["mark_arrears", "record_repayment", "cure"]


async def test_write_off_and_the_portfolio_by_product_and_sector(platform: Platform) -> None:
    seller = await make_seller(platform)
    async with platform.client(platform.keys["ops"]) as ops:
        before = (await ops.get("/v1/finance/portfolio")).json()
    loan = await _disbursed(platform, seller, days_ago=70, annual_rate="0", fees="0")
    async with platform.db("finance") as db:
        await sweep_arrears(db, DEFAULT_CONFIG)
    assert await _status(platform, loan["id"]) == "in_arrears"
    async with platform.client(platform.keys["lender"]) as bank:
        assert (await bank.post(f"{BASE}/{loan['id']}/repayments", json={"amount": "4000.00"})).status_code == 201
        portfolio = (await bank.get("/v1/finance/portfolio")).json()
        written = await bank.post(f"{BASE}/{loan['id']}/write-off", json={"reason": "buyer insolvent"})
        assert written.json()["status"] == "written_off"

    def row(p: dict[str, Any], key: str, value: str) -> dict[str, Any]:
        zero = {"applications": 0, "approved": "0.00", "disbursed": "0.00", "outstanding": "0.00", "in_arrears": "0.00"}
        rows = [r for r in p[f"by_{key}"] if r["currency"] == "CNY" and r[key] == value]
        return rows[0] if rows else zero

    def delta(after: dict[str, Any], earlier: dict[str, Any]) -> tuple[int, str, str, str, str]:
        def d(name: str) -> str:
            return f"{float(after[name]) - float(earlier[name]):.2f}"

        count = after["applications"] - earlier["applications"]
        return (count, d("approved"), d("disbursed"), d("outstanding"), d("in_arrears"))

    seen = await wait_for_events(
        platform.broker.bootstrap,
        finance_events.TOPIC,
        lambda evs: any(e.subject == loan["id"] and e.type == finance_events.ApplicationWrittenOffV1.TYPE for e in evs),
    )
    off = next(e for e in seen if e.subject == loan["id"] and e.type == finance_events.ApplicationWrittenOffV1.TYPE)
    assert (off.data["outstanding_amount"], off.data["total_repaid"]) == ("6000.00", "4000.00")
    expected = (1, "10000.00", "10000.00", "6000.00", "6000.00")
    assert delta(row(portfolio, "product", "lc_confirmation"), row(before, "product", "lc_confirmation")) == expected
    assert delta(row(portfolio, "sector", "coffee"), row(before, "sector", "coffee")) == expected
