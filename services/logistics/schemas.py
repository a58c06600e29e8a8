"""Request and response models of the logistics API.

Requests are strict (unknown fields refused) and built from shared/types.py, so bad input of every
kind is a 422 naming the field before any rule runs. Weights and dimensions accept JSON numbers as
well as decimal strings (apps send `12.5`), but never booleans, non-ASCII digits, NaN or more than
three decimal places; the domain's own limits (config.py) are the bounds.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Self

from pydantic import BaseModel, BeforeValidator, Field, model_validator

from services.logistics.config import DEFAULT_CONFIG, Mode
from services.logistics.domain.incoterms import Incoterm
from services.logistics.domain.ratecards import SurchargeBasis, SurchargeKind
from services.logistics.domain.tracking import Classifier, ShipmentStatus, TrackingCode
from shared.money import Money
from shared.types import (
    Amount,
    Bool,
    BoundedDate,
    Code,
    Currency,
    Line,
    PositiveInt32,
    RequestModel,
    UnLocode,
    UtcDatetime,
)

__all__ = [
    "ChargeOut",
    "LegOut",
    "OptionOut",
    "ParcelIn",
    "QuoteOut",
    "QuoteRequest",
    "RateCardIn",
    "RateCardOut",
    "ShipmentOut",
    "TrackingEventIn",
    "TrackingEventOut",
    "WeightBreakIn",
    "WeightOut",
]

_LIMITS = DEFAULT_CONFIG.limits
_MEASURE = re.compile(r"[0-9]{1,9}(\.[0-9]{1,3})?", re.ASCII)


def _measure(value: Any) -> Any:
    """A weight or length: a JSON number or a decimal string, at most 3 places, ASCII digits only."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not a boolean")
    if isinstance(value, float):
        value = repr(value)
    if isinstance(value, int):
        value = str(value)
    if not isinstance(value, str):
        raise ValueError('must be a number such as 12.5 or "12.5"')
    text = value.strip()
    if text.startswith("-"):
        raise ValueError("must be greater than 0")
    if not _MEASURE.fullmatch(text):
        raise ValueError("must be a positive number with at most 3 decimal places, in ASCII digits")
    try:
        return Decimal(text)
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid decimals
        raise ValueError("must be a number") from None


Kilograms = Annotated[
    Decimal,
    BeforeValidator(_measure),
    Field(gt=0, le=_LIMITS.max_parcel_weight_kg, description="Kilograms per parcel (at most 3 places)."),
]
Centimetres = Annotated[
    Decimal,
    BeforeValidator(_measure),
    Field(gt=0, le=_LIMITS.max_dimension_cm, description="Centimetres (at most 3 places)."),
]


# --- quotes --------------------------------------------------------------------------------------


class ParcelIn(RequestModel):
    """`count` identical parcels, each weighing `weight_kg` and measuring L × W × H cm."""

    count: Annotated[PositiveInt32, Field(le=_LIMITS.max_parcels)]
    weight_kg: Kilograms
    length_cm: Centimetres
    width_cm: Centimetres
    height_cm: Centimetres


class QuoteRequest(RequestModel):
    origin: UnLocode
    destination: UnLocode
    incoterm: Annotated[Incoterm, Field(description="An Incoterms 2020 rule; FAS/FOB/CFR/CIF are sea only.")]
    mode: Annotated[Mode | None, Field(description="One mode; all the Incoterm allows when absent.")] = None
    parcels: Annotated[list[ParcelIn], Field(min_length=1, max_length=_LIMITS.max_parcel_lines)]

    @model_validator(mode="after")
    def _consignment_is_bounded(self) -> Self:
        total = sum(p.count for p in self.parcels)
        if total > _LIMITS.max_parcels:
            raise ValueError(f"at most {_LIMITS.max_parcels} parcels in all, not {total}")
        if self.origin == self.destination:
            raise ValueError("origin and destination must differ")
        return self


class WeightOut(BaseModel):
    actual_kg: str
    volume_cm3: str
    volumetric_kg: str
    chargeable_kg: str


class ChargeOut(BaseModel):
    code: str
    amount: Money
    #: True: already inside the freight rate; shown for transparency, not added to the total.
    included: bool
    detail: str


class LegOut(BaseModel):
    rate_card_id: str
    rate_card_version: int
    carrier: str
    mode: Mode
    origin: str
    destination: str
    chargeable_weight: WeightOut
    charges: list[ChargeOut]
    total: Money
    transit_days: int
    valid_until: datetime


class OptionOut(BaseModel):
    option_id: str
    mode: Mode
    carrier: str
    #: The port where a road + sea option changes mode.
    via: str | None
    legs: list[LegOut]
    total: Money
    transit_days: int
    valid_until: datetime


