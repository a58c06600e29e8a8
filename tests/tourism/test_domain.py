"""Tourism rules that need no database, with DOMAIN.md section 6's worked examples."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from services.tourism.config import TourismFigures
from services.tourism.domain import (
    REFERENCE_ALPHABET,
    TRANSITIONS,
    Action,
    BookingStatus,
    CancellationPolicy,
    CapacityRules,
    Hold,
    IllegalTransition,
    InsufficientCapacity,
    OfferKind,
    OfferTerms,
    PricingUnit,
    RescheduleRule,
    Traveller,
    VisitorCategory,
    age_on,
    capacity_on,
    check_capacity,
    check_confirmable,
    check_minimum_age,
    check_name_change,
    check_party,
    check_reschedule,
    check_visit_date,
    check_visitor_category,
    days_before,
    effective_status,
    hold_expires_at,
    hold_is_expired,
    is_booking_reference,
    kigali_today,
    new_booking_reference,
    next_status,
    price_party,
    refund,
    remaining_capacity,
    reschedule_fee_minor,
)
from services.tourism.seed import seed_offers
from shared.errors import Conflict, UnprocessableContent

FIGURES = TourismFigures()
OFFERS = {offer.offer_id: offer for offer in seed_offers()}
GORILLA = OFFERS["gorilla-volcanoes"].terms
GOLDEN = OFFERS["golden-monkey-volcanoes"].terms
KIVU = OFFERS["lodge-kivu-twin"].terms
MUSANZE = OFFERS["lodge-musanze-double"].terms

FNR = VisitorCategory.FOREIGN_NON_RESIDENT
FR = VisitorCategory.FOREIGN_RESIDENT
EAC = VisitorCategory.EAC_CITIZEN
RW = VisitorCategory.RWANDAN

#: 09:00 in Kigali on 1 March 2026.
NOW = datetime(2026, 3, 1, 7, 0, tzinfo=UTC)
TODAY = date(2026, 3, 1)


def traveller(category: VisitorCategory = FNR, *, nationality: str = "US", born: date = date(1990, 5, 17)) -> Traveller:
    return Traveller(name="A Visitor", nationality=nationality, category=category, date_of_birth=born)


# --- seed ------------------------------------------------------------------------------------------


def test_seed_holds_the_issue_s_realistic_set() -> None:
    kinds = [offer.terms.kind for offer in OFFERS.values()]
    assert len(OFFERS) == 7
    assert kinds.count(OfferKind.HOTEL_ROOM) == 2
    assert {OfferKind.GORILLA_PERMIT, OfferKind.GOLDEN_MONKEY_PERMIT, OfferKind.PARK_ENTRY, OfferKind.FLIGHT} <= set(
        kinds
    )
    assert OFFERS["nyungwe-canopy-walk"].place == "Nyungwe National Park"
    assert OFFERS["akagera-entry"].place == "Akagera National Park"
    assert OFFERS["flight-kgl-pvg"].terms.kind is OfferKind.FLIGHT


def test_seed_gorilla_permits_are_96_a_day_in_usd_with_the_reported_tiers() -> None:
    assert capacity_on(GORILLA.capacity, TODAY) == 96 == 12 * 8
    assert GORILLA.currency == "USD"
    assert GORILLA.prices == {FNR: Decimal(1500), FR: Decimal(500), EAC: Decimal(200), RW: Decimal(200)}
    assert GORILLA.minimum_age == 15
    assert GORILLA.max_quantity == 8
    assert GORILLA.reschedule == RescheduleRule(30)


def test_seed_golden_monkeys_are_32_a_day_at_100_with_a_20_percent_reschedule_fee() -> None:
    assert capacity_on(GOLDEN.capacity, TODAY) == 32
    assert set(GOLDEN.prices.values()) == {Decimal(100)}
    assert GOLDEN.reschedule == RescheduleRule(30, Decimal(20))


def test_seed_follows_changed_figures() -> None:
    figures = TourismFigures(gorilla_groups=10, gorilla_price_foreign_non_resident=Decimal(750))
    gorilla = next(o for o in seed_offers(figures) if o.offer_id == "gorilla-volcanoes").terms
    assert capacity_on(gorilla.capacity, TODAY) == 80
    assert gorilla.prices[FNR] == Decimal(750)


def test_seed_offer_ids_are_unique_and_ascii() -> None:
    ids = [o.offer_id for o in seed_offers()]
    assert len(set(ids)) == len(ids)
    assert all(i.isascii() and len(i) <= 64 for i in ids)


# --- visitor categories ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("category", "nationality", "ok"),
    [
        (RW, "RW", True),
        (RW, "KE", False),
        (EAC, "KE", True),
        (EAC, "RW", True),  # a Rwandan may pay a dearer tier
        (EAC, "CD", True),
        (EAC, "NG", False),  # an African citizen, not an EAC one: foreign_resident
        (FR, "NG", True),
        (FR, "FR", True),  # a resident, permit checked at the gate
        (FNR, "CN", True),
        (FNR, "RW", True),
    ],
)
def test_visitor_category_must_fit_the_nationality(category: VisitorCategory, nationality: str, ok: bool) -> None:
    person = traveller(category, nationality=nationality)
    if ok:
        check_visitor_category(person, FIGURES)
    else:
        with pytest.raises(UnprocessableContent, match="category"):
            check_visitor_category(person, FIGURES, index=2)


@pytest.mark.parametrize("nationality", ["rw", "RWA", "R", "", "R\u0660", "ＲＷ"])
def test_nationality_must_be_an_ascii_alpha_2_code(nationality: str) -> None:
    with pytest.raises(UnprocessableContent, match="nationality"):
        check_visitor_category(traveller(nationality=nationality), FIGURES)


def test_unknown_visitor_category_is_refused_by_the_enum() -> None:
    with pytest.raises(ValueError, match="student"):
        VisitorCategory("student")


# --- age -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("born", "on", "age"),
    [
        (date(2011, 6, 1), date(2026, 5, 31), 14),
        (date(2011, 6, 1), date(2026, 6, 1), 15),
        (date(2008, 2, 29), date(2023, 2, 28), 14),  # leap-day birthday: a year older on 1 March
        (date(2008, 2, 29), date(2023, 3, 1), 15),
        (date(2008, 2, 29), date(2024, 2, 29), 16),
    ],
)
def test_age_on_counts_whole_years(born: date, on: date, age: int) -> None:
    assert age_on(born, on) == age


def test_a_12_year_old_cannot_hold_a_gorilla_permit() -> None:
    visit = date(2026, 4, 1)
    party = [traveller(), traveller(born=date(2013, 9, 1))]
    with pytest.raises(UnprocessableContent, match=r"travellers\[1\].date_of_birth") as caught:
        check_minimum_age(party, GORILLA.minimum_age, visit)
    assert caught.value.errors == [
        {"field": "travellers[1].date_of_birth", "reason": "must be at least 15 years old on 2026-04-01"}
    ]


def test_minimum_age_is_judged_on_the_visit_date_not_the_booking_date() -> None:
    # 14 when booking on 1 March 2026, 15 on the visit: allowed.
    check_minimum_age([traveller(born=date(2011, 3, 15))], 15, date(2026, 3, 15))
    with pytest.raises(UnprocessableContent):
        check_minimum_age([traveller(born=date(2011, 3, 16))], 15, date(2026, 3, 15))


def test_no_minimum_age_still_refuses_a_birth_after_the_visit() -> None:
    check_minimum_age([traveller(born=date(2026, 1, 1))], None, date(2026, 4, 1))
    with pytest.raises(UnprocessableContent, match="after the visit"):
        check_minimum_age([traveller(born=date(2026, 5, 1))], None, date(2026, 4, 1))


# --- party and price -------------------------------------------------------------------------------


def test_party_price_is_each_traveller_at_their_category() -> None:
    price = price_party(GORILLA, 4, [FNR, FNR, FR, EAC])
    assert price.unit_prices == (Decimal("1500.00"), Decimal("1500.00"), Decimal("500.00"), Decimal("200.00"))
    assert price.total == Decimal("3700.00")
    assert price.total_minor == 370_000
    assert price.currency == "USD"


def test_room_price_is_per_room_at_the_lead_guest_s_category() -> None:
    price = price_party(KIVU, 2, [RW, FNR, FNR])
    assert price.unit_prices == (Decimal(85000), Decimal(85000))
    assert price.total == Decimal(170000)
    assert price.total_minor == 170000  # RWF has no minor unit


def test_price_lines_round_half_even_to_minor_units() -> None:
    terms = OfferTerms(
        kind=OfferKind.EXPERIENCE,
        currency="USD",
        unit=PricingUnit.PER_PERSON,
        prices={FNR: Decimal("10.00")},
        minimum_age=None,
        cancellation=CancellationPolicy.of([(0, Decimal(0))]),
        reschedule=None,
        capacity=CapacityRules(10),
        max_quantity=5,
    )
    assert price_party(terms, 2, [FNR, FNR]).total == Decimal("20.00")
    with pytest.raises(ValueError, match="not a USD amount"):
        replace(terms, prices={FNR: Decimal("10.005")})
    with pytest.raises(ValueError, match="not a RWF amount"):
        replace(terms, currency="RWF", prices={FNR: Decimal("10.5")})
    with pytest.raises(ValueError, match="ISO 4217"):
        replace(terms, currency="XYZ")


def test_a_category_without_a_price_cannot_book() -> None:
    terms = replace(GORILLA, prices={FNR: Decimal(1500)})
    with pytest.raises(UnprocessableContent, match=r"travellers\[1\].category"):
        price_party(terms, 2, [FNR, RW])


@pytest.mark.parametrize(("quantity", "count"), [(0, 0), (9, 9), (-1, 0), (2, 1), (2, 3)])
def test_party_size_must_match_quantity_and_the_offer_s_bounds(quantity: int, count: int) -> None:
    with pytest.raises(UnprocessableContent):
        check_party(GORILLA, quantity, [traveller()] * count)


def test_party_bounds_accept_the_edges() -> None:
    check_party(GORILLA, 1, [traveller()])
    check_party(GORILLA, 8, [traveller()] * 8)
    check_party(MUSANZE, 2, [traveller()] * 2)
    check_party(MUSANZE, 2, [traveller()] * 4)
    with pytest.raises(UnprocessableContent, match="between 2 and 4 guests"):
        check_party(MUSANZE, 2, [traveller()] * 5)


# --- dates -----------------------------------------------------------------------------------------


def test_days_before_counts_kigali_calendar_days() -> None:
    late_evening_utc = datetime(2026, 2, 28, 22, 30, tzinfo=UTC)  # 00:30 on 1 March in Kigali
    assert kigali_today(late_evening_utc) == date(2026, 3, 1)
    assert days_before(date(2026, 3, 31), late_evening_utc) == 30
    assert days_before(date(2026, 3, 1), NOW) == 0
    assert days_before(date(2026, 2, 28), NOW) == -1
    with pytest.raises(ValueError, match="timezone-aware"):
        kigali_today(datetime(2026, 3, 1))  # naive on purpose


@pytest.mark.parametrize(("ahead", "ok"), [(-1, False), (0, False), (1, True), (730, True), (731, False)])
def test_visit_date_lies_within_the_booking_window(ahead: int, ok: bool) -> None:
    visit = TODAY + timedelta(days=ahead)
    if ok:
        check_visit_date(visit, NOW, FIGURES)
    else:
        with pytest.raises(UnprocessableContent, match="^date must be between 1 and 730"):
            check_visit_date(visit, NOW, FIGURES)


# --- capacity and holds ----------------------------------------------------------------------------


def test_capacity_per_date_is_default_override_or_closure() -> None:
    special, closed = date(2026, 6, 1), date(2026, 6, 2)
    rules = CapacityRules(default=96, overrides={special: 80, closed: 50}, closures=frozenset({closed}))
    assert capacity_on(rules, date(2026, 6, 3)) == 96
    assert capacity_on(rules, special) == 80
    assert capacity_on(rules, closed) == 0  # a closure wins over an override


def test_remaining_is_capacity_minus_confirmed_minus_unexpired_holds() -> None:
    holds = [
        Hold(3, NOW + timedelta(minutes=5)),
        Hold(4, NOW),  # expires at this very instant: no longer counts
        Hold(5, NOW - timedelta(minutes=1)),
    ]
    assert remaining_capacity(96, 80, holds, NOW) == 13
    assert remaining_capacity(96, 96, [], NOW) == 0
    assert remaining_capacity(80, 90, holds, NOW) == 0  # an override below what is sold never goes negative


def test_check_capacity_refuses_more_than_remains() -> None:
    check_capacity(8, 8, TODAY)
    with pytest.raises(InsufficientCapacity, match="Only 7 place") as caught:
        check_capacity(7, 8, TODAY)
    assert caught.value.status == 409
    assert caught.value.extra == {"remaining": 7}


def test_96_single_holds_fill_a_gorilla_date_and_the_97th_is_refused() -> None:
    holds: list[Hold] = []
    capacity = capacity_on(GORILLA.capacity, TODAY)
    for _ in range(96):
        check_capacity(remaining_capacity(capacity, 0, holds, NOW), 1, TODAY)
        holds.append(Hold(1, hold_expires_at(NOW, GORILLA.hold_ttl)))
    with pytest.raises(InsufficientCapacity):
        check_capacity(remaining_capacity(capacity, 0, holds, NOW), 1, TODAY)
    # Once the holds expire the places are back, before any sweeper runs.
    assert remaining_capacity(capacity, 0, holds, NOW + GORILLA.hold_ttl) == 96


def test_hold_expiry_is_inclusive_of_its_instant() -> None:
    expires = hold_expires_at(NOW, timedelta(minutes=10))
    assert expires == NOW + timedelta(minutes=10)
    assert not hold_is_expired(expires, expires - timedelta(microseconds=1))
    assert hold_is_expired(expires, expires)


# --- state machine ---------------------------------------------------------------------------------

LEGAL = [
    (BookingStatus.HELD, Action.CONFIRM, BookingStatus.CONFIRMED),
    (BookingStatus.HELD, Action.EXPIRE, BookingStatus.EXPIRED),
    (BookingStatus.HELD, Action.RELEASE, BookingStatus.CANCELLED_HOLD),
    (BookingStatus.CONFIRMED, Action.CANCEL, BookingStatus.CANCELLED),
    (BookingStatus.CONFIRMED, Action.RESCHEDULE, BookingStatus.CONFIRMED),
    (BookingStatus.CONFIRMED, Action.RECORD_NO_SHOW, BookingStatus.NO_SHOW),
]


@pytest.mark.parametrize(("current", "action", "target"), LEGAL)
def test_every_legal_transition(current: BookingStatus, action: Action, target: BookingStatus) -> None:
    assert next_status(current, action) is target


def test_the_table_holds_exactly_the_legal_transitions() -> None:
    assert {(c, a): t for c, a, t in LEGAL} == TRANSITIONS


ILLEGAL = [(c, a) for c, a in itertools.product(BookingStatus, Action) if (c, a) not in TRANSITIONS]


@pytest.mark.parametrize(("current", "action"), ILLEGAL)
def test_every_other_transition_is_a_conflict(current: BookingStatus, action: Action) -> None:
    with pytest.raises(IllegalTransition, match=f"Cannot {action.value} a booking that is {current.value}"):
        next_status(current, action)


def test_terminal_states_allow_nothing() -> None:
    terminal = {BookingStatus.EXPIRED, BookingStatus.CANCELLED_HOLD, BookingStatus.CANCELLED, BookingStatus.NO_SHOW}
    assert not [key for key in TRANSITIONS if key[0] in terminal]


def test_a_hold_past_expiry_is_expired_before_the_sweeper_runs() -> None:
    expires = NOW + timedelta(minutes=10)
    assert effective_status(BookingStatus.HELD, expires, NOW) is BookingStatus.HELD
    assert effective_status(BookingStatus.HELD, expires, expires) is BookingStatus.EXPIRED
    assert effective_status(BookingStatus.CONFIRMED, expires, expires) is BookingStatus.CONFIRMED


def test_confirm_before_expiry_only() -> None:
    expires = NOW + timedelta(minutes=10)
    check_confirmable(BookingStatus.HELD, expires, NOW)
    with pytest.raises(IllegalTransition, match="expired") as caught:
        check_confirmable(BookingStatus.HELD, expires, expires)
    assert caught.value.status == 409
    with pytest.raises(IllegalTransition):
        check_confirmable(BookingStatus.CONFIRMED, expires, NOW)


# --- cancellation ----------------------------------------------------------------------------------

UWA = CancellationPolicy.of([(0, Decimal(0)), (9, Decimal(25)), (46, Decimal(50)), (91, Decimal(75))])


@pytest.mark.parametrize(
    ("days", "percent"),
    [(0, 0), (8, 0), (9, 25), (45, 25), (46, 50), (90, 50), (91, 75), (400, 75), (-3, 0)],
)
def test_uganda_uwa_policy_from_domain_md(days: int, percent: int) -> None:
    """0-8 days none; 9-45 25%; 46-90 50%; >= 91 75%."""
    assert UWA.refund_percent(days) == Decimal(percent)


@pytest.mark.parametrize(("days", "refund_minor"), [(45, 120_000), (30, 120_000), (29, 0), (20, 0), (2, 0)])
def test_gorilla_permit_refund_at_45_20_and_2_days(days: int, refund_minor: int) -> None:
    """Older Rwanda rule [U]: >= 30 days 80% refund, less than 30 none; $1,500 paid."""
    visit = TODAY + timedelta(days=days)
    assert refund(GORILLA.cancellation, 150_000, "USD", visit, NOW) == refund_minor


@pytest.mark.parametrize(("days", "refund_minor"), [(45, 150_000), (20, 75_000), (2, 0)])
def test_standard_policy_refund_at_45_20_and_2_days(days: int, refund_minor: int) -> None:
    visit = TODAY + timedelta(days=days)
    assert refund(KIVU.cancellation, 150_000, "RWF", visit, NOW) == refund_minor


def test_refund_rounds_half_even_in_minor_units() -> None:
    half = CancellationPolicy.of([(0, Decimal(50))])
    visit = TODAY + timedelta(days=10)
    assert refund(half, 5, "USD", visit, NOW) == 2  # 2.5 cents -> 2
    assert refund(half, 7, "USD", visit, NOW) == 4  # 3.5 cents -> 4
    assert refund(half, 85_001, "RWF", visit, NOW) == 42_500  # 42,500.5 francs -> 42,500
    with pytest.raises(ValueError, match="ISO 4217"):
        refund(half, 5, "XYZ", visit, NOW)


@pytest.mark.parametrize(
    "pairs",
    [
        [],
        [(30, Decimal(80))],  # does not reach day 0
        [(0, Decimal(0)), (0, Decimal(10))],
        [(0, Decimal(0)), (-1, Decimal(0))],
        [(0, Decimal(101))],
        [(0, Decimal(-1))],
        [(0, Decimal(90)), (30, Decimal(50))],  # cancelling later would refund more
    ],
)
def test_malformed_policies_are_refused(pairs: list[tuple[int, Decimal]]) -> None:
    with pytest.raises(ValueError, match="tier|percent|refund"):
        CancellationPolicy.of(pairs)


def test_policy_tiers_are_kept_in_order_whatever_order_they_come_in() -> None:
    assert UWA.tiers[0].min_days_before == 91
    assert UWA.tiers[-1].min_days_before == 0


# --- reschedule and name changes -------------------------------------------------------------------


@pytest.mark.parametrize(("days", "ok"), [(30, True), (31, True), (29, False), (0, False)])
def test_permits_reschedule_only_30_or_more_days_before(days: int, ok: bool) -> None:
    visit = TODAY + timedelta(days=days)
    if ok:
        check_reschedule(GORILLA.reschedule, visit, NOW)
    else:
        with pytest.raises(Conflict, match="30 or more days") as caught:
            check_reschedule(GORILLA.reschedule, visit, NOW)
        assert caught.value.extra == {"days_before": days}


def test_an_offer_without_a_rule_cannot_be_rescheduled() -> None:
    with pytest.raises(Conflict, match="cannot be rescheduled"):
        check_reschedule(OFFERS["flight-kgl-pvg"].terms.reschedule, TODAY + timedelta(days=90), NOW)


def test_golden_monkey_reschedule_fee_is_20_percent() -> None:
    assert GOLDEN.reschedule is not None
    assert reschedule_fee_minor(GOLDEN.reschedule, 20_000) == 4_000
    assert reschedule_fee_minor(RescheduleRule(30, Decimal("12.5")), 20) == 2  # 2.5 -> 2, half-even
    assert reschedule_fee_minor(RescheduleRule(30), 20_000) == 0


def test_names_change_twice_up_to_one_day_before() -> None:
    visit = TODAY + timedelta(days=1)
    check_name_change(0, visit, NOW, FIGURES)
    check_name_change(1, visit, NOW, FIGURES)
    with pytest.raises(Conflict, match="at most 2 times"):
        check_name_change(2, visit, NOW, FIGURES)
    with pytest.raises(Conflict, match="1 day"):
        check_name_change(0, TODAY, NOW, FIGURES)


# --- booking references ----------------------------------------------------------------------------


def test_booking_references_use_an_unambiguous_ascii_alphabet() -> None:
    assert not set("01ILOU") & set(REFERENCE_ALPHABET)
    references = {new_booking_reference() for _ in range(200)}
    assert len(references) == 200
    for reference in references:
        assert is_booking_reference(reference), reference
        assert reference.isascii() and len(reference) == 14


@pytest.mark.parametrize(
    "text",
    ["", "RW-ABCDE-FGHJ", "RW-ABCDE-FGHJKM", "rw-abcde-fghjk", "RW-ABCDE-FGHJO", "RW-ABCDE-FGHJ1", "RW-ABCDE-FGHJK\n"],
)
def test_malformed_references_are_not_references(text: str) -> None:
    assert not is_booking_reference(text)
