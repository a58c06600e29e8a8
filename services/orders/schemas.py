"""Request and response models of the orders API.

Requests are strict (unknown fields refused) and built from shared/types.py, so bad input of every
kind is a 422 naming the field before anything is read or written.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import BaseModel, Field, field_validator, model_validator

from services.orders.domain import Channel, Incoterm, OrderStatus, TrendDirection
from shared.contracts.orders import MAX_LINES
from shared.money import MoneyIn
from shared.types import Code, Country, Currency, Line, PositiveInt32, RequestModel, Text

Id = Annotated[
    str,
    Code(r"^[A-Za-z0-9][A-Za-z0-9._:-]*$", description="An id: ASCII letters, digits and . _ : -.", max_length=64),
]
Reference = Annotated[
    str,
    Code(
        r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$",
        description="The marketplace's own order reference, unique per marketplace.",
        examples=("TMALL-2026-000123",),
        max_length=64,
    ),
]


class ResidentIdType(StrEnum):
    """The Chinese identity document a CBEC buyer gave (customs checks name and number)."""

    RESIDENT_IDENTITY_CARD = "resident_identity_card"
    PASSPORT = "passport"
    HK_MACAO_PERMIT = "hk_macao_permit"
    TAIWAN_PERMIT = "taiwan_permit"


class BuyerIn(RequestModel):
    name: Annotated[str, Line(200)]
    country: Country
    city: Annotated[str, Line(100)]
    address: Annotated[str, Text(500)]
    resident_id_type: ResidentIdType | None = None


class LineIn(RequestModel):
    listing_id: Id
    quantity: PositiveInt32


def _unique_listings(lines: list[LineIn]) -> list[LineIn]:
    seen: set[str] = set()
    for line in lines:
        if line.listing_id in seen:
            raise ValueError(f"listing {line.listing_id} appears on two lines; put the whole quantity on one")
        seen.add(line.listing_id)
    return lines


Lines = Annotated[list[LineIn], Field(min_length=1, max_length=MAX_LINES)]


class OrderCreate(RequestModel):
    reference: Reference
    channel: Channel
    buyer: BuyerIn
    lines: Lines
    currency: Currency
    #: Ops place orders on behalf of a marketplace and must name it; a marketplace key is bound to its own.
    marketplace_id: Id | None = None
    logistics_quote_id: Id | None = None
    logistics_option_id: Id | None = None
    incoterm: Incoterm | None = None
    #: What the marketplace showed the buyer; if given and the captured total differs, the order is refused.
    expected_total: MoneyIn | None = None

    _lines_unique = field_validator("lines")(_unique_listings)

    @model_validator(mode="after")
    def _option_needs_quote(self) -> Self:
        if self.logistics_option_id is not None and self.logistics_quote_id is None:
            raise ValueError("logistics_option_id needs logistics_quote_id")
        return self


class LandedCostRequest(RequestModel):
    """A landed-cost quote without an order: the same breakdown an order to CN records."""

    currency: Currency
    lines: Lines
    buyer: BuyerIn | None = None
    marketplace_id: Id | None = None
    logistics_quote_id: Id | None = None
    logistics_option_id: Id | None = None

    _lines_unique = field_validator("lines")(_unique_listings)


class CancelIn(RequestModel):
    reason: Annotated[str, Text(500)] | None = None


# --------------------------------------------------------------------------------------------------
# Responses


class Money(BaseModel):
    amount: str
    currency: str


class BuyerOut(BaseModel):
    name: str
    country: str
    city: str
    address: str | None
    resident_id_type: str | None


class LineOut(BaseModel):
    line_id: str
    listing_id: str
    seller_id: str
    sku: str
    title: str
    hs_code: str
    quantity: int
    unit_price: Money
    line_value: Money
    unit_net_weight_g: int


class FxOut(BaseModel):
    base: str
    quote: str
    rate: str
    source: str
    as_of: datetime


class LandedCostLineOut(BaseModel):
    line_id: str
    hs_code: str
    goods_value: Money
    customs_value: Money
    tariff_rate: str
    vat_rate: str
    consumption_tax_rate: str
    tariff: Money
    vat: Money
    consumption_tax: Money


class LandedCostOut(BaseModel):
    regime: str
    #: True when the order exceeds the CBEC limits: general trade, not a CBEC retail import.
    general_trade: bool
    goods_value: Money
    customs_value: Money
    tariff: Money
    vat: Money
    consumption_tax: Money
    tax: Money
    freight: Money
    freight_quote_id: str | None
    freight_option_id: str | None
    landed: Money
    buyer_year_to_date: Money
    fx: FxOut
    freight_fx: FxOut | None
    lines: list[LandedCostLineOut]


class RejectedLineOut(BaseModel):
    line_id: str
    listing_id: str
    quantity: int
    reason: str
    available: int | None = None


class OrderOut(BaseModel):
    id: str
    reference: str
    marketplace_id: str
    channel: str
    status: OrderStatus
    reject_reason: str | None
    rejected_lines: list[RejectedLineOut] | None
    buyer: BuyerOut
    lines: list[LineOut]
    #: The order's total; for a seller, the total of its own lines.
    total: Money
    currency: str
    incoterm: str | None
    logistics_quote_id: str | None
    logistics_option_id: str | None
    shipment_id: str | None
    gross_weight_kg: str
    landed_cost: LandedCostOut | None
    placed_at: datetime
    updated_at: datetime
    version: int


class TransitionOut(BaseModel):
    from_status: str | None
    to_status: str
    action: str
    actor: str | None
    event_id: str | None
    event_type: str | None
    note: str | None
    at: datetime


class HistoryOut(BaseModel):
    order_id: str
    status: OrderStatus
    transitions: list[TransitionOut]


class TrendOut(BaseModel):
    direction: TrendDirection
    change_percent: str | None


class CityOut(BaseModel):
    country: str
    city: str
    units: int


class DemandRow(BaseModel):
    category: str
    hs_code: str
    currency: str
    units: int
    value: Money
    distinct_buyers: int
    median_unit_price: Money | None
    top_cities: list[CityOut]
    units_trend: TrendOut
    value_trend: TrendOut
    #: The caller's (a seller's) share of the value, percent.
    seller_share_percent: str | None = None


class DemandOut(BaseModel):
    window_days: int
    start: datetime
    end: datetime
    rows: list[DemandRow]


def dump(model: BaseModel) -> dict[str, Any]:
    return model.model_dump(mode="json")
