"""Events produced by the orders service on topic `orders.events` (key: order id).

Catalogue consumes order.placed/cancelled/rejected to reserve and release stock, and order.shipped to
turn a reservation into a sale; logistics books a shipment on order.confirmed; finance learns order
values. So each event carries what those consumers need without calling orders: per line the seller,
listing, quantity, unit price and line value; the order's total, currency, marketplace, channel and
buyer country and city.

Compatibility: order.placed/cancelled/rejected were published before these facts existed, so on
them every added field is optional (a consumer built on the first shape keeps working, and an old
event still validates). On the events added later (confirmed, shipped, delivered) they are required.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, ClassVar, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.contracts.envelope import EventData
from shared.types import Id, Line, Text

__all__ = [
    "INT32_MAX",
    "MAX_LINES",
    "TOPIC",
    "OrderCancelledV1",
    "OrderConfirmedV1",
    "OrderDeliveredV1",
    "OrderLine",
    "OrderPlacedV1",
    "OrderRejectedV1",
    "OrderShippedV1",
    "PricedOrderLine",
]

TOPIC = "orders.events"

#: Quantities are stored in 32-bit integer columns by every consumer (catalogue's stock included).
INT32_MAX = 2**31 - 1

#: At most this many lines per order. A marketplace basket or a distributor's purchase order for
#: Rwandan coffee, tea and crafts has a handful of lines; 200 leaves ample room while keeping one
#: event well under Kafka's default 1 MB record limit (a fully priced line is ~250 bytes of JSON) and
#: bounding the work catalogue does per reservation (one conditional UPDATE per listing).
MAX_LINES = 200

Quantity = Annotated[int, Field(gt=0, le=INT32_MAX)]
#: A non-negative decimal string with at most 3 places (ISO 4217's largest exponent); the places
#: allowed for the event's currency are the producer's business (it rounds half-even per currency).
Amount = Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,3})?$", examples=["12.50"])]
CurrencyCode = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
CountryCode = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
City = Annotated[str, Line(100)]
#: b2c_marketplace | b2b_distributor; kept open (a plain string) so a new channel never breaks a reader.
Channel = Annotated[str, Line(32)]
#: One of the 11 Incoterms 2020 rules (EXW, FCA, ..., DDP).
Incoterm = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Reason = Annotated[str, Text(500, min_length=0)]


class OrderLine(BaseModel):
    """A line as order.placed has always carried it; the prices were added later, hence optional."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: Id
    listing_id: Id
    quantity: Quantity
    seller_id: Id | None = None
    unit_price: Amount | None = None
    line_value: Amount | None = None


_L = TypeVar("_L", bound="OrderLine")


class PricedOrderLine(OrderLine):
    """A line with its seller and prices, as every event since order.confirmed carries it."""

    seller_id: Id
    unit_price: Amount
    line_value: Amount

    @model_validator(mode="after")
    def _value_is_price_times_quantity(self) -> Self:
        if Decimal(self.unit_price) * self.quantity != Decimal(self.line_value):
            raise ValueError("line_value must equal unit_price × quantity")
        return self


def _unique_line_ids(lines: list[_L]) -> list[_L]:
    if len({line.line_id for line in lines}) != len(lines):
        raise ValueError("line ids must be unique within an order")
    return lines


class _OrderEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    order_id: Id
    occurred_at: datetime


class OrderPlacedV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.placed.v1"
    marketplace_id: Id
    lines: list[OrderLine] = Field(min_length=1, max_length=MAX_LINES)
    channel: Channel | None = None
    currency: CurrencyCode | None = None
    total: Amount | None = None
    buyer_country: CountryCode | None = None
    buyer_city: City | None = None

    @field_validator("lines")
    @classmethod
    def _line_ids_are_unique(cls, lines: list[OrderLine]) -> list[OrderLine]:
        return _unique_line_ids(lines)


class _OrderFacts(_OrderEvent):
    """What a consumer needs to know about the order itself, required on the events added with it."""

    marketplace_id: Id
    channel: Channel
    currency: CurrencyCode
    total: Amount
    buyer_country: CountryCode
    buyer_city: City
    lines: list[PricedOrderLine] = Field(min_length=1, max_length=MAX_LINES)

    @field_validator("lines")
    @classmethod
    def _line_ids_are_unique(cls, lines: list[PricedOrderLine]) -> list[PricedOrderLine]:
        return _unique_line_ids(lines)

    @model_validator(mode="after")
    def _total_is_the_sum_of_lines(self) -> Self:
        if sum((Decimal(line.line_value) for line in self.lines), Decimal(0)) != Decimal(self.total):
            raise ValueError("total must equal the sum of the line values")
        return self


class OrderConfirmedV1(_OrderFacts):
    """Stock is reserved. With a chosen quote, logistics books the shipment from `logistics_quote_id`."""

    TYPE: ClassVar[str] = "rw.ewtp.order.confirmed.v1"
    logistics_quote_id: Id | None = None
    #: The option of that quote the buyer chose (a quote has one option per mode/carrier); None when
    #: the quote has a single option, which logistics then books.
    logistics_option_id: Id | None = None
    incoterm: Incoterm | None = None
    #: The order's gross weight captured from the listings, so logistics can check the quote covers it.
    gross_weight_kg: Amount | None = None


class OrderShippedV1(_OrderFacts):
    """The goods left: catalogue turns the reservation into a sale (on hand and reserved drop)."""

    TYPE: ClassVar[str] = "rw.ewtp.order.shipped.v1"
    shipment_id: Id | None = None


class OrderDeliveredV1(_OrderFacts):
    TYPE: ClassVar[str] = "rw.ewtp.order.delivered.v1"
    shipment_id: Id | None = None


class OrderCancelledV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.cancelled.v1"
    reason: Reason | None = None
    #: Who cancelled: `marketplace:<id>` or `ops:<principal>`.
    actor: Annotated[str, Line(200, min_length=0)] | None = None
    marketplace_id: Id | None = None
    currency: CurrencyCode | None = None
    total: Amount | None = None


class OrderRejectedV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.rejected.v1"
    #: `stock` (catalogue refused a line) or `timeout` (no answer before the deadline).
    reason: Reason | None = None
    marketplace_id: Id | None = None
    currency: CurrencyCode | None = None
    total: Amount | None = None
