"""Events produced by the finance service on topic `finance.events` (key: application id).

Each carries what a consumer needs without calling finance: the seller, the product, and amounts as
decimal strings in the application's single currency (no more places than the currency has).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, ClassVar, Self

from pydantic import Field, model_validator

from shared.contracts.envelope import EventData
from shared.money import check_places
from shared.types import Id, Line, Text

__all__ = [
    "TOPIC",
    "ApplicationApprovedV1",
    "ApplicationDisbursedV1",
    "ApplicationInArrearsV1",
    "ApplicationRejectedV1",
    "ApplicationRepaidV1",
    "ApplicationSubmittedV1",
    "ApplicationWithdrawnV1",
    "ApplicationWrittenOffV1",
]

TOPIC = "finance.events"

#: ASCII digits only (`\d` would take Unicode digits); 15 integer digits keep any amount in a BIGINT.
DecimalString = Annotated[str, Field(pattern=r"^[0-9]{1,15}(\.[0-9]{1,3})?$", examples=["1500.00"])]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
Days = Annotated[int, Field(gt=0, le=2_147_483_647)]
Reason = Annotated[str, Text(1000)]
Rate = Annotated[str, Field(pattern=r"^[0-9]{1,3}(\.[0-9]{1,6})?$", examples=["0.18"])]


class _ApplicationEvent(EventData):
    TOPIC: ClassVar[str] = TOPIC
    #: Names of the fields holding money in `currency`, checked against its minor units.
    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = ()

    application_id: Id
    seller_id: Id
    #: purchase_order_finance | invoice_finance | pre_shipment | lc_confirmation | guarantee
    product: Annotated[str, Line(32)]
    currency: Currency
    #: Who acted: a lender's or seller's id, or "system".
    actor: Id
    occurred_at: datetime

    @model_validator(mode="after")
    def _amounts_fit_currency(self) -> Self:
        if not self.AMOUNT_FIELDS:
            return self
        for name in self.AMOUNT_FIELDS:
            try:
                check_places(getattr(self, name), self.currency)
            except ValueError as exc:
                raise ValueError(f"{name}: {exc}") from None
        return self


class ApplicationSubmittedV1(_ApplicationEvent):
    TYPE: ClassVar[str] = "rw.ewtp.finance.application.submitted.v1"
    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = ("requested_amount",)
    requested_amount: DecimalString
    tenor_days: Days
    linked_order_ids: list[Id] = Field(default_factory=list, max_length=100)
    eligible: bool


class ApplicationApprovedV1(_ApplicationEvent):
    TYPE: ClassVar[str] = "rw.ewtp.finance.application.approved.v1"
    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = ("approved_amount", "fees")
    approved_amount: DecimalString
    #: Simple annual rate, actual/365, as a fraction ("0.18" is 18%).
    annual_rate: Rate
    fees: DecimalString
    tenor_days: Days
    conditions: list[Reason] = Field(default_factory=list, max_length=50)


class ApplicationRejectedV1(_ApplicationEvent):
    TYPE: ClassVar[str] = "rw.ewtp.finance.application.rejected.v1"
    reason: Reason


class ApplicationWithdrawnV1(_ApplicationEvent):
    TYPE: ClassVar[str] = "rw.ewtp.finance.application.withdrawn.v1"
    reason: Reason | None = None


class ApplicationDisbursedV1(_ApplicationEvent):
    TYPE: ClassVar[str] = "rw.ewtp.finance.application.disbursed.v1"
    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = ("disbursed_amount", "total_scheduled")
    disbursed_amount: DecimalString
    #: Principal, interest and fees over the whole schedule.
    total_scheduled: DecimalString
    disbursement_reference: Id
    disbursed_on: date
    maturity_on: date


class ApplicationRepaidV1(_ApplicationEvent):
    TYPE: ClassVar[str] = "rw.ewtp.finance.application.repaid.v1"
    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = ("total_repaid",)
    total_repaid: DecimalString
    repaid_on: date


class ApplicationInArrearsV1(_ApplicationEvent):
    TYPE: ClassVar[str] = "rw.ewtp.finance.application.in_arrears.v1"
    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = ("overdue_amount", "outstanding_amount")
    overdue_amount: DecimalString
    outstanding_amount: DecimalString
    days_past_due: Days


class ApplicationWrittenOffV1(_ApplicationEvent):
    """A loan in arrears the lender gave up on; what was still owed when it did (added after v1's first seven)."""

    TYPE: ClassVar[str] = "rw.ewtp.finance.application.written_off.v1"
    AMOUNT_FIELDS: ClassVar[tuple[str, ...]] = ("outstanding_amount", "total_repaid")
    reason: Reason
    outstanding_amount: DecimalString
    total_repaid: DecimalString
