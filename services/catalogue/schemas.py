"""Request and response models of the catalogue API."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    WithJsonSchema,
    field_validator,
)

from services.catalogue.domain import (
    Availability,
    Certification,
    Condition,
    ListingStatus,
    OutOfStockPolicy,
    StockReason,
)
from shared.money import Money, MoneyIn
from shared.types import (
    Bool,
    BoundedDate,
    Currency,
    Gtin,
    HsCode,
    Id,
    IntRange,
    Line,
    NationalTariffCode,
    Nullable,
    PatchModel,
    RequestModel,
    Sku,
    Text,
    Url,
    UtcDatetime,
)

# Every text field is a Line or Text from shared/types.py: no NUL (PostgreSQL refuses it), no lone
# surrogate (unencodable), no control characters (the CSV and XML feeds carry these fields). Every
# code is an ASCII Code (HsCode, NationalTariffCode, Gtin with its check digit, Sku, Currency) and
# every integer has bounds that fit its INTEGER column and refuses booleans.
Title = Annotated[str, Line(150)]
Description = Annotated[str, Text(5000)]
ShortText = Annotated[str, Line(70)]
CategoryId = Annotated[str, Line(50)]
SourceName = Annotated[str, Line(100)]
Note = Annotated[str, Text(500, min_length=0)]


def _decimal_text(value: Any) -> Any:
    """A decimal given as a string is ASCII: `Decimal()` would read fullwidth or Arabic-Indic digits."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, str) and not (value.isascii() and _PLAIN_DECIMAL.fullmatch(value.strip())):
        raise ValueError("must be a decimal number written with ASCII digits, such as 12.5")
    return value


_PLAIN_DECIMAL = re.compile(r"[0-9]{1,15}(\.[0-9]{1,15})?", re.ASCII)

Centimetres = Annotated[
    Decimal,
    BeforeValidator(_decimal_text),
    Field(gt=0, le=1000, decimal_places=1, description="Centimetres, 0.1 cm steps."),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
                {"type": "string", "pattern": r"^[0-9]{1,4}(\.[0-9])?$"},
            ],
            "description": "Centimetres, 0.1 cm steps.",
        }
    ),
]
Grams = Annotated[int, IntRange(1, 1_000_000), Field(description="Grams per unit, net of packaging.")]
#: Stock on hand as given in one request; the running total is capped at the INTEGER column by the
#: stock repository (an adjustment past it is a 409).
StockQuantity = Annotated[int, IntRange(0, 1_000_000_000)]
StockDelta = Annotated[int, IntRange(-1_000_000_000, 1_000_000_000)]
Images = Annotated[list[Url], Field(max_length=10, description="Image URLs; the first is `image_link`.")]
Certifications = Annotated[list[Certification], Field(max_length=10)]
Attributes = Annotated[
    dict[Annotated[str, Line(50)], Any],
    Field(max_length=30, description="Per-category product attributes; see GET /v1/categories."),
]


class Dimensions(RequestModel):
    """Packed dimensions, for volumetric weight."""

    length_cm: Centimetres
    width_cm: Centimetres
    height_cm: Centimetres


def _positive_price(value: MoneyIn) -> MoneyIn:
    if value.minor <= 0:
        raise ValueError("must be greater than zero")
    return value


Price = Annotated[MoneyIn, AfterValidator(_positive_price)]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an entry")
    return values


class ListingCreate(RequestModel):
    #: Ops name the seller; a seller key may omit it (it is the key's seller).
    seller_id: Id | None = None
    sku: Sku
    title: Title
    description: Description
    category: CategoryId
    hs_code: HsCode
    national_tariff_code: NationalTariffCode | None = None
    price: Price
    unit_net_weight_g: Grams
    packed_dimensions: Dimensions
    condition: Condition = Condition.NEW
    brand: ShortText | None = None
    gtin: Gtin | None = None
    mpn: ShortText | None = None
    identifier_exists: Bool = True
    images: Annotated[Images, AfterValidator(_unique)] = Field(default_factory=list)
    origin_country: Literal["RW"] = "RW"
    attributes: Attributes = Field(default_factory=dict)
    certifications: Annotated[Certifications, AfterValidator(_unique)] = Field(default_factory=list)
    on_hand: StockQuantity = 0
    out_of_stock_policy: OutOfStockPolicy = OutOfStockPolicy.OUT_OF_STOCK
    availability_date: BoundedDate | None = None


class ListingUpdate(PatchModel):
    """A partial update: only the fields given change. Stock changes go through stock adjustments.

    `null` clears only the optional identifiers and the availability date (the `Nullable` fields); a
    `null` for any other field is a 422 naming it.
    """

    sku: Sku | None = None
    title: Title | None = None
    description: Description | None = None
    category: CategoryId | None = None
    hs_code: HsCode | None = None
    national_tariff_code: Nullable[NationalTariffCode] = None
    price: Price | None = None
    unit_net_weight_g: Grams | None = None
    packed_dimensions: Dimensions | None = None
    condition: Condition | None = None
    brand: Nullable[ShortText] = None
    gtin: Nullable[Gtin] = None
    mpn: Nullable[ShortText] = None
    identifier_exists: Bool | None = None
    images: Annotated[Images, AfterValidator(_unique)] | None = None
    attributes: Attributes | None = None
    certifications: Annotated[Certifications, AfterValidator(_unique)] | None = None
    out_of_stock_policy: OutOfStockPolicy | None = None
    availability_date: Nullable[BoundedDate] = None