class ParcelOut(BaseModel):
    count: int
    weight_kg: str
    length_cm: str
    width_cm: str
    height_cm: str


class QuoteOut(BaseModel):
    id: str
    requested_by: str
    origin: str
    destination: str
    incoterm: Incoterm
    mode: Mode | None
    parcels: list[ParcelOut]
    actual_weight_kg: str
    options: list[OptionOut]
    #: Why there are no options (no lane, no card valid today); null when there are some.
    reason: str | None
    #: Options left out and why (e.g. legs priced in two currencies without a recorded FX rate).
    skipped: list[str]
    created_at: datetime


# --- rate cards ----------------------------------------------------------------------------------

CardId = Annotated[
    str,
    Code(
        r"^[A-Z0-9][A-Z0-9-]{0,63}$",
        description="The card's stable id across versions: capitals, digits and hyphens.",
        examples=("ET-AIR-RWKGL-CNPVG",),
    ),
]
Price = Amount  # a non-negative decimal string, at most 6 places
TransitDays = Annotated[PositiveInt32, Field(le=365)]


class WeightBreakIn(RequestModel):
    from_kg: Price
    price_per_kg: Price


class SurchargeIn(RequestModel):
    kind: SurchargeKind
    basis: SurchargeBasis
    value: Price
    included: Bool = False


class VolumetricIn(RequestModel):
    """The card's volumetric ratio: `kg` chargeable kg per `per_cm3` cm³ (air divisor 6000 is
    `{"kg": 1, "per_cm3": 6000}`; road 333 kg/m³ is `{"kg": 333, "per_cm3": 1000000}`)."""

    kg: Annotated[PositiveInt32, Field(le=1_000_000)]
    per_cm3: Annotated[PositiveInt32, Field(le=1_000_000_000)]


class VolumetricOut(BaseModel):
    kg: int
    per_cm3: int


class RateCardIn(RequestModel):
    """A new card, or the next version of an existing `card_id` (the server assigns the version)."""

    card_id: CardId
    carrier: Annotated[str, Line(200)]
    mode: Mode
    origin: UnLocode
    destination: UnLocode
    currency: Currency
    breaks: Annotated[list[WeightBreakIn], Field(min_length=1, max_length=20)]
    minimum_charge: Price
    surcharges: Annotated[list[SurchargeIn], Field(max_length=20)] = Field(default_factory=list)
    transit_days: TransitDays
    valid_from: BoundedDate
    valid_to: BoundedDate
    rounding_step_kg: Annotated[Price, Field(gt=0)] | None = None
    min_chargeable_kg: Price | None = None
    #: The card's own volumetric ratio; absent: the mode's (air 1:6000, courier 1:5000, sea 1 CBM =
    #: 1,000 kg, road 333 kg/m³). Chargeable weight rounds up to `rounding_step_kg` either way.
    volumetric: VolumetricIn | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.origin == self.destination:
            raise ValueError("origin and destination must differ")
        if self.valid_to < self.valid_from:
            raise ValueError("valid_to must not be before valid_from")
        if self.breaks[0].from_kg != 0:
            raise ValueError("the first weight break must start at 0 kg")
        steps = [b.from_kg for b in self.breaks]
        if any(a >= b for a, b in zip(steps, steps[1:], strict=False)):
            raise ValueError("weight breaks must strictly increase")
        return self


class WeightBreakOut(BaseModel):
    from_kg: str
    price_per_kg: str


class SurchargeOut(BaseModel):
    kind: SurchargeKind
    basis: SurchargeBasis
    value: str
    included: bool


class RateCardOut(BaseModel):
    card_id: str
    version: int
    carrier: str
    mode: Mode
    origin: str
    destination: str
    currency: str
    breaks: list[WeightBreakOut]
    minimum_charge: str
    surcharges: list[SurchargeOut]
    transit_days: int
    valid_from: date
    valid_to: date
    rounding_step_kg: str | None
    min_chargeable_kg: str | None
    volumetric: VolumetricOut | None
    created_by: str
    created_at: datetime


# --- shipments -----------------------------------------------------------------------------------


class TrackingEventIn(RequestModel):
    code: TrackingCode
    classifier: Classifier = Classifier.ACTUAL
    at: UtcDatetime
    location: UnLocode


class TrackingEventOut(BaseModel):
    code: TrackingCode
    classifier: Classifier
    at: datetime
    location: str


class ShipmentOut(BaseModel):
    id: str
    order_id: str
    quote_id: str
    option_id: str | None
    status: ShipmentStatus
    mode: Mode | None
    carrier: str | None
    tracking_number: str | None
    failure_reason: str | None
    gross_weight_kg: str | None
    total: Money | None
    created_at: datetime
    updated_at: datetime
    timeline: list[TrackingEventOut]
