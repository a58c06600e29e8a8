"""Worked money examples, computed by hand in the comments (no database): the service's figures come
from these domain functions, in integer minor units, rounded half-even."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from services.finance.config import Product
from services.finance.domain import Balance, apply_repayment, arrears, interest_minor, repayment_schedule
from services.finance.insights.profile import OrderFacts, trade_windows
from services.finance.settings import FinanceSettings

RATE = Decimal("0.18")
START = date(2026, 1, 1)


def test_worked_example_rwf_loan_in_three_instalments_repaid_exactly() -> None:
    """RWF 1,000,000 at 18% for 90 days in 3 instalments, 1% fee (RWF has no minor units).

    Principal 1,000,000 / 3 = 333,333 rem 1 -> 333,333, 333,333, 333,334 (remainder last).
    Interest per 30-day period on the principal outstanding over it:
      1,000,000 x 0.18 x 30/365 = 14,794.52 -> 14,795
        666,667 x 0.18 x 30/365 =  9,863.02 ->  9,863
        333,334 x 0.18 x 30/365 =  4,931.52 ->  4,932
    Fee 10,000 with the first instalment.
    """
    schedule = repayment_schedule(
        principal_minor=1_000_000, annual_rate=RATE, fees_minor=10_000, disbursed_on=START, tenor_days=90, instalments=3
    )
    assert [(i.due_on, i.principal_minor, i.interest_minor, i.fee_minor) for i in schedule] == [
        (date(2026, 1, 31), 333_333, 14_795, 10_000),
        (date(2026, 3, 2), 333_333, 9_863, 0),
        (date(2026, 4, 1), 333_334, 4_932, 0),
    ]
    assert [i.total_minor for i in schedule] == [358_128, 343_196, 338_266]

    # Day 30: 20,000 paid. Interest accrued: 1,000,000 x 0.18 x 30/365 = 14,794.52 -> 14,795.
    # Fees 10,000 first, then 10,000 of the 14,795 interest, nothing to principal.
    balance = Balance(1_000_000, 0, 10_000, START)
    balance, allocation = apply_repayment(balance, 20_000, date(2026, 1, 31), RATE)
    assert (allocation.fees_minor, allocation.interest_minor, allocation.principal_minor) == (10_000, 10_000, 0)
    assert (balance.principal_minor, balance.interest_minor, balance.fees_minor) == (1_000_000, 4_795, 0)

    # Day 40: 10 more days on 1,000,000: 4,931.51 -> 4,932 interest; 4,795 + 4,932 = 9,727 interest due.
    # Paying 1,009,727 leaves nothing: repaid exactly.
    assert interest_minor(1_000_000, RATE, 10) == 4_932
    balance, allocation = apply_repayment(balance, 1_009_727, date(2026, 2, 10), RATE)
    assert (allocation.interest_minor, allocation.principal_minor) == (9_727, 1_000_000)
    assert balance.settled and balance.outstanding_minor == 0


def test_worked_example_usd_bullet_loan_in_arrears_after_five_grace_days() -> None:
    """USD 800.00 at 18.25% for 60 days, fee 8.00: interest 80,000 x 0.1825 x 60/365 = 2,400 cents."""
    schedule = repayment_schedule(
        principal_minor=80_000, annual_rate=Decimal("0.1825"), fees_minor=800, disbursed_on=START, tenor_days=60
    )
    assert [(i.due_on, i.total_minor) for i in schedule] == [(date(2026, 3, 2), 83_200)]
    # Due 2 March; 5 grace days: still current on the 7th, in arrears on the 8th with 83,200 overdue.
    assert not arrears(schedule, 0, date(2026, 3, 7)).in_arrears
    late = arrears(schedule, 0, date(2026, 3, 8))
    assert (late.in_arrears, late.days_past_due, late.overdue_minor) == (True, 6, 83_200)
    # Paying what was scheduled brings it current again.
    assert not arrears(schedule, 83_200, date(2026, 3, 8)).in_arrears


def test_settings_move_the_advance_rates_and_grace_days() -> None:
    config = FinanceSettings(po_advance_rate=Decimal("0.7"), grace_days=10).finance_config()
    assert config.products[Product.PURCHASE_ORDER_FINANCE].advance_rate == Decimal("0.7")
    assert config.products[Product.INVOICE_FINANCE].advance_rate == Decimal("0.90")
    assert config.grace_days == 10


def test_trade_profile_rates_and_concentration() -> None:
    """4 orders in the last 3 months: 3 confirmed (2 on mkt-a), 1 of them delivered, 1 cancelled before.

    Cancellation rate 1/4 = 0.25; delivered share 1/3 = 0.3333; top marketplace 2/3 = 0.6667.
    An order first seen 200 days ago counts only in the 12-month window.
    """
    now = datetime(2026, 6, 1, tzinfo=UTC)
    day = timedelta(days=1)

    def order(marketplace: str, value: int, age: int, **stages: datetime) -> OrderFacts:
        at = now - age * day
        defaults: dict[str, datetime | None] = dict.fromkeys(
            ("confirmed_at", "shipped_at", "delivered_at", "cancelled_at", "rejected_at")
        )
        return OrderFacts(marketplace, "USD", value, at, **{**defaults, **stages})  # type: ignore[arg-type]

    t = now - 10 * day
    orders = [
        order("mkt-a", 10_000, 10, confirmed_at=t, delivered_at=t),
        order("mkt-a", 20_000, 20, confirmed_at=t),
        order("mkt-b", 5_000, 30, confirmed_at=t),
        order("mkt-b", 7_000, 40, cancelled_at=t),
        order("mkt-c", 99_000, 200, confirmed_at=now - 200 * day),
    ]
    three, twelve = trade_windows(orders, now)
    assert (three.orders_seen, three.confirmed, three.delivered, three.cancelled) == (4, 3, 1, 1)
    assert three.confirmed_value_minor == {"USD": 35_000}
    assert (three.cancellation_rate, three.delivered_share) == (Decimal("0.2500"), Decimal("0.3333"))
    assert (three.top_marketplace, three.top_marketplace_share) == ("mkt-a", Decimal("0.6667"))
    assert (twelve.orders_seen, twelve.confirmed_value_minor) == (5, {"USD": 134_000})
