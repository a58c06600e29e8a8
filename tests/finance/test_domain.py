"""Finance domain rules. DOMAIN.md section 4 gives no worked figures for finance, so the worked
examples below apply its rules (and the issue's defaults: 80% PO, 90% invoice, actual/365) to round
numbers and are computed by hand in the comments."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from services.finance.config import (
    DEFAULT_CONFIG,
    FinanceConfig,
    GuaranteeScheme,
    Product,
    ProductTerms,
)
from services.finance.domain import (
    ACTORS,
    EDITABLE,
    HOLDABLE,
    TRANSITIONS,
    Action,
    ActionNotPermitted,
    Balance,
    IllegalTransition,
    LinkedOrder,
    Role,
    Rule,
    Status,
    advance_limit_minor,
    apply_repayment,
    arrears,
    ensure_editable,
    evaluate_eligibility,
    fee_minor,
    foreign_orders,
    guarantee_cover_minor,
    interest_minor,
    next_status,
    repayment_schedule,
)
from shared.errors import UnprocessableContent

# ----------------------------------------------------------------- lifecycle

EXPECTED = {
    (Status.DRAFT, Action.EDIT, Role.SELLER): Status.DRAFT,
    (Status.SUBMITTED, Action.EDIT, Role.SELLER): Status.SUBMITTED,
    (Status.DRAFT, Action.SUBMIT, Role.SELLER): Status.SUBMITTED,
    (Status.DRAFT, Action.WITHDRAW, Role.SELLER): Status.WITHDRAWN,
    (Status.SUBMITTED, Action.WITHDRAW, Role.SELLER): Status.WITHDRAWN,
    (Status.UNDER_REVIEW, Action.WITHDRAW, Role.SELLER): Status.WITHDRAWN,
    (Status.ON_HOLD, Action.WITHDRAW, Role.SELLER): Status.WITHDRAWN,
    (Status.SUBMITTED, Action.TAKE_FOR_REVIEW, Role.LENDER): Status.UNDER_REVIEW,
    (Status.UNDER_REVIEW, Action.APPROVE, Role.LENDER): Status.APPROVED,
    (Status.UNDER_REVIEW, Action.REJECT, Role.LENDER): Status.REJECTED,
    (Status.APPROVED, Action.DISBURSE, Role.LENDER): Status.DISBURSED,
    (Status.DISBURSED, Action.RECORD_REPAYMENT, Role.LENDER): Status.DISBURSED,
    (Status.IN_ARREARS, Action.RECORD_REPAYMENT, Role.LENDER): Status.IN_ARREARS,
    (Status.DISBURSED, Action.SETTLE, Role.SYSTEM): Status.REPAID,
    (Status.IN_ARREARS, Action.SETTLE, Role.SYSTEM): Status.REPAID,
    (Status.DISBURSED, Action.MARK_ARREARS, Role.SYSTEM): Status.IN_ARREARS,
    (Status.DISBURSED, Action.MARK_ARREARS, Role.LENDER): Status.IN_ARREARS,
    (Status.IN_ARREARS, Action.CURE, Role.SYSTEM): Status.DISBURSED,
    (Status.IN_ARREARS, Action.WRITE_OFF, Role.LENDER): Status.WRITTEN_OFF,
    (Status.SUBMITTED, Action.HOLD, Role.SYSTEM): Status.ON_HOLD,
    (Status.UNDER_REVIEW, Action.HOLD, Role.SYSTEM): Status.ON_HOLD,
    (Status.APPROVED, Action.HOLD, Role.SYSTEM): Status.ON_HOLD,
}


@pytest.mark.parametrize(("current", "action", "role"), list(EXPECTED))
def test_every_legal_transition_leads_where_the_lifecycle_says(current: Status, action: Action, role: Role) -> None:
    assert next_status(current, action, role, reason="because") == EXPECTED[current, action, role]


def test_the_table_holds_exactly_the_expected_transitions() -> None:
    assert {(s, a): t for (s, a, _), t in EXPECTED.items()} == TRANSITIONS


@pytest.mark.parametrize(
    ("current", "action", "role"),
    [
        (Status.DRAFT, Action.APPROVE, Role.LENDER),
        (Status.SUBMITTED, Action.APPROVE, Role.LENDER),
        (Status.APPROVED, Action.APPROVE, Role.LENDER),  # the second of two lenders approving
        (Status.APPROVED, Action.WITHDRAW, Role.SELLER),  # after a decision
        (Status.REJECTED, Action.WITHDRAW, Role.SELLER),
        (Status.UNDER_REVIEW, Action.DISBURSE, Role.LENDER),
        (Status.DISBURSED, Action.DISBURSE, Role.LENDER),
        (Status.REPAID, Action.RECORD_REPAYMENT, Role.LENDER),
        (Status.DISBURSED, Action.WRITE_OFF, Role.LENDER),
        (Status.WRITTEN_OFF, Action.SETTLE, Role.SYSTEM),
        (Status.UNDER_REVIEW, Action.SUBMIT, Role.SELLER),
        (Status.ON_HOLD, Action.APPROVE, Role.LENDER),
        (Status.ON_HOLD, Action.TAKE_FOR_REVIEW, Role.LENDER),
        (Status.DRAFT, Action.HOLD, Role.SYSTEM),
        (Status.DISBURSED, Action.HOLD, Role.SYSTEM),
        (Status.ON_HOLD, Action.HOLD, Role.SYSTEM),
        (Status.UNDER_REVIEW, Action.EDIT, Role.SELLER),
        (Status.DISBURSED, Action.CURE, Role.SYSTEM),
    ],
)
def test_an_illegal_transition_is_a_conflict(current: Status, action: Action, role: Role) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_status(current, action, role, reason="because")
    assert caught.value.status == 409
    assert current.value in str(caught.value.detail)


@pytest.mark.parametrize(
    ("action", "role"),
    [
        (Action.APPROVE, Role.SELLER),
        (Action.DISBURSE, Role.SELLER),
        (Action.SUBMIT, Role.LENDER),
        (Action.WITHDRAW, Role.LENDER),
        (Action.EDIT, Role.LENDER),
        (Action.APPROVE, Role.OPS),
        (Action.SETTLE, Role.LENDER),
        (Action.HOLD, Role.LENDER),
        (Action.RELEASE, Role.SELLER),
    ],
)
def test_a_role_outside_the_actors_is_forbidden_whatever_the_state(action: Action, role: Role) -> None:
    for current in Status:
        with pytest.raises(ActionNotPermitted) as caught:
            next_status(current, action, role, reason="because", held_from=Status.SUBMITTED)
        assert caught.value.status == 403


def test_ops_acts_on_nothing() -> None:
    assert all(Role.OPS not in roles for roles in ACTORS.values())
    assert set(ACTORS) == set(Action)


@pytest.mark.parametrize("action", [Action.REJECT, Action.WRITE_OFF, Action.HOLD])
@pytest.mark.parametrize("reason", [None, "", "   "])
def test_reject_write_off_and_hold_need_a_reason(action: Action, reason: str | None) -> None:
    source = next(s for (s, a) in TRANSITIONS if a is action)
    role = next(iter(ACTORS[action]))
    with pytest.raises(UnprocessableContent):
        next_status(source, action, role, reason=reason)


@pytest.mark.parametrize("held_from", sorted(HOLDABLE))
def test_release_returns_to_the_state_the_hold_interrupted(held_from: Status) -> None:
    held = next_status(held_from, Action.HOLD, Role.SYSTEM, reason="seller suspended")
    assert held is Status.ON_HOLD
    assert next_status(held, Action.RELEASE, Role.SYSTEM, held_from=held_from) is held_from


@pytest.mark.parametrize(
    ("current", "held_from"),
    [(Status.SUBMITTED, Status.SUBMITTED), (Status.ON_HOLD, None), (Status.ON_HOLD, Status.DRAFT)],
)
def test_release_refuses_what_is_not_held(current: Status, held_from: Status | None) -> None:
    with pytest.raises(IllegalTransition):
        next_status(current, Action.RELEASE, Role.SYSTEM, held_from=held_from)


def test_terms_are_editable_only_in_draft_and_submitted() -> None:
    assert {Status.DRAFT, Status.SUBMITTED} == EDITABLE
    for status in Status:
        if status in EDITABLE:
            ensure_editable(status)
        else:
            with pytest.raises(IllegalTransition):
                ensure_editable(status)


# ----------------------------------------------------------------- eligibility

SELLER = "seller-1"


def order(
    order_id: str = "o-1",
    value_minor: int = 1_000_000,
    currency: str = "RWF",
    *,
    seller_id: str | None = SELLER,
    confirmed: bool = True,
    financed_by: str | None = None,
) -> LinkedOrder:
    return LinkedOrder(order_id, seller_id, confirmed, value_minor, currency, financed_by)


def evaluate(**overrides: object) -> dict[Rule, bool]:
    arguments: dict[str, object] = {
        "seller_id": SELLER,
        "seller_status": "verified",
        "product": Product.PURCHASE_ORDER_FINANCE,
        "amount": Decimal("800000"),
        "currency": "RWF",
        "tenor_days": 90,
        "orders": [order()],
    } | overrides
    result = evaluate_eligibility(**arguments)  # type: ignore[arg-type]
    return {o.rule: o.passed for o in result.outcomes}


def test_worked_example_po_finance_advances_80_percent_of_a_confirmed_order() -> None:
    # A confirmed order of RWF 1,000,000: 80% is RWF 800,000, and not a franc more.
    result = evaluate_eligibility(
        seller_id=SELLER,
        seller_status="verified",
        product=Product.PURCHASE_ORDER_FINANCE,
        amount=Decimal("800000"),
        currency="RWF",
        tenor_days=90,
        orders=[order()],
    )
    assert result.eligible
    assert result.reasons == ()
    assert "800000 RWF" in result.outcomes[-1].detail
    assert evaluate(amount=Decimal("800001"))[Rule.ADVANCE_WITHIN_LIMIT] is False


def test_worked_example_invoice_finance_advances_90_percent_rounded_half_even() -> None:
    # USD 12,345.67 x 90% = 11,111.103 -> 11,111.10.
    orders = [order(value_minor=1_234_567, currency="USD")]
    common = {"product": Product.INVOICE_FINANCE, "currency": "USD", "orders": orders}
    assert evaluate(amount=Decimal("11111.10"), **common)[Rule.ADVANCE_WITHIN_LIMIT]
    assert not evaluate(amount=Decimal("11111.11"), **common)[Rule.ADVANCE_WITHIN_LIMIT]


def test_advance_limit_rounds_half_even() -> None:
    assert advance_limit_minor(Decimal("0.90"), 5) == 4  # 4.5 -> 4
    assert advance_limit_minor(Decimal("0.90"), 15) == 14  # 13.5 -> 14
    assert advance_limit_minor(Decimal("0.80"), 0) == 0


def test_the_limit_sums_every_usable_order() -> None:
    orders = [order("o-1", 600_000), order("o-2", 400_000)]
    assert evaluate(orders=orders, amount=Decimal("800000"))[Rule.ADVANCE_WITHIN_LIMIT]


@pytest.mark.parametrize(
    ("linked", "why"),
    [
        (order(confirmed=False), "not confirmed"),
        (order(seller_id="seller-2"), "belongs to another seller"),
        (order(seller_id=None), "not known to finance"),
        (order(currency="USD"), "priced in USD"),
        (order(financed_by="app-9"), "already financed by application app-9"),
    ],
)
def test_an_unusable_order_is_not_counted_and_says_why(linked: LinkedOrder, why: str) -> None:
    result = evaluate_eligibility(
        seller_id=SELLER,
        seller_status="verified",
        product=Product.PURCHASE_ORDER_FINANCE,
        amount=Decimal("800000"),
        currency="RWF",
        tenor_days=90,
        orders=[linked],
    )
    assert not result.eligible
    assert any(why in reason for reason in result.reasons)
    assert any("advance limit of 0 RWF" in reason for reason in result.reasons)


def test_an_order_backed_product_needs_a_linked_order() -> None:
    outcome = evaluate(orders=[])
    assert outcome[Rule.LINKED_ORDERS_USABLE] is False
    assert outcome[Rule.ADVANCE_WITHIN_LIMIT] is False


def test_products_not_backed_by_orders_skip_the_advance_rules() -> None:
    outcome = evaluate(product=Product.PRE_SHIPMENT, orders=[])
    assert Rule.ADVANCE_WITHIN_LIMIT not in outcome
    assert all(outcome.values())


@pytest.mark.parametrize("status", [None, "pending_verification", "suspended", "rejected"])
def test_only_a_verified_seller_is_eligible(status: str | None) -> None:
    result = evaluate_eligibility(
        seller_id=SELLER,
        seller_status=status,
        product=Product.PRE_SHIPMENT,
        amount=Decimal("800000"),
        currency="RWF",
        tenor_days=90,
    )
    assert not result.eligible
    assert result.reasons == (f"The seller is {status or 'unknown to finance'}, not verified.",)


@pytest.mark.parametrize(
    ("product", "longest"),
    [
        (Product.PURCHASE_ORDER_FINANCE, 365),
        (Product.INVOICE_FINANCE, 90),
        (Product.PRE_SHIPMENT, 180),
        (Product.LC_CONFIRMATION, 180),
        (Product.GUARANTEE, 270),
    ],
)
def test_tenor_bounds_per_product(product: Product, longest: int) -> None:
    orders = [order(value_minor=10_000_000)]
    assert evaluate(product=product, tenor_days=longest, orders=orders)[Rule.TENOR_WITHIN_LIMIT]
    assert not evaluate(product=product, tenor_days=longest + 1)[Rule.TENOR_WITHIN_LIMIT]
    assert not evaluate(product=product, tenor_days=0)[Rule.TENOR_WITHIN_LIMIT]


def test_an_unfunded_currency_is_ineligible_and_skips_the_money_rules() -> None:
    outcome = evaluate(currency="EUR", amount=Decimal("100"))
    assert outcome[Rule.CURRENCY_SUPPORTED] is False
    assert Rule.AMOUNT_WITHIN_LIMITS not in outcome
    assert Rule.ADVANCE_WITHIN_LIMIT not in outcome


def test_amount_limits_are_inclusive() -> None:
    product = {"product": Product.PRE_SHIPMENT}
    assert evaluate(amount=Decimal("10000"), **product)[Rule.AMOUNT_WITHIN_LIMITS]
    assert not evaluate(amount=Decimal("9999"), **product)[Rule.AMOUNT_WITHIN_LIMITS]
    assert evaluate(amount=Decimal("5000000000"), **product)[Rule.AMOUNT_WITHIN_LIMITS]
    assert not evaluate(amount=Decimal("5000000001"), **product)[Rule.AMOUNT_WITHIN_LIMITS]
    assert not evaluate(amount=Decimal("-1"), **product)[Rule.AMOUNT_WITHIN_LIMITS]


def test_the_configuration_moves_the_rules() -> None:
    terms = dict(DEFAULT_CONFIG.products)
    terms[Product.PURCHASE_ORDER_FINANCE] = ProductTerms(30, Decimal("0.5"), Decimal(0), Decimal(0))
    config = replace(DEFAULT_CONFIG, products=terms)
    outcome = evaluate(config=config)
    assert outcome[Rule.TENOR_WITHIN_LIMIT] is False
    assert outcome[Rule.ADVANCE_WITHIN_LIMIT] is False
    assert evaluate(config=config, amount=Decimal("500000"), tenor_days=30)[Rule.ADVANCE_WITHIN_LIMIT]


def test_default_advance_rates_are_the_issues() -> None:
    assert isinstance(DEFAULT_CONFIG, FinanceConfig)
    rates = {p: t.advance_rate for p, t in DEFAULT_CONFIG.products.items()}
    assert rates[Product.PURCHASE_ORDER_FINANCE] == Decimal("0.80")
    assert rates[Product.INVOICE_FINANCE] == Decimal("0.90")
    assert set(rates) == set(Product)


def test_foreign_orders_names_only_other_sellers_orders() -> None:
    orders = [order("mine"), order("theirs", seller_id="seller-2"), order("unknown", seller_id=None)]
    assert foreign_orders(SELLER, orders) == ["theirs"]


# ----------------------------------------------------------------- money

DISBURSED_ON = date(2025, 1, 1)
RATE = Decimal("0.18")


def test_worked_example_bullet_schedule() -> None:
    # RWF 800,000 at 18% for 90 days: 800000 x 0.18 x 90 / 365 = 35,506.85 -> 35,507;
    # fee 1% = 8,000; due 2025-04-01, 843,507 in all.
    fees = fee_minor(800_000, Decimal("0.01"))
    schedule = repayment_schedule(
        principal_minor=800_000,
        annual_rate=RATE,
        fees_minor=fees,
        disbursed_on=DISBURSED_ON,
        tenor_days=90,
    )
    assert [(i.due_on, i.principal_minor, i.interest_minor, i.fee_minor) for i in schedule] == [
        (date(2025, 4, 1), 800_000, 35_507, 8_000)
    ]
    assert schedule[0].total_minor == 843_507


def test_worked_example_three_instalments_split_evenly_on_declining_principal() -> None:
    # RWF 1,000 over 90 days in 3: principal 333/333/334 due on days 30/60/90;
    # interest at 36.5%: 1000 x 0.365 x 30/365 = 30, 667 x ... = 20.01 -> 20, 334 x ... = 10.02 -> 10.
    schedule = repayment_schedule(
        principal_minor=1_000,
        annual_rate=Decimal("0.365"),
        fees_minor=5,
        disbursed_on=DISBURSED_ON,
        tenor_days=90,
        instalments=3,
    )
    assert [(i.due_on.isoformat(), i.principal_minor, i.interest_minor, i.fee_minor) for i in schedule] == [
        ("2025-01-31", 333, 30, 5),
        ("2025-03-02", 333, 20, 0),
        ("2025-04-01", 334, 10, 0),
    ]
    assert sum(i.principal_minor for i in schedule) == 1_000


def test_uneven_tenor_puts_the_last_due_date_on_maturity() -> None:
    schedule = repayment_schedule(
        principal_minor=100,
        annual_rate=RATE,
        fees_minor=0,
        disbursed_on=DISBURSED_ON,
        tenor_days=10,
        instalments=3,
    )
    assert [(i.due_on - DISBURSED_ON).days for i in schedule] == [3, 6, 10]


@pytest.mark.parametrize(("instalments", "tenor"), [(0, 90), (13, 365), (4, 3)])
def test_schedule_refuses_impossible_instalment_counts(instalments: int, tenor: int) -> None:
    with pytest.raises(UnprocessableContent):
        repayment_schedule(
            principal_minor=1_000,
            annual_rate=RATE,
            fees_minor=0,
            disbursed_on=DISBURSED_ON,
            tenor_days=tenor,
            instalments=instalments,
        )


def test_interest_rounds_half_even_in_minor_units() -> None:
    # 1000 x 0.0025 x 365/365 = 2.5 -> 2; 1400 x ... = 3.5 -> 4.
    assert interest_minor(1_000, Decimal("0.0025"), 365) == 2
    assert interest_minor(1_400, Decimal("0.0025"), 365) == 4
    assert interest_minor(1_000, RATE, 0) == 0
    assert fee_minor(250, Decimal("0.01")) == 2  # 2.5 -> 2
    assert fee_minor(350, Decimal("0.01")) == 4  # 3.5 -> 4


def test_worked_example_repayments_go_to_fees_then_interest_then_principal() -> None:
    balance = Balance(800_000, 0, 8_000, DISBURSED_ON)
    # 30 days later: interest 800000 x 0.18 x 30/365 = 11,835.62 -> 11,836.
    after, allocation = apply_repayment(balance, 50_000, date(2025, 1, 31), RATE)
    assert (allocation.fees_minor, allocation.interest_minor, allocation.principal_minor) == (
        8_000,
        11_836,
        30_164,
    )
    assert after == Balance(769_836, 0, 0, date(2025, 1, 31))
    # 59 more days on 769,836: 769836 x 0.18 x 59/365 = 22,398.82 -> 22,399; pay exactly all.
    outstanding = 769_836 + 22_399
    with pytest.raises(UnprocessableContent):
        apply_repayment(after, outstanding + 1, date(2025, 3, 31), RATE)
    settled, last = apply_repayment(after, outstanding, date(2025, 3, 31), RATE)
    assert (last.fees_minor, last.interest_minor, last.principal_minor) == (0, 22_399, 769_836)
    assert settled.settled


def test_a_small_repayment_covers_fees_first() -> None:
    after, allocation = apply_repayment(Balance(1_000, 0, 50, DISBURSED_ON), 30, DISBURSED_ON, RATE)
    assert (allocation.fees_minor, allocation.interest_minor, allocation.principal_minor) == (30, 0, 0)
    assert after.fees_minor == 20
    assert not after.settled


@pytest.mark.parametrize("amount", [0, -1])
def test_a_repayment_must_be_positive(amount: int) -> None:
    with pytest.raises(UnprocessableContent):
        apply_repayment(Balance(1_000, 0, 0, DISBURSED_ON), amount, DISBURSED_ON, RATE)


def test_a_repayment_dated_before_the_last_accrual_is_refused() -> None:
    with pytest.raises(UnprocessableContent):
        apply_repayment(Balance(1_000, 0, 0, date(2025, 2, 1)), 10, DISBURSED_ON, RATE)


# ----------------------------------------------------------------- arrears


def bullet() -> list:  # type: ignore[type-arg]
    return repayment_schedule(
        principal_minor=800_000,
        annual_rate=RATE,
        fees_minor=8_000,
        disbursed_on=DISBURSED_ON,
        tenor_days=90,
    )


def test_worked_example_arrears_after_the_grace_days() -> None:
    # Due 2025-04-01, 843,507; grace 5 days.
    schedule = bullet()
    on_time = arrears(schedule, 0, date(2025, 4, 1))
    assert (on_time.days_past_due, on_time.overdue_minor, on_time.in_arrears) == (0, 0, False)
    in_grace = arrears(schedule, 0, date(2025, 4, 6))
    assert (in_grace.days_past_due, in_grace.overdue_minor, in_grace.in_arrears) == (
        5,
        843_507,
        False,
    )
    late = arrears(schedule, 43_507, date(2025, 4, 7))
    assert (late.days_past_due, late.overdue_minor, late.in_arrears) == (6, 800_000, True)
    assert not arrears(schedule, 843_507, date(2025, 6, 1)).in_arrears


def test_arrears_count_from_the_oldest_unpaid_instalment() -> None:
    schedule = repayment_schedule(
        principal_minor=1_000,
        annual_rate=Decimal("0.365"),
        fees_minor=5,
        disbursed_on=DISBURSED_ON,
        tenor_days=90,
        instalments=3,
    )
    # Instalments: 368 due 01-31, 353 due 03-02, 344 due 04-01. Paid 368: the first is settled.
    state = arrears(schedule, 368, date(2025, 3, 10))
    assert (state.days_past_due, state.overdue_minor, state.in_arrears) == (8, 353, True)
    assert not arrears(schedule, 368 + 353, date(2025, 3, 10)).in_arrears
    grace = replace(DEFAULT_CONFIG, grace_days=10)
    assert not arrears(schedule, 368, date(2025, 3, 10), grace).in_arrears


# ----------------------------------------------------------------- guarantees


def test_guarantee_cover_follows_the_schemes() -> None:
    bdf = GuaranteeScheme.BDF_PARTIAL_CREDIT
    assert guarantee_cover_minor(1_000_000, bdf, tenor_days=365) == 500_000
    assert guarantee_cover_minor(1_000_000, bdf, enhanced=True, tenor_days=365) == 750_000
    egf = GuaranteeScheme.EGF_EXPORT
    assert guarantee_cover_minor(1_000_000, egf, tenor_days=270) == 800_000
    with pytest.raises(UnprocessableContent):
        guarantee_cover_minor(1_000_000, egf, tenor_days=271)
    with pytest.raises(UnprocessableContent):
        guarantee_cover_minor(1_000_000, egf, enhanced=True, tenor_days=90)
