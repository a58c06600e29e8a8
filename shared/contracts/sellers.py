"""Events produced by the sellers service on topic `sellers.events` (key: seller id)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from shared.contracts.envelope import EventData
from shared.types import Id, Line, Text

__all__ = [
    "TOPIC",
    "SellerRegisteredV1",
    "SellerReinstatedV1",
    "SellerRejectedV1",
    "SellerSuspendedV1",
    "SellerVerifiedV1",
]

TOPIC = "sellers.events"


class _SellerEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    seller_id: Id
    legal_name: Annotated[str, Line(500)]
    status: Annotated[str, Line(64)]
    occurred_at: datetime


class SellerRegisteredV1(_SellerEvent):
    TYPE: ClassVar[str] = "rw.ewtp.seller.registered.v1"
    tin: Annotated[str, Line(64)]
    sectors: list[Annotated[str, Line(200)]]
    district: Annotated[str, Line(200)]


class _SellerTransition(_SellerEvent):
    actor: Annotated[str, Line(200)]
    reason: Annotated[str, Text(5000, min_length=0)] | None = None


class SellerVerifiedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.verified.v1"


class SellerRejectedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.rejected.v1"


class SellerSuspendedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.suspended.v1"


class SellerReinstatedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.reinstated.v1"
