"""Events produced by the orders service on topic `orders.events` (key: order id).

The orders service itself comes later; catalogue already consumes these to reserve and release stock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from shared.contracts.envelope import EventData

__all__ = ["TOPIC", "OrderCancelledV1", "OrderLine", "OrderPlacedV1", "OrderRejectedV1"]

TOPIC = "orders.events"

#: Ids are opaque strings of bounded length; a longer one breaks the contract (and goes to the DLQ).
Id = Annotated[str, Field(min_length=1, max_length=64)]


class OrderLine(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    line_id: Id
    listing_id: Id
    quantity: int = Field(gt=0)


class _OrderEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    order_id: Id
    occurred_at: datetime


class OrderPlacedV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.placed.v1"
    marketplace_id: Id
    lines: list[OrderLine] = Field(min_length=1)

    @field_validator("lines")
    @classmethod
    def _line_ids_are_unique(cls, lines: list[OrderLine]) -> list[OrderLine]:
        if len({line.line_id for line in lines}) != len(lines):
            raise ValueError("line ids must be unique within an order")
        return lines


class OrderCancelledV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.cancelled.v1"
    reason: str | None = None


class OrderRejectedV1(_OrderEvent):
    TYPE: ClassVar[str] = "rw.ewtp.order.rejected.v1"
    reason: str | None = None
