"""Tourism rules that need no database: offers, prices by visitor category, age, capacity, holds,
cancellation refunds, rescheduling and the booking state machine.

Every function is pure: the caller passes "now" and the facts it read, so the service layer (phase 2)
decides what to lock and store, and these rules are tested without a clock or a database.
Dates of visits are calendar days in Rwanda (CAT, UTC+2, no daylight saving): "days before the visit"
counts from today's date in Kigali, which is what a traveller and RDB mean by it.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from shared.errors import Conflict, UnprocessableContent
from shared.money import minor_units, quantize, to_minor
from shared.state_machine import InvalidTransition, StateMachine

from .config import TourismFigures

__all__ = [
    "KIGALI",
    "REFERENCE_ALPHABET",
    "TRANSITIONS",
    "Action",
    "BookingStatus",
    "CancellationPolicy",
    "CapacityRules",
    "Hold",
    "IllegalTransition",
    "LIFECYCLE",
    "InsufficientCapacity",
    "OfferKind",
    "OfferTerms",
    "PartyPrice",
    "PricingUnit",
    "RefundTier",
    "RescheduleRule",
    "Traveller",
    "VisitorCategory",
    "age_on",
    "capacity_on",
    "check_capacity",
    "check_confirmable",
    "check_minimum_age",
    "check_name_change",
    "check_party",
    "check_reschedule",
    "check_visit_date",
    "check_visitor_category",
    "days_before",
    "effective_status",
    "hold_expires_at",
    "hold_is_expired",
    "is_booking_reference",
    "kigali_today",
    "new_booking_reference",
    "next_status",
    "price_party",
    "refund",
    "remaining_capacity",
    "reschedule_fee_minor",
]

#: Central Africa Time; Rwanda keeps no daylight saving, so a fixed offset is exact.
KIGALI = timezone(timedelta(hours=2), "CAT")

_HUNDRED = Decimal(100)


class OfferKind(StrEnum):
    GORILLA_PERMIT = "gorilla_permit"
    GOLDEN_MONKEY_PERMIT = "golden_monkey_permit"
    PARK_ENTRY = "park_entry"
    HOTEL_ROOM = "hotel_room"
    EXPERIENCE = "experience"
    FLIGHT = "flight"


class VisitorCategory(StrEnum):
    """RDB's price categories. African citizens pay the foreign-resident price (DOMAIN.md section 6),
    so they book as `foreign_resident`; there is no separate category for them."""

    FOREIGN_NON_RESIDENT = "foreign_non_resident"
    FOREIGN_RESIDENT = "foreign_resident"
    EAC_CITIZEN = "eac_citizen"
    RWANDAN = "rwandan"


class PricingUnit(StrEnum):
    """What one unit of `quantity` is: a person (permits, entries, seats) or a room for a night."""

    PER_PERSON = "per_person"
    PER_ROOM = "per_room"


# --- errors ----------------------------------------------------------------------------------------


#: The booking is not in a state the action may start from: the kit's 409 (naming the current state).
IllegalTransition = InvalidTransition


class InsufficientCapacity(Conflict):
    """The date has fewer places left than asked (409), or is closed."""


# --- travellers and visitor categories -------------------------------------------------------------

_COUNTRY = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class Traveller:
    name: str
    #: ISO 3166-1 alpha-2, ASCII upper case.
    nationality: str
    category: VisitorCategory
    date_of_birth: date


def check_visitor_category(traveller: Traveller, figures: TourismFigures, *, index: int = 0) -> None:
    """Refuse a category the nationality cannot claim.

    `rwandan` needs Rwandan nationality and `eac_citizen` an EAC partner state's. `foreign_resident`
    (residents and African citizens) rests on a residence permit checked at the park gate, so any
    nationality may claim it here; `foreign_non_resident` is open to all. A Rwandan may book at a
    dearer tier (e.g. as an EAC citizen): the rule only stops under-paying.
    """
    if _COUNTRY.fullmatch(traveller.nationality) is None:
        raise UnprocessableContent(
            f"travellers[{index}].nationality must be an ISO 3166-1 alpha-2 code such as RW.",
            errors=[{"field": f"travellers[{index}].nationality", "reason": "not an ISO 3166-1 alpha-2 code"}],
        )
    if traveller.category is VisitorCategory.RWANDAN:
        allowed = traveller.nationality == "RW"
    elif traveller.category is VisitorCategory.EAC_CITIZEN:
        allowed = traveller.nationality in figures.eac_members
    else:
        allowed = True
    if not allowed:
        reason = f"a {traveller.nationality} national cannot book as {traveller.category.value}"
        raise UnprocessableContent(
            f"travellers[{index}].category: {reason}.",
            errors=[{"field": f"travellers[{index}].category", "reason": reason}],
        )


def age_on(date_of_birth: date, day: date) -> int:
    """Whole years of age on `day`. Someone born on 29 February turns a year older on 1 March in a
    common year (the comparison of (month, day) pairs does that without special cases)."""
    years = day.year - date_of_birth.year
    if (day.month, day.day) < (date_of_birth.month, date_of_birth.day):
        years -= 1
    return years


def check_minimum_age(travellers: Sequence[Traveller], minimum_age: int | None, visit_date: date) -> None:
    """Every traveller must have reached `minimum_age` on the visit date (not on the booking date)."""
    for index, traveller in enumerate(travellers):
        if traveller.date_of_birth > visit_date:
            reason = "date of birth is after the visit date"
        elif minimum_age is not None and age_on(traveller.date_of_birth, visit_date) < minimum_age:
            reason = f"must be at least {minimum_age} years old on {visit_date.isoformat()}"
        else:
            continue
        raise UnprocessableContent(
            f"travellers[{index}].date_of_birth: {reason}.",
            errors=[{"field": f"travellers[{index}].date_of_birth", "reason": reason}],
        )


# --- offer terms -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RefundTier:
    """Cancelling at least `min_days_before` days before the visit refunds `refund_percent` of the paid amount."""

    min_days_before: int
    refund_percent: Decimal


@dataclass(frozen=True, slots=True)
class CancellationPolicy:
    """Tiers of (days before visit -> refund %), stored as data per offer (DOMAIN.md section 6).

    Valid only when the tiers cover every day from 0 up (one tier starts at 0), no two tiers start on
    the same day, and a later cancellation never refunds more than an earlier one.
    """

    tiers: tuple[RefundTier, ...]

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.tiers, key=lambda t: t.min_days_before, reverse=True))
        starts = [t.min_days_before for t in ordered]
        if not ordered or starts[-1] != 0:
            raise ValueError("a cancellation policy needs a tier starting at 0 days")
        if len(set(starts)) != len(starts) or min(starts) < 0:
            raise ValueError("tier start days must be distinct and not negative")
        percents = [t.refund_percent for t in ordered]
        if any(not Decimal(0) <= p <= _HUNDRED for p in percents):
            raise ValueError("refund percentages must lie between 0 and 100")
        if any(later > earlier for earlier, later in zip(percents, percents[1:], strict=False)):
            raise ValueError("a later cancellation cannot refund more than an earlier one")
        object.__setattr__(self, "tiers", ordered)

    @classmethod
    def of(cls, pairs: Iterable[tuple[int, Decimal]]) -> CancellationPolicy:
        return cls(tuple(RefundTier(days, percent) for days, percent in pairs))

    def refund_percent(self, days_before_visit: int) -> Decimal:
        """The percentage refunded when cancelling `days_before_visit` days ahead (0 on or after the day)."""
        days = max(days_before_visit, 0)
        return next(t.refund_percent for t in self.tiers if days >= t.min_days_before)


@dataclass(frozen=True, slots=True)
class RescheduleRule:
    """A confirmed booking may move to another date only `min_days_before` days or more before the
    visit (RDB: >= 30), for a fee of `fee_percent` of the paid amount (golden monkeys: 20% [U])."""

    min_days_before: int
    fee_percent: Decimal = Decimal(0)


@dataclass(frozen=True, slots=True)
class CapacityRules:
    """Places per date: `default` unless `overrides` names the date; a closed date has none.

    The gorilla quota must be configurable per date (earlier sources say 56 or 80, now 96), hence overrides.
    """

    default: int
    overrides: Mapping[date, int] = field(default_factory=dict)
    closures: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class OfferTerms:
    """What the rules need to know about an offer; phase 2 persists these per offer."""

    kind: OfferKind
    currency: str
    unit: PricingUnit
    #: Price of one unit per visitor category; a category missing here cannot book the offer.
    prices: Mapping[VisitorCategory, Decimal]
    minimum_age: int | None
    cancellation: CancellationPolicy
    reschedule: RescheduleRule | None
    capacity: CapacityRules
    max_quantity: int
    #: Guests a room sleeps (PER_ROOM only).
    room_occupancy: int = 1
    hold_ttl: timedelta = timedelta(minutes=10)

    def __post_init__(self) -> None:
        minor_units(self.currency)  # ValueError for a code that cannot price goods
        for category, price in self.prices.items():
            if price < 0 or quantize(price, self.currency) != price:
                raise ValueError(f"{category.value} price {price} is not a {self.currency} amount")
        if self.max_quantity < 1 or self.room_occupancy < 1 or self.capacity.default < 0:
            raise ValueError("max quantity, room occupancy and capacity must be positive")


# --- party pricing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PartyPrice:
    currency: str
    #: One line per unit: the traveller's price (per person) or the room's price (per room).
    unit_prices: tuple[Decimal, ...]
    total: Decimal

    @property
    def total_minor(self) -> int:
        return to_minor(self.total, self.currency)


def check_party(terms: OfferTerms, quantity: int, travellers: Sequence[Traveller]) -> None:
    """Quantity within 1..max_quantity; per person, one traveller per unit; per room, at least one
    guest per room and no more than the rooms sleep."""
    if not 1 <= quantity <= terms.max_quantity:
        reason = f"must be between 1 and {terms.max_quantity}"
        raise UnprocessableContent(f"quantity {reason}.", errors=[{"field": "quantity", "reason": reason}])
    if terms.unit is PricingUnit.PER_PERSON:
        ok, reason = len(travellers) == quantity, f"must list exactly {quantity} traveller(s), one per place"
    else:
        most = quantity * terms.room_occupancy
        ok, reason = quantity <= len(travellers) <= most, f"must list between {quantity} and {most} guests"
    if not ok:
        raise UnprocessableContent(f"travellers {reason}.", errors=[{"field": "travellers", "reason": reason}])


def price_party(terms: OfferTerms, quantity: int, categories: Sequence[VisitorCategory]) -> PartyPrice:
    """The party's price: per person, each traveller at their category's price; per room, every room
    at the lead guest's (first traveller's) category, as lodges quote resident and non-resident rates
    per room. Lines are rounded half-even to the currency's minor units, then summed."""
    if not categories:
        raise UnprocessableContent("travellers must not be empty.", errors=[{"field": "travellers", "reason": "empty"}])
    charged = list(categories) if terms.unit is PricingUnit.PER_PERSON else [categories[0]] * quantity
    lines: list[Decimal] = []
    for index, category in enumerate(charged):
        price = terms.prices.get(category)
        if price is None:
            reason = f"{terms.kind.value} is not sold to {category.value} visitors"
            raise UnprocessableContent(
                f"travellers[{index}].category: {reason}.",
                errors=[{"field": f"travellers[{index}].category", "reason": reason}],
            )
        lines.append(quantize(price, terms.currency))
    return PartyPrice(terms.currency, tuple(lines), quantize(sum(lines, Decimal(0)), terms.currency))


