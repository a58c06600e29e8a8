"""Events produced by the orders service on topic `orders.events` (key: order id).

The orders service itself comes later; catalogue already consumes these to reserve and release stock.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.envelope import EventData

__all__ = ["TOPIC", "OrderCancelledV1", "OrderLine", "OrderPlacedV1", "OrderRejectedV1"]

TOPIC = "orders.events"


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: str
    listing_id: str
    quantity: int = Field(gt=0)


class _OrderEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    order_id: str
    occurred_at: datetime


class OrderPlacedV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.placed.v1"
    marketplace_id: str
    lines: list[OrderLine] = Field(min_length=1)


class OrderCancelledV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.cancelled.v1"
    reason: str | None = None


class OrderRejectedV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.rejected.v1"
    reason: str | None = None