class StockAdjustmentIn(RequestModel):
    """Either `delta` (received +50, damaged -3) or `on_hand` (a stock count), with the reason."""

    delta: StockDelta | None = None
    on_hand: StockQuantity | None = None
    reason: StockReason
    note: Note | None = None


def _decimal_rate(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a decimal number")
    if isinstance(value, str) and not (value.isascii() and _RATE.fullmatch(value.strip())):
        raise ValueError("must be a decimal number written with ASCII digits, such as 7.2345")
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError("must be greater than zero")
    if len(rate.normalize().as_tuple().digits) > 20 or rate > Decimal("1e12") or rate < Decimal("1e-12"):
        raise ValueError("must have at most 20 significant digits and lie between 1e-12 and 1e12")
    return rate


_RATE = re.compile(r"[-+]?[0-9]{1,20}(\.[0-9]{1,20})?([eE][-+]?[0-9]{1,2})?", re.ASCII)


class FxRateIn(RequestModel):
    """1 `base` = `rate` `quote`, as published by `source` at `as_of`."""

    base: Currency
    quote: Currency
    rate: Annotated[
        Decimal,
        WithJsonSchema({"type": "string", "pattern": r"^[0-9]{1,20}(\.[0-9]{1,20})?$", "examples": ["7.2345"]}),
    ]
    source: SourceName
    as_of: UtcDatetime

    @field_validator("rate", mode="before")
    @classmethod
    def _rate(cls, value: Any) -> Decimal:
        return _decimal_rate(value)

    @field_validator("quote", mode="after")
    @classmethod
    def _distinct(cls, value: str, info: Any) -> str:
        if info.data.get("base") == value:
            raise ValueError("must differ from base")
        return value


class FxRateOut(BaseModel):
    base: str
    quote: str
    rate: str
    source: str
    as_of: datetime
    set_by: str
    updated_at: datetime


class FxRatesOut(BaseModel):
    items: list[FxRateOut]


# --------------------------------------------------------------------------------------------------
# Responses


class DimensionsOut(BaseModel):
    length_cm: float
    width_cm: float
    height_cm: float


class DisplayPrice(BaseModel):
    """An indicative price: the charge uses the settlement rate at purchase."""

    amount: str
    currency: str
    amount_minor: int
    rate: str
    source: str
    as_of: datetime | None


class StockLevel(BaseModel):
    on_hand: int
    reserved: int
    available: int
    availability: Availability
    availability_date: date | None
    out_of_stock_policy: OutOfStockPolicy


class ListingOut(BaseModel):
    id: str
    seller_id: str
    sku: str
    title: str
    description: str
    category: str
    product_type: str
    hs_code: str
    national_tariff_code: str | None
    price: Money
    #: Indicative prices keyed by currency (CNY, RWF); a currency without a rate is absent.
    display_prices: dict[str, DisplayPrice]
    unit_net_weight_g: int
    packed_dimensions: DimensionsOut
    condition: Condition
    brand: str | None
    gtin: str | None
    mpn: str | None
    identifier_exists: bool
    images: list[str]
    image_link: str | None
    origin_country: str
    attributes: dict[str, Any]
    certifications: list[str]
    status: ListingStatus
    withdrawn_reason: str | None
    stock: StockLevel
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None


class StockAdjustmentOut(BaseModel):
    id: int
    delta: int
    on_hand_after: int
    reason: str
    note: str | None
    actor: str
    at: datetime


class StockOut(BaseModel):
    listing_id: str
    version: int
    stock: StockLevel
    recent_adjustments: list[StockAdjustmentOut]


class AttributeOut(BaseModel):
    name: str
    type: str
    description: str
    required: bool = False
    choices: list[str] | None = None
    minimum: int | str | None = None
    maximum: int | str | None = None
    max_length: int | None = None
    decimal_places: int | None = None


class CategoryOut(BaseModel):
    id: str
    name: str
    path: str
    parent: str | None
    leaf: bool
    hs_prefixes: list[str]
    attributes: list[AttributeOut]
    children: list[CategoryOut]


class CategoriesOut(BaseModel):
    items: list[CategoryOut]


class ListingSort(StrEnum):
    NEWEST = "-created_at"
    OLDEST = "created_at"
    PRICE_ASC = "price"
    PRICE_DESC = "-price"
    TITLE = "title"


class FeedFormat(StrEnum):
    JSONL = "jsonl"
    CSV = "csv"
    XML = "xml"


class ChangeOut(BaseModel):
    seq: int
    op: Literal["upsert", "delete"]
    listing_id: str
    version: int
    changed_at: datetime
    #: Why a tombstone was written: withdrawn_by_seller, seller_suspended, deleted.
    reason: str | None = None
    #: The listing as it is now, in the feed's JSON shape; null for a tombstone.
    item: dict[str, Any] | None = None


class ChangesPage(BaseModel):
    items: list[ChangeOut]
    next_cursor: str
    has_more: bool
