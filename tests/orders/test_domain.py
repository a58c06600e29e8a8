"""The orders domain: saga table and decisions, CN landed cost (DOMAIN.md section 5), reference idempotency,
demand-insight helpers."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from services.orders.config import DEFAULT_RULES
from services.orders.domain import (
    TRANSITIONS,
    Action,
    BuyerContent,
    CustomsRegime,
    Effect,
    FreightQuote,
    FxRate,
    IllegalTransition,
    LineContent,
    OrderContent,
    OrderStatus,
    PricedLine,
    ReferenceConflict,
    ReferenceOutcome,
    RejectReason,
    TrendDirection,
    china_landed_cost,
    customs_regime,
    decide,
    is_overdue,
    median_unit_price,
    next_status,
    order_fingerprint,
    rate_for,
    resolve_reference,
    share_percent,
    trend,
    validate_window,
    window_bounds,
)
from shared.errors import Conflict, UnprocessableContent

S = OrderStatus
A = Action
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

# ------------------------------------------------------------------------------------------ state machine

LEGAL = [
    (S.PENDING, A.STOCK_RESERVED, S.CONFIRMED, (Effect.PUBLISH_CONFIRMED,)),
    (S.PENDING, A.STOCK_REJECTED, S.REJECTED, (Effect.PUBLISH_REJECTED,)),
    (S.PENDING, A.TIMEOUT, S.REJECTED, (Effect.PUBLISH_REJECTED,)),
    (S.PENDING, A.CANCEL, S.CANCELLED, (Effect.PUBLISH_CANCELLED,)),
    (S.CONFIRMED, A.CANCEL, S.CANCELLED, (Effect.PUBLISH_CANCELLED,)),
    (S.CONFIRMED, A.SHIPMENT_BOOKED, S.CONFIRMED, ()),
    (S.CONFIRMED, A.SHIPMENT_BOOKING_FAILED, S.CONFIRMED, (Effect.ALERT_OPS,)),
    (S.CONFIRMED, A.SHIPMENT_DISPATCHED, S.SHIPPED, (Effect.PUBLISH_SHIPPED,)),
    (S.CONFIRMED, A.SHIPMENT_DELIVERED, S.DELIVERED, (Effect.PUBLISH_SHIPPED, Effect.PUBLISH_DELIVERED)),
    (S.SHIPPED, A.SHIPMENT_DELIVERED, S.DELIVERED, (Effect.PUBLISH_DELIVERED,)),
]


def test_the_table_holds_exactly_the_legal_moves() -> None:
    assert {(s, a): t for s, a, t, _ in LEGAL} == TRANSITIONS


@pytest.mark.parametrize(("status", "action", "target", "effects"), LEGAL)
def test_every_legal_move_lands_where_the_saga_says_with_its_effects(
    status: OrderStatus, action: Action, target: OrderStatus, effects: tuple[Effect, ...]
) -> None:
    assert next_status(status, action) is target
    decision = decide(status, action)
    assert (decision.status, decision.moved, decision.effects) == (target, True, effects)


@pytest.mark.parametrize(
    ("status", "action"),
    [(S.PENDING, A.STOCK_REJECTED), (S.PENDING, A.TIMEOUT)],
)
def test_a_rejection_says_why(status: OrderStatus, action: Action) -> None:
    expected = RejectReason.TIMEOUT if action is A.TIMEOUT else RejectReason.STOCK
    assert decide(status, action).reject_reason is expected
    assert decide(S.PENDING, A.STOCK_RESERVED).reject_reason is None


@pytest.mark.parametrize("status", [S.SHIPPED, S.DELIVERED, S.CANCELLED, S.REJECTED])
def test_cancel_after_dispatch_or_settlement_is_a_409_naming_the_status(status: OrderStatus) -> None:
    with pytest.raises(IllegalTransition) as caught:
        decide(status, A.CANCEL)
    assert isinstance(caught.value, Conflict)
    assert caught.value.status == 409
    assert caught.value.extra["current_status"] == status.value
    with pytest.raises(IllegalTransition):
        next_status(status, A.CANCEL)


@pytest.mark.parametrize(
    ("status", "action"),
    [(S.DELIVERED, A.SHIPMENT_DISPATCHED), (S.PENDING, A.SHIPMENT_BOOKED), (S.REJECTED, A.TIMEOUT)],
)
def test_next_status_refuses_moves_outside_the_table(status: OrderStatus, action: Action) -> None:
    with pytest.raises(IllegalTransition):
        next_status(status, action)


def _absorbed(status: OrderStatus, action: Action) -> tuple[Effect, ...]:
    decision = decide(status, action)
    assert decision.status is status
    assert not decision.moved
    return decision.effects


def test_every_event_outside_the_table_is_answered_without_raising() -> None:
    for status in S:
        for action in A:
            if action.is_command or (status, action) in TRANSITIONS:
                continue
            _absorbed(status, action)  # never raises


def test_delivered_before_dispatched_ends_delivered_and_the_late_dispatch_changes_nothing() -> None:
    first = decide(S.CONFIRMED, A.SHIPMENT_DELIVERED)
    assert first.status is S.DELIVERED
    assert Effect.PUBLISH_SHIPPED in first.effects  # catalogue still turns the reservation into a sale
    assert _absorbed(first.status, A.SHIPMENT_DISPATCHED) == ()


@pytest.mark.parametrize("settled", [S.REJECTED, S.CANCELLED])
def test_stock_reserved_after_a_timeout_or_cancel_stays_put_and_releases(settled: OrderStatus) -> None:
    timed_out = decide(S.PENDING, A.TIMEOUT)
    assert timed_out.status is S.REJECTED
    assert _absorbed(settled, A.STOCK_RESERVED) == (Effect.RELEASE_STOCK,)


@pytest.mark.parametrize("status", [S.REJECTED, S.CANCELLED])
def test_stock_rejected_after_a_timeout_or_cancel_is_a_no_op(status: OrderStatus) -> None:
    assert _absorbed(status, A.STOCK_REJECTED) == ()


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.CONFIRMED, A.STOCK_RESERVED),
        (S.SHIPPED, A.SHIPMENT_DISPATCHED),
        (S.DELIVERED, A.SHIPMENT_DELIVERED),
        (S.SHIPPED, A.SHIPMENT_BOOKED),
        (S.CONFIRMED, A.TIMEOUT),
        (S.CANCELLED, A.TIMEOUT),
        (S.CANCELLED, A.SHIPMENT_BOOKED),
    ],
)
def test_redelivered_and_stale_events_are_no_ops(status: OrderStatus, action: Action) -> None:
    assert _absorbed(status, action) == ()


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.CANCELLED, A.SHIPMENT_DISPATCHED),
        (S.REJECTED, A.SHIPMENT_DELIVERED),
        (S.PENDING, A.SHIPMENT_DISPATCHED),
        (S.CONFIRMED, A.STOCK_REJECTED),
    ],
)
def test_contradicting_events_leave_the_status_and_flag_an_anomaly(status: OrderStatus, action: Action) -> None:
    assert _absorbed(status, action) == (Effect.FLAG_ANOMALY,)


def test_a_pending_order_is_overdue_from_the_deadline_on() -> None:
    deadline = DEFAULT_RULES.pending_timeout
    assert not is_overdue(S.PENDING, NOW, NOW + deadline - timedelta(seconds=1))
    assert is_overdue(S.PENDING, NOW, NOW + deadline)
    assert not is_overdue(S.CONFIRMED, NOW, NOW + deadline * 10)


# ------------------------------------------------------------------------------------------ landed cost


def _usd_cny(rate: str = "7.2000") -> FxRate:
    return FxRate("USD", "CNY", Decimal(rate), "test-bank", NOW)


def _cny() -> FxRate:
    return FxRate("CNY", "CNY", Decimal(1), "identity", NOW)


def test_domain_md_combined_rate_is_9_1_percent_for_13_percent_vat_and_no_consumption_tax() -> None:
    """DOMAIN.md: combined = (CT + VAT)/(1 − CT) × 70%; 13% VAT, no CT → 9.1%."""
    cost = china_landed_cost([PricedLine("l1", "4602.19", 1, Decimal("100.00"))], "CNY", _cny())
    assert cost.regime is CustomsRegime.CBEC
    (line,) = cost.lines
    assert line.vat_rate == Decimal("0.13")
    assert (line.tariff_cny_minor, line.vat_cny_minor, line.consumption_tax_cny_minor) == (0, 910, 0)
    assert cost.landed_cny_minor == 10910


def test_domain_md_combined_formula_with_a_consumption_tax() -> None:
    """(c + v)/(1 − c) × 70% with c = 15%, v = 13%: 23.0588...% of the value, split CT 12.35% / VAT 10.7059%."""
    rules = replace(DEFAULT_RULES, consumption_tax_rates={"3304": Decimal("0.15")})
    cost = china_landed_cost([PricedLine("l1", "330499", 1, Decimal("1000.00"))], "CNY", _cny(), rules=rules)
    (line,) = cost.lines
    combined = (Decimal("0.15") + Decimal("0.13")) / (1 - Decimal("0.15")) * Decimal("0.7") * 1000
    assert line.consumption_tax_cny_minor == 12353  # 1000 × 0.15/0.85 × 0.7 = 123.5294 → 123.53
    assert line.vat_cny_minor == 10706  # (1000 + 176.4706) × 0.13 × 0.7 = 107.0588 → 107.06
    assert abs(Decimal(line.tax_cny_minor) / 100 - combined) <= Decimal("0.01")


def test_green_coffee_and_tea_at_9_percent_roasted_coffee_at_the_13_percent_default() -> None:
    assert rate_for("0901.11", DEFAULT_RULES.vat_rates, DEFAULT_RULES.default_vat_rate) == Decimal("0.09")
    assert rate_for("090230", DEFAULT_RULES.vat_rates, DEFAULT_RULES.default_vat_rate) == Decimal("0.09")
    assert rate_for("0901110000", DEFAULT_RULES.vat_rates, DEFAULT_RULES.default_vat_rate) == Decimal("0.09")
    assert rate_for("0901.21", DEFAULT_RULES.vat_rates, DEFAULT_RULES.default_vat_rate) == Decimal("0.13")
    assert rate_for("4602.19", DEFAULT_RULES.vat_rates, DEFAULT_RULES.default_vat_rate) == Decimal("0.13")


def test_taxes_are_rounded_half_even_per_line_then_summed() -> None:
    # 15.00 CNY × 13% × 70% = 1.365: a tie at the fen, half-even keeps 1.36 (half-up would say 1.37).
    tie = china_landed_cost([PricedLine("l1", "4602.19", 1, Decimal("15.00"))], "CNY", _cny())
    assert tie.vat_cny_minor == 136
    # 5.00 → 0.455 → 0.46 (the even neighbour is above).
    assert china_landed_cost([PricedLine("l1", "4602.19", 1, Decimal("5.00"))], "CNY", _cny()).vat_cny_minor == 46
    # Three such 15.00 lines: 1.36 each, summed 4.08; taxing the 45.00 total at once would give 4.095 → 4.10.
    lines = [PricedLine(f"l{i}", "4602.19", 1, Decimal("15.00")) for i in range(3)]
    cost = china_landed_cost(lines, "CNY", _cny())
    assert [line.vat_cny_minor for line in cost.lines] == [136, 136, 136]
    assert cost.vat_cny_minor == 408
    assert cost.landed_cny_minor == 4500 + 408


def test_the_fx_conversion_is_rounded_per_line_and_recorded() -> None:
    # 1.01 USD × 7.1234 = 7.194634 → 7.19 CNY per line.
    lines = [PricedLine("l1", "090111", 1, Decimal("1.01")), PricedLine("l2", "090111", 1, Decimal("1.01"))]
    fx = _usd_cny("7.1234")
    cost = china_landed_cost(lines, "USD", fx)
    assert [line.customs_value_cny_minor for line in cost.lines] == [719, 719]
    assert cost.customs_value_cny_minor == 1438
    assert cost.goods_value_minor == 202
    assert (cost.fx.rate, cost.fx.source, cost.fx.as_of) == (Decimal("7.1234"), "test-bank", NOW)


def test_rwf_goods_value_has_no_minor_units() -> None:
    fx = FxRate("RWF", "CNY", Decimal("0.0050"), "bnr", NOW)
    cost = china_landed_cost([PricedLine("l1", "4602.19", 3, Decimal("15000"))], "RWF", fx)
    assert cost.goods_value_minor == 45000
    assert cost.customs_value_cny_minor == 22500  # 225.00 CNY
    assert cost.vat_cny_minor == 2048  # 225 × 0.091 = 20.475 → 20.48 (half-even: 7 is odd → up)


def test_freight_from_the_chosen_quote_is_added_untaxed() -> None:
    lines = [PricedLine("l1", "4602.19", 1, Decimal("10.00"))]
    in_usd = china_landed_cost(lines, "USD", _usd_cny(), freight=FreightQuote("q-1", Decimal("5.00"), "USD"))
    assert (in_usd.freight_quote_id, in_usd.freight_cny_minor) == ("q-1", 3600)
    assert in_usd.vat_cny_minor == 655  # 72.00 × 9.1% = 6.552, on the goods only
    assert in_usd.landed_cny_minor == 7200 + 655 + 3600
    in_cny = china_landed_cost(lines, "USD", _usd_cny(), freight=FreightQuote("q-2", Decimal("30.00"), "CNY"))
    assert in_cny.freight_cny_minor == 3000
    eur = FxRate("EUR", "CNY", Decimal("7.8"), "ecb", NOW)
    in_eur = china_landed_cost(
        lines, "USD", _usd_cny(), freight=FreightQuote("q-3", Decimal("10.00"), "EUR"), freight_fx=eur
    )
    assert (in_eur.freight_cny_minor, in_eur.freight_fx) == (7800, eur)
    with pytest.raises(UnprocessableContent):
        china_landed_cost(lines, "USD", _usd_cny(), freight=FreightQuote("q-4", Decimal("1"), "EUR"))
    no_quote = china_landed_cost(lines, "USD", _usd_cny())
    assert (no_quote.freight_cny_minor, no_quote.freight_quote_id) == (0, None)


def test_a_rate_for_another_pair_is_refused() -> None:
    with pytest.raises(UnprocessableContent):
        china_landed_cost([PricedLine("l1", "4602.19", 1, Decimal("1"))], "RWF", _usd_cny())
    with pytest.raises(ValueError, match="positive"):
        FxRate("USD", "CNY", Decimal(0), "x", NOW)


def test_the_cbec_limits_are_inclusive_and_over_the_order_limit_is_general_trade() -> None:
    assert customs_regime(Decimal("5000.00"), 3, Decimal(0)) is CustomsRegime.CBEC
    assert customs_regime(Decimal("5000.01"), 3, Decimal(0)) is CustomsRegime.GENERAL_TRADE
    assert customs_regime(Decimal("5000.01"), 1, Decimal(0)) is CustomsRegime.CBEC_FULL_TAX
    assert customs_regime(Decimal("1000"), 2, Decimal("25000")) is CustomsRegime.CBEC
    assert customs_regime(Decimal("1000.01"), 2, Decimal("25000")) is CustomsRegime.GENERAL_TRADE
    assert customs_regime(Decimal("6000"), 1, Decimal("20000.01")) is CustomsRegime.GENERAL_TRADE


def test_an_order_over_the_single_order_limit_is_flagged_and_taxed_in_full() -> None:
    lines = [PricedLine("l1", "4602.19", 2, Decimal("2500.01"))]
    cost = china_landed_cost(lines, "CNY", _cny())
    assert cost.general_trade
    assert cost.vat_cny_minor == 65000  # 5000.02 × 13% = 650.0026 → 650.00: no 70% reduction


def test_a_single_indivisible_item_over_the_limit_is_taxed_in_full_within_cbec() -> None:
    cost = china_landed_cost([PricedLine("l1", "4602.19", 1, Decimal("6000.00"))], "CNY", _cny())
    assert cost.regime is CustomsRegime.CBEC_FULL_TAX
    assert not cost.general_trade
    assert cost.vat_cny_minor == 78000


def test_a_tariff_applies_outside_cbec_when_configured() -> None:
    rules = replace(DEFAULT_RULES, tariff_rates={"4602": Decimal("0.10")})
    within = china_landed_cost([PricedLine("l1", "4602.19", 1, Decimal("100"))], "CNY", _cny(), rules=rules)
    assert within.tariff_cny_minor == 0
    full = china_landed_cost([PricedLine("l1", "4602.19", 1, Decimal("6000"))], "CNY", _cny(), rules=rules)
    assert full.tariff_cny_minor == 60000
    assert full.vat_cny_minor == 85800  # (6000 + 600) × 13%


# ------------------------------------------------------------------------------------------ reference idempotency


def _content(**changes: object) -> OrderContent:
    base = OrderContent(
        channel="b2c_marketplace",
        currency="USD",
        buyer=BuyerContent("Li Wei", "CN", "Hangzhou", "1 Wensan Rd"),
        lines=(LineContent("lst-a", 2), LineContent("lst-b", 1)),
        logistics_quote_id="q-1",
        incoterm="DAP",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_the_same_content_has_the_same_fingerprint_whatever_the_line_order() -> None:
    reordered = _content(lines=(LineContent("lst-b", 1), LineContent("lst-a", 2)))
    assert order_fingerprint(_content()) == order_fingerprint(reordered)
    assert len(order_fingerprint(_content())) == 64


@pytest.mark.parametrize(
    "change",
    [
        {"lines": (LineContent("lst-a", 3), LineContent("lst-b", 1))},
        {"currency": "CNY"},
        {"channel": "b2b_distributor"},
        {"buyer": BuyerContent("Li Wei", "CN", "Hangzhou", "2 Wensan Rd")},
        {"buyer": BuyerContent("Li Wei", "CN", "Hangzhou", "1 Wensan Rd", resident_id_type="id_card")},
        {"logistics_quote_id": None},
        {"incoterm": "DDP"},
    ],
)
def test_any_change_of_content_changes_the_fingerprint(change: dict[str, object]) -> None:
    assert order_fingerprint(_content(**change)) != order_fingerprint(_content())


def test_a_reference_is_new_then_existing_for_the_same_content_and_a_conflict_for_other_content() -> None:
    fp = order_fingerprint(_content())
    assert resolve_reference(None, fp, "MKT-1") is ReferenceOutcome.NEW
    assert resolve_reference(fp, fp, "MKT-1") is ReferenceOutcome.EXISTING
    with pytest.raises(ReferenceConflict) as caught:
        resolve_reference(fp, order_fingerprint(_content(currency="CNY")), "MKT-1")
    assert caught.value.status == 409
    assert caught.value.extra["reference"] == "MKT-1"


# ------------------------------------------------------------------------------------------ insights


@pytest.mark.parametrize("days", [7, 30, 90])
def test_the_insight_windows_are_7_30_and_90_days(days: int) -> None:
    assert validate_window(days) == days
    previous, start, end = window_bounds(NOW, days)
    assert (end - start, start - previous, end) == (timedelta(days=days), timedelta(days=days), NOW)


@pytest.mark.parametrize("days", [0, 1, 8, 31, 365, -7])
def test_other_windows_are_refused_naming_the_field(days: int) -> None:
    with pytest.raises(UnprocessableContent) as caught:
        validate_window(days)
    assert caught.value.errors == [{"field": "window", "reason": "one of 7, 30, 90"}]


def test_the_median_unit_price_is_rounded_half_even_to_the_currency() -> None:
    assert median_unit_price([], "USD") is None
    assert median_unit_price([Decimal("3.00"), Decimal("1.00"), Decimal("2.00")], "USD") == Decimal("2.00")
    assert median_unit_price([Decimal("1.00"), Decimal("1.05")], "USD") == Decimal("1.02")  # 1.025 → 1.02
    assert median_unit_price([Decimal("1.00"), Decimal("1.07")], "USD") == Decimal("1.04")  # 1.035 → 1.04
    assert median_unit_price([Decimal("1500"), Decimal("1501")], "RWF") == Decimal("1500")  # 1500.5 → 1500


def test_the_trend_compares_with_the_previous_window() -> None:
    assert trend(150, 100) == trend(Decimal(150), Decimal(100))
    up = trend(150, 100)
    assert (up.direction, up.change_percent) == (TrendDirection.UP, Decimal("50.0"))
    down = trend(2, 3)
    assert (down.direction, down.change_percent) == (TrendDirection.DOWN, Decimal("-33.3"))
    assert trend(5, 5).direction is TrendDirection.FLAT
    assert (trend(5, 0).direction, trend(5, 0).change_percent) == (TrendDirection.NEW, None)
    assert trend(0, 0).direction is TrendDirection.FLAT


def test_a_sellers_share_is_a_percentage_with_one_place() -> None:
    assert share_percent(1, 3) == Decimal("33.3")
    assert share_percent(0, 0) == Decimal("0.0")
    assert share_percent(5, 5) == Decimal("100.0")