# --- dates -----------------------------------------------------------------------------------------


def kigali_today(now: datetime) -> date:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(KIGALI).date()


def days_before(visit_date: date, now: datetime) -> int:
    """Whole calendar days from today in Kigali to the visit (0 on the day, negative after it)."""
    return (visit_date - kigali_today(now)).days


def check_visit_date(visit_date: date, now: datetime, figures: TourismFigures, *, name: str = "date") -> None:
    """A visit date lies between `min_days_ahead` and `max_days_ahead` days after today in Kigali."""
    ahead = days_before(visit_date, now)
    if not figures.min_days_ahead <= ahead <= figures.max_days_ahead:
        reason = f"must be between {figures.min_days_ahead} and {figures.max_days_ahead} days after today in Kigali"
        raise UnprocessableContent(f"{name} {reason}.", errors=[{"field": name, "reason": reason}])


# --- capacity --------------------------------------------------------------------------------------


def capacity_on(rules: CapacityRules, day: date) -> int:
    if day in rules.closures:
        return 0
    return rules.overrides.get(day, rules.default)


@dataclass(frozen=True, slots=True)
class Hold:
    quantity: int
    expires_at: datetime


def hold_expires_at(created_at: datetime, ttl: timedelta) -> datetime:
    return created_at + ttl


