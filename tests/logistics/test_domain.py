"""Logistics domain rules, with DOMAIN.md section 5's worked examples."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest

from services.logistics.config import DEFAULT_CONFIG, Mode, VolumetricRatio
from services.logistics.domain.incoterms import (
    SEA_ONLY_INCOTERMS,
    Incoterm,
    InvalidQuoteRequest,
    check_locode,
    modes_for_incoterm,
    parse_incoterm,
)
from services.logistics.domain.pricing import booking_refusal, price_leg, quote
from services.logistics.domain.ratecards import (
    RateCard,
    Surcharge,
    SurchargeBasis,
    SurchargeKind,
    WeightBreak,
    current_cards,
)
from services.logistics.domain.tracking import (
    TRANSITIONS,
    Classifier,
    ShipmentAction,
    ShipmentStatus,
    TrackingCode,
    TrackingEvent,
    next_status,
    record_tracking,
)
from services.logistics.domain.weight import Parcel, chargeable_weight, check_parcels, round_up
from services.logistics.seed import SEED_RATE_CARDS
from shared.state_machine import InvalidTransition

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def card(mode: Mode = Mode.AIR, **changes: Any) -> RateCard:
    base = RateCard(
        card_id="T-1", version=1, carrier="Test Air", mode=mode, origin="RWKGL", destination="CNPVG",
        currency="USD",
        breaks=(WeightBreak(D(0), D("4.00")), WeightBreak(D(45), D("3.50")), WeightBreak(D(100), D("3.00"))),
        minimum_charge=D("75.00"), transit_days=4, valid_from=date(2026, 1, 1), valid_to=date(2026, 12, 31),
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


def box(count: int = 1, kg: str = "10", dims: tuple[str, str, str] = ("10", "10", "10")) -> Parcel:
    return Parcel(count, D(kg), D(dims[0]), D(dims[1]), D(dims[2]))


# --- chargeable weight: DOMAIN.md worked examples -----------------------------------------------


def test_air_volumetric_beats_actual_and_rounds_up_14_625_to_15() -> None:
    # 65 × 45 × 30 cm = 87,750 cm³ / 6000 = 14.625 kg volumetric > 10 kg actual → 15 kg chargeable
    w = chargeable_weight([box(kg="10", dims=("65", "45", "30"))], card())
    assert (w.actual_kg, w.volumetric_kg, w.chargeable_kg) == (D(10), D("14.625"), D("15.0"))


def test_air_actual_beats_volumetric_and_rounds_to_the_next_half_kg() -> None:
    w = chargeable_weight([box(kg="20.1", dims=("10", "10", "10"))], card())
    assert w.chargeable_kg == D("20.5")


def test_courier_divisor_5000() -> None:
    w = chargeable_weight([box(kg="1", dims=("50", "40", "30"))], card(Mode.COURIER))
    assert (w.volumetric_kg, w.chargeable_kg) == (D(12), D(12))


def test_sea_w_m_one_cbm_is_1000_kg_with_a_1_w_m_minimum() -> None:
    # 2 CBM of light goods weighing 800 kg → 2 W/M = 2,000 kg chargeable
    w = chargeable_weight([box(2, "400", ("100", "100", "100"))], card(Mode.SEA))
    assert (w.volumetric_kg, w.chargeable_kg) == (D(2000), D(2000))
    # dense 1.5 t in 0.5 CBM → weight wins
    assert chargeable_weight([box(1, "1500", ("100", "100", "50"))], card(Mode.SEA)).chargeable_kg == 1500
    # tiny consignment → the 1 W/M floor
    assert chargeable_weight([box(1, "5")], card(Mode.SEA)).chargeable_kg == 1000


def test_road_one_cubic_metre_is_333_kg() -> None:
    w = chargeable_weight([box(1, "100", ("100", "100", "100"))], card(Mode.ROAD, destination="KEMBA"))
    assert (w.volumetric_kg, w.chargeable_kg) == (D(333), D(333))


def test_chargeable_weight_sums_the_consignment_and_card_rounding_overrides_the_mode() -> None:
    w = chargeable_weight([box(3, "2.1"), box(2, "1.05")], card(rounding_step_kg=D(1)))
    assert (w.actual_kg, w.chargeable_kg) == (D("8.40"), D(9))


def test_a_cards_volumetric_ratio_overrides_the_modes() -> None:
    # 87,750 cm³ at 1:5000 = 17.55 kg → 18.0 (the mode's 1:6000 gives 15.0)
    ratio = VolumetricRatio(1, 5000)
    w = chargeable_weight([box(kg="10", dims=("65", "45", "30"))], card(volumetric=ratio))
    assert (w.volumetric_kg, w.chargeable_kg) == (D("17.55"), D("18.0"))
    with pytest.raises(ValueError, match="volumetric ratio"):
        card(volumetric=VolumetricRatio(1, 0))


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [("14.625", "0.5", "15"), ("14.2", "0.5", "14.5"), ("15", "0.5", "15"), ("0.01", "1", "1"), ("2", "1", "2")],
)
def test_round_up(value: str, step: str, expected: str) -> None:
    assert round_up(D(value), D(step)) == D(expected)


# --- pricing: minimum charge, breaks, surcharges, rounding --------------------------------------


def test_minimum_charge_applies_below_it() -> None:
    leg = price_leg(card(), [box(kg="5")], NOW)
    assert leg.charges[0].code == "freight"
    assert leg.charges[0].amount == D("75.00") and "minimum" in leg.charges[0].detail
    assert leg.total == D("75.00")


def test_weight_breaks_pick_the_highest_reached() -> None:
    assert price_leg(card(), [box(kg="44.5")], NOW).charges[0].amount == D("178.00")  # 44.5 × 4.00
    assert price_leg(card(), [box(kg="45")], NOW).charges[0].amount == D("157.50")  # 45 × 3.50
    assert price_leg(card(), [box(kg="100")], NOW).charges[0].amount == D("300.00")


def test_surcharges_itemised_included_ones_not_in_the_total_half_even_per_charge() -> None:
    surcharges = (
        Surcharge(SurchargeKind.FUEL, SurchargeBasis.PER_KG, D("0.85")),
        Surcharge(SurchargeKind.SECURITY, SurchargeBasis.PER_KG, D("0.15"), included=True),
        Surcharge(SurchargeKind.CAF, SurchargeBasis.PERCENT_OF_FREIGHT, D("2.5")),
        Surcharge(SurchargeKind.DOCUMENTATION, SurchargeBasis.PER_SHIPMENT, D("25")),
    )
    leg = price_leg(card(surcharges=surcharges), [box(kg="50.5")], NOW)
    got = {c.code: (c.amount, c.included) for c in leg.charges}
    assert got == {
        "freight": (D("176.75"), False),  # 50.5 × 3.50
        "fuel": (D("42.92"), False),  # 42.925 → 42.92 (half-even)
        "security": (D("7.58"), True),  # 7.575 → 7.58 (half-even), shown, not added
        "caf": (D("4.42"), False),  # 4.41875 → 4.42
        "documentation": (D("25.00"), False),
    }
    assert leg.total == D("176.75") + D("42.92") + D("4.42") + D("25.00")


def test_zero_decimal_currency_rounds_to_whole_francs() -> None:
    leg = price_leg(card(currency="RWF", minimum_charge=D(0)), [box(kg="10.5")], NOW)
    assert leg.charges[0].amount == D(42)  # 10.5 × 4.00 = 42


def test_quote_validity_is_the_mode_window_capped_by_the_card() -> None:
    assert price_leg(card(), [box()], NOW).valid_until == NOW + timedelta(hours=24)
    late = price_leg(card(Mode.SEA, valid_to=date(2026, 11, 25)), [box()], NOW)
    assert late.valid_until == datetime(2026, 11, 26, tzinfo=UTC)


# --- rate cards ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"breaks": ()},
        {"breaks": (WeightBreak(D(10), D(1)),)},
        {"breaks": (WeightBreak(D(0), D(1)), WeightBreak(D(0), D(2)))},
        {"minimum_charge": D(-1)},
        {"valid_to": date(2025, 1, 1)},
        {"version": 0},
        {"transit_days": 0},
        {"destination": "RWKGL"},
        {"currency": "XXX"},
        {"origin": "kigali"},
    ],
)
def test_inconsistent_rate_cards_are_refused(changes: dict[str, Any]) -> None:
    with pytest.raises((ValueError, InvalidQuoteRequest)):
        card(**changes)


def test_newest_valid_version_per_carrier_is_used_and_issued_quotes_keep_theirs() -> None:
    v1 = card()
    issued = price_leg(v1, [box(kg="50")], NOW)
    v2 = card(version=2, breaks=(WeightBreak(D(0), D("9.00")),))
    expired_v3 = card(version=3, valid_to=date(2026, 6, 30))
    other = card(card_id="T-2", carrier="Other Air")
    chosen = current_cards([v1, v2, expired_v3, other], Mode.AIR, "RWKGL", "CNPVG", NOW.date())
    assert [(c.carrier, c.version) for c in chosen] == [("Other Air", 1), ("Test Air", 2)]
    assert issued.card_version == 1 and issued.total == D("175.00")  # a frozen value: v2 changes nothing


# --- quotes over the seed ------------------------------------------------------------------------


def test_seed_quote_all_modes_kigali_to_shanghai() -> None:
    result = quote(
        SEED_RATE_CARDS, parcels=[box(3, "12.5", ("60", "40", "40"))], origin="RWKGL",
        destination="CNPVG", incoterm=Incoterm.FCA, now=NOW,
    )  # fmt: skip
    assert result.reason is None
    modes = [o.mode for o in result.options]
    assert modes == sorted(modes, key=list(Mode).index)
    assert set(modes) == {Mode.AIR, Mode.SEA, Mode.COURIER}
    sea = [o for o in result.options if o.mode is Mode.SEA]
    assert {o.via for o in sea} == {"KEMBA", "TZDAR"}
    for option in result.options:
        assert option.total == sum(leg.total for leg in option.legs)
        assert option.total == option.total.quantize(D("0.01"))
        assert option.valid_until > NOW
    for option in sea:
        road, ocean = option.legs
        assert (road.mode, road.origin, ocean.mode, ocean.destination) == (Mode.ROAD, "RWKGL", Mode.SEA, "CNPVG")
        assert option.transit_days == road.transit_days + ocean.transit_days + DEFAULT_CONFIG.limits.port_dwell_days
    air = next(o for o in result.options if o.mode is Mode.AIR)
    assert air.legs[0].weight.chargeable_kg == D(48)  # 3 × 96,000 cm³ / 6000 > 37.5 kg actual


def test_sea_only_incoterm_offers_sea_only() -> None:
    result = quote(
        SEED_RATE_CARDS, parcels=[box()], origin="RWKGL", destination="CNCAN", incoterm=Incoterm.FOB, now=NOW
    )
    assert result.options and {o.mode for o in result.options} == {Mode.SEA}


def test_road_to_the_port_is_its_own_lane() -> None:
    result = quote(
        SEED_RATE_CARDS, parcels=[box()], origin="RWKGL", destination="TZDAR", incoterm=Incoterm.DAP, now=NOW
    )
    assert [o.mode for o in result.options] == [Mode.ROAD]


def test_no_lane_is_an_empty_list_with_a_reason() -> None:
    result = quote(
        SEED_RATE_CARDS, parcels=[box()], origin="RWKGL", destination="USNYC", incoterm=Incoterm.DAP, now=NOW
    )
    assert result.options == () and result.reason is not None and "USNYC" in result.reason
    expired = quote(
        SEED_RATE_CARDS, parcels=[box()], origin="RWKGL", destination="CNPVG", incoterm=Incoterm.CIF,
        now=datetime(2030, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert expired.options == () and expired.reason is not None and "sea only" in expired.reason


def test_legs_in_two_currencies_are_skipped_without_an_fx_rate() -> None:
    road = card(Mode.ROAD, card_id="R", destination="KEMBA", currency="KES")
    sea = card(Mode.SEA, card_id="S", origin="KEMBA")
    result = quote([road, sea], parcels=[box()], origin="RWKGL", destination="CNPVG", incoterm=Incoterm.FOB, now=NOW)
    assert result.options == () and result.reason is not None
    assert len(result.skipped) == 1 and "KES" in result.skipped[0]


# --- Incoterms ---------------------------------------------------------------------------------


def test_all_eleven_incoterms_are_known_and_dat_is_not() -> None:
    assert {t.value for t in Incoterm} == {"EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"}
    for bad in ("DAT", "fob", "FOB ", "", "ＦＯＢ"):
        with pytest.raises(InvalidQuoteRequest):
            parse_incoterm(bad)


@pytest.mark.parametrize("incoterm", list(Incoterm))
@pytest.mark.parametrize("mode", list(Mode))
def test_incoterm_mode_matrix(incoterm: Incoterm, mode: Mode) -> None:
    if incoterm in SEA_ONLY_INCOTERMS and mode is not Mode.SEA:
        with pytest.raises(InvalidQuoteRequest):
            modes_for_incoterm(incoterm, mode)
    else:
        assert modes_for_incoterm(incoterm, mode) == (mode,)


def test_incoterm_without_a_mode() -> None:
    assert modes_for_incoterm(Incoterm.CIF) == (Mode.SEA,)
    assert modes_for_incoterm(Incoterm.DAP) == tuple(Mode)


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["RWKG", "RWKGLX", "rwkgl", "RW-KG", "RWKG1", "RWKG0", "RWKG٣", "RWKGL\x00"])
def test_bad_locodes(code: str) -> None:
    with pytest.raises(InvalidQuoteRequest):
        check_locode(code)


def test_good_locodes() -> None:
    for code in ("RWKGL", "CNPVG", "CNCAN", "KEMBA", "TZDAR", "DEHA2"):
        assert check_locode(code) == code


@pytest.mark.parametrize(
    ("parcels", "field"),
    [
        ([box(kg="-1")], "parcels.0.weight_kg"),
        ([box(kg="0")], "parcels.0.weight_kg"),
        ([box(kg="NaN")], "parcels.0.weight_kg"),
        ([box(dims=("0", "10", "10"))], "parcels.0.length_cm"),
        ([box(dims=("10", "10", "1e9"))], "parcels.0.height_cm"),
        ([box(10_000)], "parcels.0.count"),
        ([box(0)], "parcels.0.count"),
        ([box(600), box(600)], "parcels"),
        ([], "parcels"),
    ],
)
def test_bad_parcels_are_refused_naming_the_field(parcels: list[Parcel], field: str) -> None:
    with pytest.raises(InvalidQuoteRequest) as caught:
        check_parcels(parcels)
    assert field in {e["field"] for e in caught.value.errors or []}
    assert caught.value.status == 422


def test_quote_refuses_bad_input_before_computing() -> None:
    with pytest.raises(InvalidQuoteRequest):
        quote(
            SEED_RATE_CARDS, parcels=[box(10_000)], origin="RWKGL", destination="CNPVG", incoterm=Incoterm.DAP, now=NOW
        )
    with pytest.raises(InvalidQuoteRequest):
        quote(
            SEED_RATE_CARDS,
            parcels=[box()],
            origin="RWKGL",
            destination="CNPVG",
            incoterm=Incoterm.FOB,
            mode=Mode.AIR,
            now=NOW,
        )


# --- booking -----------------------------------------------------------------------------------


def test_expired_quote_cannot_book_and_weight_must_be_covered() -> None:
    until = NOW + timedelta(hours=1)
    assert booking_refusal(valid_until=until, quoted_actual_kg=D(50), order_weight_kg=D(50), now=NOW) is None
    expired = booking_refusal(valid_until=until, quoted_actual_kg=D(50), order_weight_kg=D(1), now=until)
    assert expired is not None and "expired" in expired
    heavy = booking_refusal(valid_until=until, quoted_actual_kg=D(50), order_weight_kg=D("50.001"), now=NOW)
    assert heavy is not None and "50.001" in heavy


# --- shipment state machine --------------------------------------------------------------------

S = ShipmentStatus
LIVE = [
    S.BOOKED,
    S.PICKED_UP,
    S.EXPORT_CLEARED,
    S.IN_TRANSIT,
    S.ARRIVED,
    S.IMPORT_CLEARED,
    S.OUT_FOR_DELIVERY,
    S.EXCEPTION,
]
STATUS_OF = {
    TrackingCode.BOOKED: S.BOOKED,
    TrackingCode.PICKED_UP: S.PICKED_UP,
    TrackingCode.EXPORT_CLEARED: S.EXPORT_CLEARED,
    TrackingCode.DEPARTED: S.IN_TRANSIT,
    TrackingCode.ARRIVED: S.ARRIVED,
    TrackingCode.IMPORT_CLEARED: S.IMPORT_CLEARED,
    TrackingCode.OUT_FOR_DELIVERY: S.OUT_FOR_DELIVERY,
    TrackingCode.DELIVERED: S.DELIVERED,
    TrackingCode.EXCEPTION: S.EXCEPTION,
}
EXPECTED: dict[tuple[ShipmentStatus, ShipmentAction | TrackingCode], ShipmentStatus] = {
    (S.PENDING, ShipmentAction.BOOK): S.BOOKED,
    (S.PENDING, ShipmentAction.FAIL_BOOKING): S.BOOKING_FAILED,
    **{(s, ShipmentAction.CANCEL): S.CANCELLED for s in (S.PENDING, S.BOOKED, S.PICKED_UP, S.EXPORT_CLEARED)},
    **{(s, code): STATUS_OF[code] for s in LIVE for code in TrackingCode},
}


def test_transitions_table_is_exactly_the_expected_one() -> None:
    assert TRANSITIONS == EXPECTED
    for (status, action), target in EXPECTED.items():
        assert next_status(status, action) is target


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (S.BOOKED, ShipmentAction.BOOK),
        (S.BOOKING_FAILED, ShipmentAction.BOOK),
        (S.BOOKING_FAILED, TrackingCode.DEPARTED),
        (S.IN_TRANSIT, ShipmentAction.CANCEL),
        (S.DELIVERED, ShipmentAction.CANCEL),
        (S.DELIVERED, TrackingCode.EXCEPTION),
        (S.CANCELLED, TrackingCode.PICKED_UP),
        (S.CANCELLED, ShipmentAction.CANCEL),
        (S.PENDING, TrackingCode.DEPARTED),
        (S.EXCEPTION, ShipmentAction.FAIL_BOOKING),
    ],
)
def test_illegal_transitions_are_refused(status: ShipmentStatus, action: ShipmentAction | TrackingCode) -> None:
    assert (status, action) not in TRANSITIONS
    with pytest.raises(InvalidTransition) as caught:
        next_status(status, action)
    assert caught.value.status == 409


def ev(
    code: TrackingCode, hour: int, classifier: Classifier = Classifier.ACTUAL, where: str = "RWKGL"
) -> TrackingEvent:
    return TrackingEvent(code, classifier, NOW + timedelta(hours=hour), where)


def test_tracking_follows_the_latest_actual_event_and_emits_dispatched_then_delivered_once() -> None:
    status: ShipmentStatus = S.BOOKED
    timeline: tuple[TrackingEvent, ...] = ()
    emitted: list[str] = []
    for event in [
        ev(TrackingCode.PICKED_UP, 1),
        ev(TrackingCode.ARRIVED, 40, Classifier.ESTIMATED, "CNPVG"),
        ev(TrackingCode.DEPARTED, 5),
        ev(TrackingCode.DEPARTED, 9, where="ETADD"),
        ev(TrackingCode.ARRIVED, 30, where="CNPVG"),
        ev(TrackingCode.DELIVERED, 50, where="CNPVG"),
    ]:
        out = record_tracking(status, timeline, event)
        status, timeline = out.status, out.timeline
        emitted += [name for name, flag in (("dispatched", out.dispatched), ("delivered", out.delivered)) if flag]
    assert status is S.DELIVERED and emitted == ["dispatched", "delivered"]
    assert [e.at for e in timeline] == sorted(e.at for e in timeline)


def test_estimated_events_do_not_move_the_status() -> None:
    out = record_tracking(S.BOOKED, (), ev(TrackingCode.DELIVERED, 99, Classifier.ESTIMATED))
    assert (out.status, out.delivered, out.dispatched) == (S.BOOKED, False, False)


def test_duplicates_are_ignored_even_after_delivery() -> None:
    first = record_tracking(S.BOOKED, (), ev(TrackingCode.DEPARTED, 2))
    again = record_tracking(first.status, first.timeline, ev(TrackingCode.DEPARTED, 2))
    assert again.duplicate and again.timeline == first.timeline and not again.dispatched
    done = record_tracking(first.status, first.timeline, ev(TrackingCode.DELIVERED, 9))
    assert record_tracking(done.status, done.timeline, ev(TrackingCode.DELIVERED, 9)).duplicate


def test_out_of_order_event_joins_the_timeline_without_moving_the_status() -> None:
    out = record_tracking(S.BOOKED, (), ev(TrackingCode.ARRIVED, 10))
    late = record_tracking(out.status, out.timeline, ev(TrackingCode.PICKED_UP, 1))
    assert late.status is S.ARRIVED
    assert [e.code for e in late.timeline] == [TrackingCode.PICKED_UP, TrackingCode.ARRIVED]


def test_late_departure_after_delivery_is_kept_but_not_dispatched_again() -> None:
    delivered = record_tracking(S.BOOKED, (), ev(TrackingCode.DELIVERED, 10))
    assert delivered.dispatched and delivered.delivered  # delivery without a departure implies dispatch
    late = record_tracking(delivered.status, delivered.timeline, ev(TrackingCode.DEPARTED, 2))
    assert late.status is S.DELIVERED and not late.dispatched and len(late.timeline) == 2


def test_an_actual_event_after_delivery_is_refused() -> None:
    delivered = record_tracking(S.BOOKED, (), ev(TrackingCode.DELIVERED, 10))
    with pytest.raises(InvalidTransition):
        record_tracking(delivered.status, delivered.timeline, ev(TrackingCode.EXCEPTION, 11))


@pytest.mark.parametrize("status", [S.PENDING, S.BOOKING_FAILED, S.CANCELLED])
def test_no_tracking_before_booking_or_after_cancellation(status: ShipmentStatus) -> None:
    with pytest.raises(InvalidTransition):
        record_tracking(status, (), ev(TrackingCode.PICKED_UP, 1))


def test_tracking_event_needs_a_locode_and_a_time_zone() -> None:
    with pytest.raises(InvalidQuoteRequest):
        TrackingEvent(TrackingCode.ARRIVED, Classifier.ACTUAL, NOW, "Kigali")
    with pytest.raises(InvalidQuoteRequest):
        TrackingEvent(TrackingCode.ARRIVED, Classifier.ACTUAL, datetime(2026, 1, 1), "RWKGL")  # noqa: DTZ001


def test_seed_cards_are_consistent() -> None:
    ids = [(c.card_id, c.version) for c in SEED_RATE_CARDS]
    assert len(ids) == len(set(ids))
    lanes = {(c.mode, c.origin, c.destination) for c in SEED_RATE_CARDS}
    for port in ("KEMBA", "TZDAR"):
        assert (Mode.ROAD, "RWKGL", port) in lanes
        for dest in ("CNPVG", "CNCAN"):
            assert (Mode.SEA, port, dest) in lanes
    for dest in ("CNPVG", "CNCAN"):
        assert (Mode.AIR, "RWKGL", dest) in lanes and (Mode.COURIER, "RWKGL", dest) in lanes
