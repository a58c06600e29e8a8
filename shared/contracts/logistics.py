"""Events produced by the logistics service on topic `logistics.events`.

Keys (the CloudEvent `subject`, which becomes the record key):
- `quote.issued` is keyed by the QUOTE id.
- every `shipment.*` event is keyed by the ORDER id, not the shipment id, so one order's shipment
  story (booked or booking_failed, dispatched, delivered, cancelled) stays in order on one partition
  for the order saga that consumes it. A booking failure has no shipment id at all.

Money travels as a decimal string plus an ISO 4217 code (never a float); weights as decimal strings.
Logistics consumes `order.confirmed` (shared/contracts/orders.py, owned by orders).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import EventData
from shared.types import Id, Line, Text

__all__ = [
    "TOPIC",
    "QuoteIssuedV1",
    "QuoteLeg",
    "QuoteOptionData",
    "ShipmentBookedV1",
    "ShipmentBookingFailedV1",
    "ShipmentCancelledV1",
    "ShipmentDeliveredV1",
    "ShipmentDispatchedV1",
]

TOPIC = "logistics.events"

#: Non-negative decimal string, ASCII digits only (`\d` would take other scripts' digits).
Amount = Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,4})?$", examples=["412.50"])]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$", examples=["USD"])]
Locode = Annotated[str, Field(pattern=r"^[A-Z]{2}[A-Z2-9]{3}$", examples=["RWKGL"])]
Mode = Literal["air", "sea", "road", "courier"]
Incoterm = Literal["EXW", "FCA", "CPT", "CIP", "DAP", "DPU", "DDP", "FAS", "FOB", "CFR", "CIF"]
#: Int32-sized positive counts.
Days = Annotated[int, Field(gt=0, le=2_147_483_647)]
Version = Annotated[int, Field(gt=0, le=2_147_483_647)]
Note = Annotated[str, Text(500)]


class QuoteLeg(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    rate_card_id: Id
    rate_card_version: Version
    carrier: Annotated[str, Line(200)]
    mode: Mode
    origin: Locode
    destination: Locode
    chargeable_weight_kg: Amount


class QuoteOptionData(BaseModel):
    """One option as orders needs it for landed cost: its total and how long it holds."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    option_id: Id
    mode: Mode
    carrier: Annotated[str, Line(500)]
    total: Amount
    currency: Currency
    transit_days: Days
    valid_until: datetime
    legs: list[QuoteLeg] = Field(min_length=1, max_length=8)


class QuoteIssuedV1(EventData):
    """Key: quote id."""

    TOPIC: ClassVar[str] = TOPIC
    TYPE: ClassVar[str] = "rw.ewtp.quote.issued.v1"
    quote_id: Id
    #: Who asked: `<role>:<seller id | marketplace id | key id>` (a bound subject may be 100 long).
    requested_by: Annotated[str, Line(200)]
    origin: Locode
    destination: Locode
    incoterm: Incoterm
    actual_weight_kg: Amount
    options: list[QuoteOptionData] = Field(max_length=64)
    #: Why there is no option (no lane, no card valid on the day); None when there are options.
    reason: Note | None = None
    occurred_at: datetime


class _ShipmentEvent(EventData):
    """Key: ORDER id (see the module docstring)."""

    TOPIC: ClassVar[str] = TOPIC
    order_id: Id
    occurred_at: datetime


class ShipmentBookedV1(_ShipmentEvent):
    TYPE: ClassVar[str] = "rw.ewtp.shipment.booked.v1"
    shipment_id: Id
    quote_id: Id
    carrier: Annotated[str, Line(500)]
    mode: Mode
    tracking_number: Id


class ShipmentBookingFailedV1(_ShipmentEvent):
    TYPE: ClassVar[str] = "rw.ewtp.shipment.booking_failed.v1"
    quote_id: Id
    reason: Note


class ShipmentDispatchedV1(_ShipmentEvent):
    """The first actual departure."""

    TYPE: ClassVar[str] = "rw.ewtp.shipment.dispatched.v1"
    shipment_id: Id


class ShipmentDeliveredV1(_ShipmentEvent):
    TYPE: ClassVar[str] = "rw.ewtp.shipment.delivered.v1"
    shipment_id: Id


class ShipmentCancelledV1(_ShipmentEvent):
    """The order was cancelled before the goods departed; orders need not consume it."""

    TYPE: ClassVar[str] = "rw.ewtp.shipment.cancelled.v1"
    shipment_id: Id
    reason: Note | None = None
