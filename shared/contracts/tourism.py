"""Events produced by the tourism service on topic `tourism.events` (key: booking id).

Each event carries what a consumer (payments, notifications, reporting) needs without calling
tourism: the offer and its kind, the visit date, the quantity, amounts as decimal strings with their
currency, and the traveller app's principal the booking is bound to.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import EventData
from shared.types import Id, Line, Text

__all__ = [
    "TOPIC",
    "Amount",
    "BookingCancelledV1",
    "BookingConfirmedV1",
    "BookingExpiredV1",
    "BookingHeldV1",
    "BookingRescheduledV1",
]

TOPIC = "tourism.events"

#: Places booked: positive and Int32-sized.
Quantity = Annotated[int, Field(gt=0, le=2_147_483_647)]
#: ASCII digits only (`\d` would accept other scripts' digits), at most 3 places (KWD has 3).
DecimalString = Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,3})?$", examples=["1500.00"])]
#: Offer kinds as the domain names them; a new kind is a new contract version, not a surprise.
OfferKindName = Annotated[
    str, Field(pattern=r"^(gorilla_permit|golden_monkey_permit|park_entry|hotel_room|experience|flight)$")
]
Percent = Annotated[str, Field(pattern=r"^(100|[0-9]{1,2})(\.[0-9]{1,2})?$")]


class Amount(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    amount: DecimalString
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class _BookingEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    booking_id: Id
    #: The traveller app's id (its keys' subject); the booking is visible to that app alone (and to ops).
    app_id: Id
    offer_id: Id
    offer_kind: OfferKindName
    visit_date: date
    quantity: Quantity
    #: The party's price at hold time (what is to be paid, or was paid once confirmed).
    total: Amount
    occurred_at: datetime


class BookingHeldV1(_BookingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.booking.held.v1"
    expires_at: datetime


class BookingConfirmedV1(_BookingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.booking.confirmed.v1"
    #: The traveller-facing reference, `RW-XXXXX-XXXXX`.
    booking_reference: Annotated[str, Line(32)]
    payment_reference: Annotated[str, Line(128)]


class BookingCancelledV1(_BookingEvent):
    """A hold released by the traveller (`previous_status` held, no refund) or a confirmed booking
    cancelled (refund per the policy tier at the time of cancellation)."""

    TYPE: ClassVar[str] = "rw.ewtp.booking.cancelled.v1"
    previous_status: Annotated[str, Field(pattern=r"^(held|confirmed)$")]
    days_before: Annotated[int, Field(ge=-100_000, le=100_000)]
    refund_percent: Percent
    refund: Amount
    reason: Annotated[str, Text(500, min_length=0)] | None = None


class BookingExpiredV1(_BookingEvent):
    """A hold reached its `expires_at` unpaid; its places are free again."""

    TYPE: ClassVar[str] = "rw.ewtp.booking.expired.v1"
    expired_at: datetime


class BookingRescheduledV1(_BookingEvent):
    """`visit_date` is the new date; the booking stays confirmed."""

    TYPE: ClassVar[str] = "rw.ewtp.booking.rescheduled.v1"
    previous_visit_date: date
    fee: Amount
