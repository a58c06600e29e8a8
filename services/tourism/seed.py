"""The Rwanda Tourism Store's starting offers, as typed data built from `TourismFigures`.

Prices and quotas come from DOMAIN.md section 6 through the figures (so a settings change re-prices
the seed); the lodges and the flight are not in DOMAIN.md, so their names, rates and allocations are
plausible assumptions, marked as such. One lodge is priced in RWF so the zero-decimal path is seeded.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from .config import TourismFigures
from .domain import (
    CancellationPolicy,
    CapacityRules,
    OfferKind,
    OfferTerms,
    PricingUnit,
    RescheduleRule,
    VisitorCategory,
)

__all__ = ["SeedOffer", "seed_offers"]

FNR = VisitorCategory.FOREIGN_NON_RESIDENT
FR = VisitorCategory.FOREIGN_RESIDENT
EAC = VisitorCategory.EAC_CITIZEN
RW = VisitorCategory.RWANDAN


@dataclass(frozen=True, slots=True)
class SeedOffer:
    #: Stable id, so re-seeding updates rather than duplicates.
    offer_id: str
    name: str
    #: Park, lodge or route, as a traveller searches for it.
    place: str
    terms: OfferTerms


def _flat(price: Decimal) -> dict[VisitorCategory, Decimal]:
    """One price for every category (DOMAIN.md reports no tiers for this offer)."""
    return dict.fromkeys(VisitorCategory, price)


def seed_offers(figures: TourismFigures | None = None) -> tuple[SeedOffer, ...]:
    f = figures or TourismFigures()
    permit_policy = CancellationPolicy.of(f.permit_refund_tiers)
    standard_policy = CancellationPolicy.of(f.standard_refund_tiers)
    rdb_reschedule = RescheduleRule(f.reschedule_min_days_before)
    return (
        SeedOffer(
            "gorilla-volcanoes",
            "Mountain gorilla trekking permit",
            "Volcanoes National Park",
            OfferTerms(
                kind=OfferKind.GORILLA_PERMIT,
                currency="USD",
                unit=PricingUnit.PER_PERSON,
                prices={
                    FNR: f.gorilla_price_foreign_non_resident,
                    FR: f.gorilla_price_foreign_resident,
                    EAC: f.gorilla_price_eac_citizen,
                    RW: f.gorilla_price_rwandan,
                },
                minimum_age=f.gorilla_minimum_age,
                cancellation=permit_policy,
                reschedule=rdb_reschedule,
                capacity=CapacityRules(default=f.gorilla_daily_quota),
                # One habituated family takes at most 8 visitors a day.
                max_quantity=f.gorilla_visitors_per_group,
                hold_ttl=f.hold_ttl,
            ),
        ),
        SeedOffer(
            "golden-monkey-volcanoes",
            "Golden monkey trekking permit",
            "Volcanoes National Park",
            OfferTerms(
                kind=OfferKind.GOLDEN_MONKEY_PERMIT,
                currency="USD",
                unit=PricingUnit.PER_PERSON,
                prices=_flat(f.golden_monkey_price),
                minimum_age=f.golden_monkey_minimum_age,
                cancellation=permit_policy,
                reschedule=RescheduleRule(f.reschedule_min_days_before, f.golden_monkey_reschedule_fee_percent),
                capacity=CapacityRules(default=f.golden_monkey_daily_quota),
                max_quantity=8,  # assumption: one trekking group
                hold_ttl=f.hold_ttl,
            ),
        ),
        SeedOffer(
            "nyungwe-canopy-walk",
            "Canopy walkway",
            "Nyungwe National Park",
            OfferTerms(
                kind=OfferKind.EXPERIENCE,
                currency="USD",
                unit=PricingUnit.PER_PERSON,
                prices=_flat(f.nyungwe_canopy_walk_price),
                minimum_age=f.nyungwe_canopy_walk_minimum_age,
                cancellation=standard_policy,
                reschedule=RescheduleRule(2),  # assumption: an activity moves up to 2 days ahead
                capacity=CapacityRules(default=f.nyungwe_canopy_walk_daily_capacity),
                max_quantity=20,
                hold_ttl=f.hold_ttl,
            ),
        ),
        SeedOffer(
            "akagera-entry",
            "Park entry (one day)",
            "Akagera National Park",
            OfferTerms(
                kind=OfferKind.PARK_ENTRY,
                currency="USD",
                unit=PricingUnit.PER_PERSON,
                prices=_flat(f.akagera_entry_price),
                minimum_age=None,
                cancellation=standard_policy,
                reschedule=RescheduleRule(2),  # assumption
                capacity=CapacityRules(default=f.akagera_entry_daily_capacity),
                max_quantity=20,
                hold_ttl=f.hold_ttl,
            ),
        ),
        SeedOffer(
            "lodge-musanze-double",
            "Virunga foothills lodge, double room (one night)",  # assumption: a typical mid-range lodge
            "Musanze",
            OfferTerms(
                kind=OfferKind.HOTEL_ROOM,
                currency="USD",
                unit=PricingUnit.PER_ROOM,
                prices={FNR: Decimal("320"), FR: Decimal("240"), EAC: Decimal("180"), RW: Decimal("180")},
                minimum_age=None,
                cancellation=standard_policy,
                reschedule=RescheduleRule(7),
                capacity=CapacityRules(default=12),
                max_quantity=4,
                room_occupancy=2,
                hold_ttl=f.hold_ttl,
            ),
        ),
        SeedOffer(
            "lodge-kivu-twin",
            "Lake Kivu lodge, twin room (one night)",  # assumption; priced in RWF, a zero-decimal currency
            "Rubavu",
            OfferTerms(
                kind=OfferKind.HOTEL_ROOM,
                currency="RWF",
                unit=PricingUnit.PER_ROOM,
                prices={FNR: Decimal("150000"), FR: Decimal("110000"), EAC: Decimal("90000"), RW: Decimal("85000")},
                minimum_age=None,
                cancellation=standard_policy,
                reschedule=RescheduleRule(7),
                capacity=CapacityRules(default=20),
                max_quantity=4,
                room_occupancy=2,
                hold_ttl=f.hold_ttl,
            ),
        ),
        SeedOffer(
            "flight-kgl-pvg",
            "Flight Kigali (KGL) to Shanghai Pudong (PVG), economy seat",  # assumption: fare and allocation
            "KGL-PVG",
            OfferTerms(
                kind=OfferKind.FLIGHT,
                currency="USD",
                unit=PricingUnit.PER_PERSON,
                prices=_flat(Decimal("980.00")),
                minimum_age=None,
                cancellation=standard_policy,
                reschedule=None,  # a ticket change is a new booking
                capacity=CapacityRules(default=30),
                max_quantity=9,  # airlines book at most 9 passengers per PNR
                # A seat's ticketing time limit is short: the price guarantee is separate (DOMAIN.md).
                hold_ttl=min(f.hold_ttl, timedelta(minutes=10)),
            ),
        ),
    )
