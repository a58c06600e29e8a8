"""The application's path through the gateway with the real broker: seller verified → confirmed order →
application → eligible → review → approve → disburse → repay; and the refusals on that path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from shared.contracts import finance as finance_events
from tests.finance.conftest import (
    BASE,
    application_body,
    confirmed_order,
    counts,
    make_seller,
)
from tests.support.events import wait_for_events
from tests.support.platform import Platform
from tests.support.problems import problem


def _rules(application: dict[str, object]) -> dict[str, bool]:
    eligibility = application["eligibility"]
    assert isinstance(eligibility, dict)
    return {r["rule"]: r["passed"] for r in eligibility["rules"]}


async def test_the_whole_path_from_application_to_repayment(platform: Platform) -> None:
    seller = await make_seller(platform)
    order_id = await confirmed_order(platform, seller.id, "1000.00")
    lender = platform.keys["lender"]
    async with platform.client(seller.key) as own:
        created = await own.post(BASE, json=application_body(amount="800.00", linked_order_ids=[order_id]))
        assert created.status_code == 201, created.text
        app = created.json()
        assert created.headers["location"] == f"{BASE}/{app['id']}"
        assert (app["status"], app["amount"], app["eligibility"]) == ("draft", "800.00", None)
        edited = await own.patch(f"{BASE}/{app['id']}", json={"tenor_days": 60, "guarantee_scheme": None})
        assert edited.status_code == 200, edited.text
        assert (edited.json()["tenor_days"], edited.json()["guarantee_scheme"]) == (60, None)
        submitted = await own.post(f"{BASE}/{app['id']}/submit")
        assert submitted.status_code == 200, submitted.text
        body = submitted.json()
        assert body["status"] == "submitted"
        assert body["eligibility"]["eligible"] is True, body["eligibility"]
        assert all(_rules(body).values())
    async with platform.client(lender) as bank:
        queue = (await bank.get(BASE, params={"status": "submitted", "product": "purchase_order_finance"})).json()
        assert app["id"] in {i["id"] for i in queue["items"]}
        reviewed = await bank.post(f"{BASE}/{app['id']}/review")
        assert reviewed.status_code == 200, reviewed.text
        assert reviewed.json()["status"] == "under_review"
        assert reviewed.json()["eligibility"]["eligible"] is True
        profile = (await bank.get(f"{BASE}/{app['id']}/trade-profile")).json()
        three = profile["windows"][0]
        assert profile["as_of"] is not None
        assert three["orders_confirmed"] >= 1
        assert {"amount": "1000.00", "currency": "USD"} in three["confirmed_value"]
        approved = await bank.post(
            f"{BASE}/{app['id']}/approve",
            json={"amount": "800.00", "annual_rate": "0.1825", "fees": "8.00", "conditions": ["Assign the PO"]},
        )
        assert approved.status_code == 200, approved.text
        assert (approved.json()["status"], approved.json()["approved_amount"]) == ("approved", "800.00")
        # 60 days ago, so interest has run: 800.00 x 0.1825 x 60/365 = 24.00.
        disbursed_on = (datetime.now(UTC) - timedelta(days=60)).date()
        disbursed = await bank.post(
            f"{BASE}/{app['id']}/disburse", json={"reference": "TT-0001", "disbursed_on": disbursed_on.isoformat()}
        )
        assert disbursed.status_code == 200, disbursed.text
        d = disbursed.json()
        assert d["status"] == "disbursed"
        assert [(i["principal"], i["interest"], i["fees"]) for i in d["schedule"]] == [("800.00", "24.00", "8.00")]
        # Interest accrues from disbursement: paying off today takes 800.00 + 8.00 fees + 24.00 interest.
        assert (d["balance"]["outstanding"], d["balance"]["payoff_today"]) == ("808.00", "832.00")
        paid_on = disbursed_on + timedelta(days=60)
        first = await bank.post(
            f"{BASE}/{app['id']}/repayments", json={"amount": "100.00", "paid_on": paid_on.isoformat()}
        )
        assert first.status_code == 201, first.text
        r = first.json()
        # Fees first, then interest, then principal.
        allocated = (r["to_fees"], r["to_interest"], r["to_principal"], r["status"])
        assert allocated == ("8.00", "24.00", "68.00", "disbursed")
        assert r["balance"]["outstanding"] == "732.00"
        last = await bank.post(
            f"{BASE}/{app['id']}/repayments", json={"amount": "732.00", "paid_on": paid_on.isoformat()}
        )
        assert last.status_code == 201, last.text
        assert (last.json()["status"], last.json()["balance"]["outstanding"]) == ("repaid", "0.00")
        problem(await bank.post(f"{BASE}/{app['id']}/repayments", json={"amount": "1.00"}), 409)
        history = (await bank.get(f"{BASE}/{app['id']}/history")).json()["items"]
    assert [h["action"] for h in history] == [
        "create",
        "edit",
        "submit",
        "take_for_review",
        "approve",
        "disburse",
        "record_repayment",
        "record_repayment",
        "settle",
    ]
    assert history[-1]["to_status"] == "repaid"
    seen = await wait_for_events(
        platform.broker.bootstrap,
        finance_events.TOPIC,
        lambda evs: any(e.subject == app["id"] and e.type == finance_events.ApplicationRepaidV1.TYPE for e in evs),
    )
    types = [e.type.split(".")[-2] for e in seen if e.subject == app["id"]]
    assert types == ["submitted", "approved", "disbursed", "repaid"]


async def test_illegal_transitions_are_409_and_change_nothing(platform: Platform) -> None:
    seller = await make_seller(platform)
    async with platform.client(seller.key) as own:
        app = (await own.post(BASE, json=application_body(product="pre_shipment"))).json()
        async with platform.client(platform.keys["lender"]) as bank:
            # A draft does not exist for a lender (the queue never lists it): 404, not "it is a draft".
            problem(await bank.post(f"{BASE}/{app['id']}/review"), 404)
        assert (await own.post(f"{BASE}/{app['id']}/submit")).status_code == 200
        problem(await own.post(f"{BASE}/{app['id']}/submit"), 409)
        async with platform.client(platform.keys["lender"]) as bank:
            problem(await bank.post(f"{BASE}/{app['id']}/approve", json={"amount": "100.00"}), 409)
            assert (await bank.post(f"{BASE}/{app['id']}/review")).status_code == 200
        before = await counts(platform)
        problem(await own.patch(f"{BASE}/{app['id']}", json={"amount": "10.00"}), 409)
        assert await counts(platform) == before
        withdrawn = await own.post(f"{BASE}/{app['id']}/withdraw", json={"reason": "found cheaper money"})
        assert withdrawn.json()["status"] == "withdrawn"
        problem(await own.post(f"{BASE}/{app['id']}/withdraw"), 409)


async def test_a_retried_create_with_the_same_idempotency_key_makes_one_application(platform: Platform) -> None:
    seller = await make_seller(platform)
    body = application_body(product="pre_shipment")
    headers = {"Idempotency-Key": f"create-{seller.id}"}
    async with platform.client(seller.key) as own:
        first = await own.post(BASE, json=body, headers=headers)
        before = await counts(platform)
        again = await own.post(BASE, json=body, headers=headers)
        assert (first.status_code, again.status_code) == (201, 201)
        assert again.headers["idempotent-replayed"] == "true"
        assert again.json()["id"] == first.json()["id"]
        assert await counts(platform) == before
        problem(await own.post(BASE, json={**body, "tenor_days": 30}, headers=headers), 422)