def hold_is_expired(expires_at: datetime, now: datetime) -> bool:
    """A hold is expired from its `expires_at` instant on (so a confirm at exactly that instant is late)."""
    return now >= expires_at


def remaining_capacity(capacity: int, confirmed: int, holds: Iterable[Hold], now: datetime) -> int:
    """capacity - confirmed - unexpired holds, never below 0 (an override may lower a date below what
    is already sold). Expired holds count for nothing, whether or not the sweeper has run."""
    held = sum(h.quantity for h in holds if not hold_is_expired(h.expires_at, now))
    return max(capacity - confirmed - held, 0)


def check_capacity(remaining: int, quantity: int, day: date) -> None:
    if quantity > remaining:
        raise InsufficientCapacity(
            f"Only {remaining} place(s) left on {day.isoformat()}; {quantity} asked.",
            remaining=remaining,
        )


# --- booking state machine -------------------------------------------------------------------------


class BookingStatus(StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    EXPIRED = "expired"
    #: The traveller released the hold before paying.
    CANCELLED_HOLD = "cancelled_hold"
    CANCELLED = "cancelled"
    #: RDB: "a no-show means the permit has expired"; recorded by ops after the visit date.
    NO_SHOW = "no_show"


class Action(StrEnum):
    CONFIRM = "confirm"
    EXPIRE = "expire"
    RELEASE = "release"
    CANCEL = "cancel"
    #: Moves a confirmed booking to another date; it stays confirmed.
    RESCHEDULE = "reschedule"
    RECORD_NO_SHOW = "record_no_show"


LIFECYCLE: StateMachine[Action, BookingStatus] = StateMachine.from_table(
    "booking",
    {
        (BookingStatus.HELD, Action.CONFIRM): BookingStatus.CONFIRMED,
        (BookingStatus.HELD, Action.EXPIRE): BookingStatus.EXPIRED,
        (BookingStatus.HELD, Action.RELEASE): BookingStatus.CANCELLED_HOLD,
        (BookingStatus.CONFIRMED, Action.CANCEL): BookingStatus.CANCELLED,
        (BookingStatus.CONFIRMED, Action.RESCHEDULE): BookingStatus.CONFIRMED,
        (BookingStatus.CONFIRMED, Action.RECORD_NO_SHOW): BookingStatus.NO_SHOW,
    },
    refusal="Cannot {action} a booking that is {current}; it must be {allowed}.",
)
#: The same moves as `(status, action) -> status`, read from the machine.
TRANSITIONS: Mapping[tuple[BookingStatus, Action], BookingStatus] = LIFECYCLE.table()


def next_status(current: BookingStatus, action: Action) -> BookingStatus:
    return LIFECYCLE.next(current, action)


def effective_status(status: BookingStatus, expires_at: datetime | None, now: datetime) -> BookingStatus:
    """A hold past its expiry is expired, even before the sweeper has written it so."""
    if status is BookingStatus.HELD and expires_at is not None and hold_is_expired(expires_at, now):
        return BookingStatus.EXPIRED
    return status


def check_confirmable(status: BookingStatus, expires_at: datetime | None, now: datetime) -> None:
    """Confirming needs a hold that has not expired; after expiry it is a 409 and nothing is confirmed."""
    next_status(effective_status(status, expires_at, now), Action.CONFIRM)


# --- cancellation, rescheduling and name changes ---------------------------------------------------


def refund(policy: CancellationPolicy, paid_minor: int, currency: str, visit_date: date, now: datetime) -> int:
    """Refund in minor units for a cancellation at `now`: the tier's percentage of what was paid,
    rounded half-even to a whole minor unit (a whole franc for RWF, a cent for USD)."""
    minor_units(currency)  # ValueError for an unknown currency, before any money is computed
    percent = policy.refund_percent(days_before(visit_date, now))
    return int((Decimal(paid_minor) * percent / _HUNDRED).to_integral_value(rounding=ROUND_HALF_EVEN))


def check_reschedule(rule: RescheduleRule | None, visit_date: date, now: datetime) -> None:
    if rule is None:
        raise Conflict("This offer cannot be rescheduled.")
    ahead = days_before(visit_date, now)
    if ahead < rule.min_days_before:
        raise Conflict(
            f"A booking can be rescheduled only {rule.min_days_before} or more days before the visit; "
            f"it is {ahead} day(s) away.",
            days_before=ahead,
        )


def reschedule_fee_minor(rule: RescheduleRule, paid_minor: int) -> int:
    return int((Decimal(paid_minor) * rule.fee_percent / _HUNDRED).to_integral_value(rounding=ROUND_HALF_EVEN))


def check_name_change(changes_so_far: int, visit_date: date, now: datetime, figures: TourismFigures) -> None:
    """RDB: tourist names may change twice, up to 1 day before the visit."""
    if changes_so_far >= figures.name_changes_allowed:
        raise Conflict(f"Traveller names may change at most {figures.name_changes_allowed} times.")
    if days_before(visit_date, now) < figures.name_change_min_days_before:
        raise Conflict(
            f"Traveller names may change only up to {figures.name_change_min_days_before} day(s) before the visit."
        )


# --- booking references ----------------------------------------------------------------------------

#: Digits and capitals without 0/O, 1/I/L and U (read aloud over a phone line or copied from paper).
REFERENCE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"
_REFERENCE = re.compile(rf"RW-[{REFERENCE_ALPHABET}]{{5}}-[{REFERENCE_ALPHABET}]{{5}}")


def new_booking_reference() -> str:
    """`RW-XXXXX-XXXXX`: 30^10 (about 5.9e14) values, so a unique index rarely needs a retry."""
    chars = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(10))
    return f"RW-{chars[:5]}-{chars[5:]}"


def is_booking_reference(text: str) -> bool:
    return _REFERENCE.fullmatch(text) is not None
