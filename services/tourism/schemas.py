"""Request and response models of the tourism API, built from shared/types.py so bad input is a 422."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import BaseModel, Field

from services.tourism.domain import BookingStatus, OfferKind, PricingUnit, VisitorCategory
from shared.money import Money
from shared.types import (
    Amount,
    Bool,
    BoundedDate,
    Code,
    Country,
    Currency,
    DecimalAmount,
    IntRange,
    Line,
    Nullable,
    PatchModel,
    PositiveInt32,
    RequestModel,
    Text,
)

OfferId = Annotated[
    str,
    Code(
        r"^[a-z0-9][a-z0-9-]{0,63}$",
        description="A stable offer id: lower-case ASCII letters, digits and hyphens, at most 64.",
        examples=("gorilla-volcanoes",),
        max_length=64,
    ),
]
Name = Annotated[str, Line(200)]
Days = Annotated[int, IntRange(0, 3650)]
Percent = Annotated[Decimal, DecimalAmount(5, 2, ge=0)]
Capacity = Annotated[int, IntRange(0, 1_000_000)]
PaymentReference = Annotated[
    str,
    Code(
        r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$",
        description="The payment provider's reference: ASCII letters, digits and . _ : / -, at most 128.",
        examples=("pay_3MtwBwLkdIwHu7ix28a3tqPa",),
        max_length=128,
    ),
]


# --- offers ----------------------------------------------------------------------------------------


class RefundTierIn(RequestModel):
    min_days_before: Days
    refund_percent: Percent


class RescheduleIn(RequestModel):
    min_days_before: Days
    fee_percent: Percent = Decimal(0)


class OfferCreate(RequestModel):
    id: OfferId
    kind: OfferKind
    name: Name
    place: Name
    currency: Currency
    unit: PricingUnit = PricingUnit.PER_PERSON
    #: Price of one unit per visitor category, in `currency`; a category left out cannot book.
    prices: Annotated[dict[VisitorCategory, Amount], Field(min_length=1)]
    minimum_age: Annotated[int, IntRange(0, 120)] | None = None
    #: Tiers of (days before the visit -> refund %); one must start at 0 days.
    cancellation: Annotated[list[RefundTierIn], Field(min_length=1, max_length=10)]
    #: None: bookings of this offer cannot be rescheduled.
    reschedule: RescheduleIn | None = None
    default_capacity: Capacity
    max_quantity: Annotated[int, IntRange(1, 1000)]
    room_occupancy: Annotated[int, IntRange(1, 20)] = 1
    #: How long a hold lasts before it expires; the service's default when absent.
    hold_ttl_s: Annotated[int, IntRange(1, 86_400)] | None = None


class OfferUpdate(PatchModel):
    name: Name | None = None
    place: Name | None = None
    prices: Annotated[dict[VisitorCategory, Amount], Field(min_length=1)] | None = None
    minimum_age: Nullable[Annotated[int, IntRange(0, 120)]] = None
    cancellation: Annotated[list[RefundTierIn], Field(min_length=1, max_length=10)] | None = None
    reschedule: Nullable[RescheduleIn] = None
    default_capacity: Capacity | None = None
    max_quantity: Annotated[int, IntRange(1, 1000)] | None = None
    hold_ttl_s: Annotated[int, IntRange(1, 86_400)] | None = None
    active: Bool | None = None


class RefundTierOut(BaseModel):
    min_days_before: int
    refund_percent: str


class RescheduleOut(BaseModel):
    min_days_before: int
    fee_percent: str


class OfferOut(BaseModel):
    id: str
    kind: OfferKind
    name: str
    place: str
    currency: str
    unit: PricingUnit
    prices: dict[VisitorCategory, str]
    minimum_age: int | None
    cancellation: list[RefundTierOut]
    reschedule: RescheduleOut | None
    default_capacity: int
    max_quantity: int
    room_occupancy: int
    hold_ttl_s: int
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime


class DateSettingIn(RequestModel):
    """A date's capacity override (null: back to the offer's default) and whether it is closed."""

    capacity: Capacity | None = None
    closed: Bool = False


class DateOut(BaseModel):
    offer_id: str
    date: date
    capacity: int
    overridden: bool
    closed: bool
    #: Places of confirmed bookings and unexpired holds.
    taken: int
    remaining: int


class AvailabilityOut(BaseModel):
    offer_id: str
    offer_name: str
    kind: OfferKind
    place: str
    date: date
    capacity: int
    closed: bool
    remaining: int
    #: Units the party needs (people, or rooms for a room offer).
    quantity: int
    available: bool
    #: The party's price at `visitor_category`; None when that category cannot book this offer.
    price: Money | None


class AvailabilityPage(BaseModel):
    items: list[AvailabilityOut]


# --- bookings --------------------------------------------------------------------------------------


class TravellerIn(RequestModel):
    name: Name
    nationality: Country
    visitor_category: VisitorCategory
    date_of_birth: BoundedDate


class HoldCreate(RequestModel):
    offer_id: OfferId
    visit_date: BoundedDate
    quantity: PositiveInt32
    travellers: Annotated[list[TravellerIn], Field(min_length=1, max_length=50)]


class ConfirmIn(RequestModel):
    payment_reference: PaymentReference


class CancelIn(RequestModel):
    reason: Annotated[str, Text(500)] | None = None


class RescheduleBookingIn(RequestModel):
    visit_date: BoundedDate


class NameChangeIn(RequestModel):
    """The travellers' names in their order; the other details of a traveller cannot change."""

    names: Annotated[list[Name], Field(min_length=1, max_length=50)]


class TravellerOut(BaseModel):
    name: str
    nationality: str
    visitor_category: VisitorCategory
    date_of_birth: date


class BookingOut(BaseModel):
    id: str
    app_id: str
    offer_id: str
    offer_kind: OfferKind
    visit_date: date
    quantity: int
    #: `held` past its `expires_at` reads `expired`, even before the sweeper has released it.
    status: BookingStatus
    expires_at: datetime
    travellers: list[TravellerOut]
    total: Money
    booking_reference: str | None
    payment_reference: str | None
    name_changes: int
    refund: Money | None
    fees: Money
    confirmed_at: datetime | None
    cancelled_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime
