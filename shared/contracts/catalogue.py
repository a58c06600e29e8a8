"""Events produced by the catalogue service on topic `catalogue.events`.

Listing events are keyed by listing id; stock events by order id (one order's reservation story
stays ordered on one partition).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict

from shared.contracts.envelope import EventData
from shared.types import Id, Line, Text

__all__ = [
    "TOPIC",
    "LinePrice",
    "ListingPublishedV1",
    "ListingUpdatedV1",
    "ListingWithdrawnV1",
    "RejectedLine",
    "ReservedLine",
    "StockRejectedV1",
    "StockReleasedV1",
    "StockReservedV1",
]

TOPIC = "catalogue.events"

#: Short codes and words (a currency, a status, a reason code): one line, no controls.
Word = Annotated[str, Line(64)]


class LinePrice(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    amount: Word
    currency: Word


class _ListingEvent(EventData):
    """What orders needs to price and ship a line without calling catalogue."""

    TOPIC: ClassVar[str] = TOPIC
    listing_id: Id
    seller_id: Id
    sku: Annotated[str, Line(100)]
    title: Annotated[str, Line(500)]
    price: LinePrice
    hs_code: Word
    unit_net_weight_g: int
    status: Word
    #: The listing's category id, when it has one (additive: consumers of older events see None).
    #: Orders' demand insight groups by it, and by HS heading only when it is absent.
    category: Annotated[str, Line(50)] | None = None
    version: int
    occurred_at: datetime


class ListingPublishedV1(_ListingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.listing.published.v1"


class ListingUpdatedV1(_ListingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.listing.updated.v1"


class ListingWithdrawnV1(_ListingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.listing.withdrawn.v1"
    reason: Annotated[str, Text(2000, min_length=0)]


class ReservedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: Id
    listing_id: Id
    quantity: int


class RejectedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: Id
    listing_id: Id
    quantity: int
    #: unknown_listing | not_published | insufficient_stock
    reason: Word
    available: int | None = None


class _StockEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    order_id: Id
    occurred_at: datetime


class StockReservedV1(_StockEvent):
    TYPE: ClassVar[str] = "rw.ewtp.stock.reserved.v1"
    lines: list[ReservedLine]


class StockRejectedV1(_StockEvent):
    TYPE: ClassVar[str] = "rw.ewtp.stock.rejected.v1"
    lines: list[RejectedLine]


class StockReleasedV1(_StockEvent):
    TYPE: ClassVar[str] = "rw.ewtp.stock.released.v1"
    lines: list[ReservedLine]
    reason: Word
