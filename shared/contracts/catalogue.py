"""Events produced by the catalogue service on topic `catalogue.events`.

Listing events are keyed by listing id; stock events by order id (one order's reservation story
stays ordered on one partition).
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from shared.contracts.envelope import EventData

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


class LinePrice(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    amount: str
    currency: str


class _ListingEvent(EventData):
    """What orders needs to price and ship a line without calling catalogue."""

    TOPIC: ClassVar[str] = TOPIC
    listing_id: str
    seller_id: str
    sku: str
    title: str
    price: LinePrice
    hs_code: str
    unit_net_weight_g: int
    status: str
    version: int
    occurred_at: datetime


class ListingPublishedV1(_ListingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.listing.published.v1"


class ListingUpdatedV1(_ListingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.listing.updated.v1"


class ListingWithdrawnV1(_ListingEvent):
    TYPE: ClassVar[str] = "rw.ewtp.listing.withdrawn.v1"
    reason: str


class ReservedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: str
    listing_id: str
    quantity: int


class RejectedLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: str
    listing_id: str
    quantity: int
    #: unknown_listing | not_published | insufficient_stock
    reason: str
    available: int | None = None


class _StockEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    order_id: str
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
    reason: str
