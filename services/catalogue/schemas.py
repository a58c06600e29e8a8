"""Request and response models of the catalogue API."""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    HttpUrl,
    StringConstraints,
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
from shared.money import CurrencyCode, Money, minor_units

# Text that ends up in CSV and XML feeds: no control characters (XML 1.0 cannot carry them) and no
# lone surrogates or non-characters (they cannot be encoded).
_BAD_LINE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff\ufffe\uffff]")
_BAD_TEXT = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff]")


def _single_line(value: str) -> str:
    if _BAD_LINE.search(value):
        raise ValueError("must not contain control characters or line breaks")
    return value


def _text(value: str) -> str:
    if _BAD_TEXT.search(value):
        raise ValueError("must not contain control characters")
    return value


Title = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=150), AfterValidator(_single_line)
]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), AfterValidator(_text)
]
Sku = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=50, pattern=r"^[A-Za-z0-9][A-Za-z0-9._\-/]*$"),
    Field(description="The seller's stock-keeping unit; unique per seller."),
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=70), AfterValidator(_single_line)
]
HsCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$"), Field(description="HS subheading, 6 digits.")]
NationalTariffCode = Annotated[
    str, StringConstraints(pattern=r"^\d{8,10}$"), Field(description="National tariff line (8-10 digits).")
]
Gtin = Annotated[str, StringConstraints(pattern=r"^(\d{8}|\d{12,14})$"), Field(description="GTIN-8/12/13/14.")]
CategoryId = Annotated[str, StringConstraints(min_length=1, max_length=50)]
Centimetres = Annotated[Decimal, Field(gt=0, le=1000, decimal_places=1, description="Centimetres, 0.1 cm steps.")]
Grams = Annotated[int, Field(ge=1, le=1_000_000, description="Grams per unit, net of packaging.")]
StockQuantity = Annotated[int, Field(ge=0, le=1_000_000_000)]
ImageUrl = Annotated[HttpUrl, Field(max_length=2000)]
Images = Annotated[list[ImageUrl], Field(max_length=10, description="Image URLs; the first is `image_link`.")]
Certifications = Annotated[list[Certification], Field(max_length=10)]
Attributes = Annotated[
    dict[Annotated[str, StringConstraints(max_length=50)], Any],
    Field(max_length=30, description="Per-category product attributes; see GET /v1/categories."),
]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Dimensions(_Strict):
    """Packed dimensions, for volumetric weight."""

    length_cm: Centimetres
    width_cm: Centimetres
    height_cm: Centimetres


def _positive_price(value: Money) -> Money:
    if value.minor <= 0:
        raise ValueError("must be greater than zero")
    return value


Price = Annotated[Money, AfterValidator(_positive_price)]


def _unique(values: list[Any]) -> list[Any]:
    if len(set(values)) != len(values):
        raise ValueError("must not repeat an entry")
    return values


class ListingCreate(_Strict):
    #: Ops name the seller; a seller key may omit it (it is the key's seller).
    seller_id: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
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
    identifier_exists: bool = True
    images: Annotated[Images, AfterValidator(_unique)] = Field(default_factory=list)
    origin_country: Literal["RW"] = "RW"
    attributes: Attributes = Field(default_factory=dict)
    certifications: Annotated[Certifications, AfterValidator(_unique)] = Field(default_factory=list)
    on_hand: StockQuantity = 0
    out_of_stock_policy: OutOfStockPolicy = OutOfStockPolicy.OUT_OF_STOCK
    availability_date: date | None = None


#: Fields of an update that may be set to null (to clear them).
NULLABLE_UPDATES = frozenset({"national_tariff_code", "brand", "gtin", "mpn", "availability_date"})


class ListingUpdate(_Strict):
    """A partial update: only the fields given change. Stock changes go through stock adjustments."""

    sku: Sku | None = None
    title: Title | None = None
    description: Description | None = None
    category: CategoryId | None = None
    hs_code: HsCode | None = None
    national_tariff_code: NationalTariffCode | None = None
    price: Price | None = None
    unit_net_weight_g: Grams | None = None
    packed_dimensions: Dimensions | None = None
    condition: Condition | None = None
    brand: ShortText | None = None
    gtin: Gtin | None = None
    mpn: ShortText | None = None
    identifier_exists: bool | None = None
    images: Annotated[Images, AfterValidator(_unique)] | None = None
    attributes: Attributes | None = None
    certifications: Annotated[Certifications, AfterValidator(_unique)] | None = None
    out_of_stock_policy: OutOfStockPolicy | None = None
    availability_date: date | None = None

    @field_validator(
        "sku",
        "title",
        "description",
        "category",
        "hs_code",
        "price",
        "unit_net_weight_g",
        "packed_dimensions",
        "condition",
        "identifier_exists",
        "images",
        "attributes",
        "certifications",
        "out_of_stock_policy",
        mode="after",
    )
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null")
        return value


class StockAdjustmentIn(_Strict):
    """Either `delta` (received +50, damaged -3) or `on_hand` (a stock count), with the reason."""

    delta: Annotated[int, Field(ge=-1_000_000_000, le=1_000_000_000)] | None = None
    on_hand: StockQuantity | None = None
    reason: StockReason
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500), AfterValidator(_text)] | None = None


def _decimal_rate(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be a decimal number")
    try:
        rate = Decimal(str(value))
    except InvalidOperation:
        raise ValueError("must be a decimal number") from None
    if not rate.is_finite() or rate <= 0:
        raise ValueError("must be greater than zero")
    if len(rate.normalize().as_tuple().digits) > 20 or rate > Decimal("1e12") or rate < Decimal("1e-12"):
        raise ValueError("must have at most 20 significant digits and lie between 1e-12 and 1e12")
    return rate


def _known_currency(value: str) -> str:
    minor_units(value)  # ValueError for codes ISO 4217 does not list
    return value


Currency = Annotated[CurrencyCode, AfterValidator(_known_currency)]


class FxRateIn(_Strict):
    """1 `base` = `rate` `quote`, as published by `source` at `as_of`."""

    base: Currency
    quote: Currency
    rate: Annotated[Decimal, Field(json_schema_extra={"type": "string", "examples": ["7.2345"]})]
    source: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
    as_of: AwareDatetime

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
