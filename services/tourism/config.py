"""The figures the tourism rules depend on, in one typed place.

DOMAIN.md section 6 marks several of them [U] (uncertain or likely to change); the others are
sourced facts that RDB can still change (the gorilla quota was 56, then 80, now 96). None is a
constant in the code: phase 2 exposes `TourismFigures` through the service's settings, and the seed
(`seed.py`) builds its offers from an instance of it. Each field names its source; "assumption"
means DOMAIN.md gives no figure and we chose one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

__all__ = ["EAC_MEMBERS", "TourismFigures"]

#: ISO 3166-1 alpha-2 codes of the East African Community's partner states (Burundi, DR Congo,
#: Kenya, Rwanda, Somalia, South Sudan, Tanzania, Uganda; DR Congo joined in 2022, Somalia in 2024).
#: Membership changes, so the visitor-category check reads it from `TourismFigures`.
EAC_MEMBERS: frozenset[str] = frozenset({"BI", "CD", "KE", "RW", "SO", "SS", "TZ", "UG"})


@dataclass(frozen=True, slots=True)
class TourismFigures:
    # --- gorilla permits, Volcanoes NP ---------------------------------------------------------
    #: US$1,500 since May 2017 (chinagate 2017-05-07).
    gorilla_price_foreign_non_resident: Decimal = Decimal("1500")
    #: $500 foreign residents and African citizens [U] (iconicafricasafaris).
    gorilla_price_foreign_resident: Decimal = Decimal("500")
    #: $200 EAC citizens [U] (iconicafricasafaris).
    gorilla_price_eac_citizen: Decimal = Decimal("200")
    #: Assumption: Rwandans are EAC citizens, so at most the EAC price; DOMAIN.md gives no own figure.
    gorilla_price_rwandan: Decimal = Decimal("200")
    #: 12 habituated families x 8 visitors = 96 a day (gorillatrekk; RDB 8 per group per day).
    gorilla_groups: int = 12
    gorilla_visitors_per_group: int = 8
    #: Minimum age 15 [U].
    gorilla_minimum_age: int = 15
    # --- golden monkeys ------------------------------------------------------------------------
    #: 32 a day at $100 (gorillatrekk); no tiers reported, so one price for every category.
    golden_monkey_price: Decimal = Decimal("100")
    golden_monkey_daily_quota: int = 32
    #: Rescheduling fee 20% [U] (gorillatrekk).
    golden_monkey_reschedule_fee_percent: Decimal = Decimal("20")
    #: Assumption: the primate-trekking age limit applies to golden monkeys too.
    golden_monkey_minimum_age: int = 15
    # --- other parks ---------------------------------------------------------------------------
    #: Canopy walk about $60 for foreign non-residents [U] (nyungwenationalparkrwanda.com).
    nyungwe_canopy_walk_price: Decimal = Decimal("60")
    #: Assumption: a daily allocation for the store, not a park rule.
    nyungwe_canopy_walk_daily_capacity: int = 120
    #: Assumption: the age below which children do not walk the canopy.
    nyungwe_canopy_walk_minimum_age: int = 6
    #: About $50 per day for international visitors in 2020, increases announced (allafrica 2020-03-16).
    akagera_entry_price: Decimal = Decimal("50")
    #: Assumption: a daily allocation for the store.
    akagera_entry_daily_capacity: int = 400
    # --- permit rules (RDB) --------------------------------------------------------------------
    #: Advance bookings may be rescheduled only >= 30 days before the visit (RDB reschedule page).
    reschedule_min_days_before: int = 30
    #: Tourist names may change twice, up to 1 day before the visit (RDB May 2021 notice).
    name_changes_allowed: int = 2
    name_change_min_days_before: int = 1
    #: Older Rwanda rule: >= 30 days 80% refund, less than 30 days none [U] (gorillatrekk book-now).
    permit_refund_tiers: tuple[tuple[int, Decimal], ...] = ((30, Decimal("80")), (0, Decimal("0")))
    #: Assumption for lodges, flights and experiences: full refund >= 30 days, half >= 7, none after.
    standard_refund_tiers: tuple[tuple[int, Decimal], ...] = (
        (30, Decimal("100")),
        (7, Decimal("50")),
        (0, Decimal("0")),
    )
    # --- holds ---------------------------------------------------------------------------------
    #: Wix holds last 10 min, Bookeo defaults to 300 s with a 600 s maximum (DOMAIN.md section 6).
    hold_ttl: timedelta = timedelta(minutes=10)
    hold_ttl_max: timedelta = timedelta(minutes=30)
    # --- booking window (assumptions: bound every date we store) -------------------------------
    #: A visit must be at least this many days after today in Kigali (no same-day permits).
    min_days_ahead: int = 1
    #: ... and at most this many days ahead (RDB sells about two years out).
    max_days_ahead: int = 730
    eac_members: frozenset[str] = field(default=EAC_MEMBERS)

    @property
    def gorilla_daily_quota(self) -> int:
        return self.gorilla_groups * self.gorilla_visitors_per_group
