"""Events produced by the sellers service on topic `sellers.events` (key: seller id)."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from shared.contracts.envelope import EventData

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
    seller_id: str
    legal_name: str
    status: str
    occurred_at: datetime


class SellerRegisteredV1(_SellerEvent):
    TYPE: ClassVar[str] = "rw.ewtp.seller.registered.v1"
    tin: str
    sectors: list[str]
    district: str


class _SellerTransition(_SellerEvent):
    actor: str
    reason: str | None = None


class SellerVerifiedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.verified.v1"


class SellerRejectedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.rejected.v1"


class SellerSuspendedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.suspended.v1"


class SellerReinstatedV1(_SellerTransition):
    TYPE: ClassVar[str] = "rw.ewtp.seller.reinstated.v1"
