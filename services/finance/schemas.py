"""Request and response models of the finance API. Amounts travel as decimal strings in the
application's currency; they are stored in minor units, so an amount with more places than the
currency has is refused (422 naming the field), never rounded silently."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import AfterValidator, BaseModel, Field, field_validator, model_validator

from services.finance.config import GuaranteeScheme, Product
from services.finance.domain import Rule, Status
from shared.money import check_places
from shared.types import (
    Amount,
    Bool,
    BoundedDate,
    Code,
    Country,
    Currency,
    DecimalAmount,
    IntRange,
    Line,
    Nullable,
    PatchModel,
    RequestModel,
    Text,
)

#: An order id as the orders service issues them (opaque, ASCII, bounded like the contract's Id).
OrderId = Annotated[str, Code(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$", description="An order id.", examples=("ord-123",))]
#: Money asked or paid: positive, fits NUMERIC(18, 6) before it is checked against the currency.
PositiveAmount = Annotated[Decimal, DecimalAmount(18, 6, gt=0)]
#: A simple annual rate as a fraction ("0.18" is 18%).
Rate = Annotated[Decimal, DecimalAmount(9, 6, ge=0)]
TenorDays = Annotated[int, IntRange(1, 3650)]
Instalments = Annotated[int, IntRange(1, 120)]


def _not_blank(value: str) -> str:
    """shared.types Text/Line check min_length before stripping, so "   " would pass as ""."""
    if not value:
        raise ValueError("must not be blank")
    return value


NotBlank = AfterValidator(_not_blank)
Reason = Annotated[str, Text(1000), NotBlank]
Purpose = Annotated[str, Text(2000), NotBlank]
Reference = Annotated[str, Line(64), NotBlank]
#: The largest amount in major units any funded currency allows; checked again per currency.
_MAX_LINKED = 50


class Incoterm(StrEnum):
    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"


class DocumentType(StrEnum):
    PURCHASE_ORDER = "purchase_order"
    PROFORMA_INVOICE = "proforma_invoice"
    INVOICE = "invoice"
    LC_COPY = "lc_copy"
    BANK_STATEMENT = "bank_statement"
    OTHER = "other"


def places_error(value: Decimal | None, currency: str, field: str) -> dict[str, str] | None:
    """The field error when `value` has more decimal places than `currency` allows, else None.

    Trailing zeros count, as everywhere money comes in (shared.money): "1.500" USD is refused.
    """
    if value is None:
        return None
    try:
        check_places(value, currency)
    except ValueError as exc:
        return {"field": field, "reason": str(exc)}
    return None


class TradeIn(RequestModel):
    """The underlying trade as the seller declares it; platform orders are linked separately."""

    buyer_name: Annotated[str, Line(200), NotBlank] | None = None
    buyer_country: Country | None = None
    po_number: Reference | None = None
    invoice_number: Reference | None = None
    amount: Amount | None = None
    incoterm: Incoterm | None = None
    expected_shipment_on: BoundedDate | None = None
    expected_payment_on: BoundedDate | None = None

    @model_validator(mode="after")
    def _payment_after_shipment(self) -> Self:
        ship, pay = self.expected_shipment_on, self.expected_payment_on
        if ship is not None and pay is not None and pay < ship:
            raise ValueError("expected_payment_on must not be before expected_shipment_on")
        return self


class DocumentIn(RequestModel):
    type: DocumentType
    reference: Reference


LinkedOrders = Annotated[list[OrderId], Field(max_length=_MAX_LINKED)]
Documents = Annotated[list[DocumentIn], Field(max_length=20)]


def _unique(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("must not repeat an order id")
    return ids


class ApplicationCreate(RequestModel):
    product: Product
    amount: PositiveAmount
    currency: Currency
    tenor_days: TenorDays
    purpose: Purpose
    linked_order_ids: LinkedOrders = []
    trade: TradeIn | None = None
    guarantee_scheme: GuaranteeScheme | None = None
    guarantee_enhanced: Bool = False
    documents: Documents = []

    @field_validator("linked_order_ids")
    @classmethod
    def _unique_orders(cls, ids: list[str]) -> list[str]:
        return _unique(ids)


class ApplicationUpdate(PatchModel):
    """A partial edit, allowed while the application is draft or submitted; the currency is fixed."""

    product: Product | None = None
    amount: PositiveAmount | None = None
    tenor_days: TenorDays | None = None
    purpose: Purpose | None = None
    linked_order_ids: LinkedOrders | None = None
    trade: Nullable[TradeIn] = None
    guarantee_scheme: Nullable[GuaranteeScheme] = None
    guarantee_enhanced: Bool | None = None
    documents: Documents | None = None

    @field_validator("linked_order_ids")
    @classmethod
    def _unique_orders(cls, ids: list[str] | None) -> list[str] | None:
        return ids if ids is None else _unique(ids)


class ReasonIn(RequestModel):
    reason: Reason | None = None


class ApproveIn(RequestModel):
    amount: PositiveAmount
    #: Defaults to the product's configured rate.
    annual_rate: Rate | None = None
    #: Defaults to the product's fee rate times the approved amount.
    fees: Amount | None = None
    instalments: Instalments = 1
    conditions: Annotated[list[Reason], Field(max_length=50)] = []


class DisburseIn(RequestModel):
    reference: Reference
    #: Defaults to today (UTC).
    disbursed_on: BoundedDate | None = None


class RepaymentIn(RequestModel):
    amount: PositiveAmount
    #: Defaults to today (UTC).
    paid_on: BoundedDate | None = None
    reference: Reference | None = None


class MoneyOut(BaseModel):
    amount: str
    currency: str


class RuleOut(BaseModel):
    rule: Rule
    passed: bool
    detail: str


class EligibilityOut(BaseModel):
    eligible: bool
    evaluated_at: datetime
    rules: list[RuleOut]


class InstalmentOut(BaseModel):
    number: int
    due_on: date
    principal: str
    interest: str
    fees: str
    total: str


class BalanceOut(BaseModel):
    principal: str
    interest: str
    fees: str
    outstanding: str
    repaid: str
    #: Interest has been accrued up to this date (the last repayment or the disbursement).
    accrued_to: date
    #: What would settle the loan today: `outstanding` plus interest accrued since `accrued_to`.
    payoff_today: str


class ApplicationOut(BaseModel):
    id: str
    seller_id: str
    product: Product
    status: Status
    held_from: Status | None
    hold_reason: str | None
    amount: str
    currency: str
    tenor_days: int
    purpose: str
    linked_order_ids: list[str]
    trade: dict[str, Any] | None
    guarantee_scheme: GuaranteeScheme | None
    guarantee_enhanced: bool
    documents: list[dict[str, Any]]
    eligibility: EligibilityOut | None
    approved_amount: str | None
    annual_rate: str | None
    fees: str | None
    instalments: int | None
    conditions: list[str] | None
    decision_reason: str | None
    disbursement_reference: str | None
    disbursed_on: date | None
    maturity_on: date | None
    balance: BalanceOut | None
    schedule: list[InstalmentOut] | None = None
    version: int
    created_at: datetime
    submitted_at: datetime | None
    updated_at: datetime


class ApplicationSummary(BaseModel):
    """A queue row: enough for a lender to choose what to open."""

    id: str
    seller_id: str
    product: Product
    status: Status
    amount: str
    currency: str
    tenor_days: int
    eligible: bool | None
    created_at: datetime
    submitted_at: datetime | None


class StatusChangeOut(BaseModel):
    action: str
    from_status: Status | None
    to_status: Status
    actor: str
    reason: str | None
    at: datetime


class HistoryOut(BaseModel):
    items: list[StatusChangeOut]


class RepaymentOut(BaseModel):
    id: str
    amount: str
    paid_on: date
    reference: str | None
    to_fees: str
    to_interest: str
    to_principal: str
    recorded_by: str
    recorded_at: datetime
    #: The application after this repayment.
    status: Status
    balance: BalanceOut


class WindowOut(BaseModel):
    """One window of the trade profile; values per currency, rates as fractions ("0.25" is 25%)."""

    window: str
    since: datetime
    orders_seen: int
    orders_confirmed: int
    orders_shipped: int
    orders_delivered: int
    orders_cancelled: int
    orders_rejected: int
    confirmed_value: list[MoneyOut]
    shipped_value: list[MoneyOut]
    delivered_value: list[MoneyOut]
    cancellation_rate: str | None
    rejection_rate: str | None
    delivered_share: str | None
    top_marketplace: str | None
    top_marketplace_share: str | None


class TradeProfileOut(BaseModel):
    seller_id: str
    #: The time of the last order event finance consumed: the profile knows nothing later.
    as_of: datetime | None
    note: str
    windows: list[WindowOut]


class PortfolioRow(BaseModel):
    currency: str
    product: str | None = None
    sector: str | None = None
    applications: int
    approved: str
    disbursed: str
    outstanding: str
    in_arrears: str
    repaid: str


class PortfolioOut(BaseModel):
    """Per currency (amounts in different currencies are never added up)."""

    by_product: list[PortfolioRow]
    #: An application counts under each sector of its seller, so these rows may add up to more.
    by_sector: list[PortfolioRow]


__all__ = [
    "ApplicationCreate",
    "ApplicationOut",
    "ApplicationSummary",
    "ApplicationUpdate",
    "ApproveIn",
    "BalanceOut",
    "DisburseIn",
    "EligibilityOut",
    "HistoryOut",
    "InstalmentOut",
    "MoneyOut",
    "PortfolioOut",
    "PortfolioRow",
    "TradeProfileOut",
    "WindowOut",
    "ReasonIn",
    "RepaymentIn",
    "RepaymentOut",
    "RuleOut",
    "StatusChangeOut",
    "places_error",
]
