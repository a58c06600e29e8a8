"""Parcels and chargeable weight.

Guarantee: a consignment that reaches pricing is bounded (`check_parcels`: 422 per bad field), and
its chargeable weight is max(actual, volumetric) of the whole consignment (totals, as carriers bill),
with the card's volumetric ratio and rounding step or else the mode's (air 1:6000, courier 1:5000,
sea W/M 1 CBM = 1,000 kg, road 333 kg/m³), rounded UP, floored at the card's or mode's minimum.
All arithmetic is exact Decimal.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal

from services.logistics.config import DEFAULT_CONFIG, LogisticsConfig
from services.logistics.domain.incoterms import InvalidQuoteRequest
from services.logistics.domain.ratecards import RateCard

__all__ = [
    "ChargeableWeight",
    "Parcel",
    "Totals",
    "chargeable_from_totals",
    "chargeable_weight",
    "check_parcels",
    "consignment_totals",
    "round_up",
]


@dataclass(frozen=True, slots=True)
class Parcel:
    count: int
    weight_kg: Decimal  # per parcel
    length_cm: Decimal
    width_cm: Decimal
    height_cm: Decimal

    @property
    def volume_cm3(self) -> Decimal:
        return self.length_cm * self.width_cm * self.height_cm


def check_parcels(parcels: Sequence[Parcel], config: LogisticsConfig = DEFAULT_CONFIG) -> None:
    """Refuse (422, one error per bad field) what cannot be a real consignment."""
    limits = config.limits
    errors: list[dict[str, str]] = []
    if not parcels:
        errors.append({"field": "parcels", "reason": "at least one parcel line is required"})
    if len(parcels) > limits.max_parcel_lines:
        errors.append({"field": "parcels", "reason": f"at most {limits.max_parcel_lines} lines"})
    for i, p in enumerate(parcels):
        where = f"parcels.{i}"
        if not 1 <= p.count <= limits.max_parcels:
            errors.append({"field": f"{where}.count", "reason": f"between 1 and {limits.max_parcels}"})
        if not (p.weight_kg.is_finite() and 0 < p.weight_kg <= limits.max_parcel_weight_kg):
            message = f"greater than 0 and at most {limits.max_parcel_weight_kg} kg"
            errors.append({"field": f"{where}.weight_kg", "reason": message})
        for name in ("length_cm", "width_cm", "height_cm"):
            value: Decimal = getattr(p, name)
            if not (value.is_finite() and 0 < value <= limits.max_dimension_cm):
                message = f"greater than 0 and at most {limits.max_dimension_cm} cm"
                errors.append({"field": f"{where}.{name}", "reason": message})
    total = sum(p.count for p in parcels)
    if parcels and total > limits.max_parcels:
        errors.append({"field": "parcels", "reason": f"at most {limits.max_parcels} parcels in all, not {total}"})
    if errors:
        raise InvalidQuoteRequest("The parcels cannot be quoted.", errors=errors)


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """`value` rounded up to a whole multiple of `step` (14.625 by 0.5 → 15.0; 14.2 by 0.5 → 14.5)."""
    return (value / step).to_integral_value(rounding=ROUND_CEILING) * step


@dataclass(frozen=True, slots=True)
class ChargeableWeight:
    actual_kg: Decimal
    volume_cm3: Decimal
    volumetric_kg: Decimal
    chargeable_kg: Decimal  # max(actual, volumetric), rounded up, floored at the card's minimum


#: (actual kg, volume cm³) of a consignment.
Totals = tuple[Decimal, Decimal]


def consignment_totals(parcels: Sequence[Parcel]) -> Totals:
    """(actual kg, volume cm³) of the consignment: computed once per quote, whatever the legs."""
    actual = sum((p.weight_kg * p.count for p in parcels), Decimal(0))
    volume = sum((p.volume_cm3 * p.count for p in parcels), Decimal(0))
    return actual, volume


def chargeable_weight(
    parcels: Sequence[Parcel], card: RateCard, config: LogisticsConfig = DEFAULT_CONFIG
) -> ChargeableWeight:
    """Chargeable weight of the whole consignment (totals, not parcel by parcel, as carriers bill).

    Sea W/M is expressed in kg too (1 W/M = 1,000 kg = 1 CBM), so every card prices per kg.
    """
    return chargeable_from_totals(consignment_totals(parcels), card, config)


def chargeable_from_totals(totals: Totals, card: RateCard, config: LogisticsConfig) -> ChargeableWeight:
    defaults = config.mode_defaults[card.mode]
    ratio = card.volumetric or defaults.volumetric
    step = card.rounding_step_kg or defaults.rounding_step_kg
    floor = defaults.min_chargeable_kg if card.min_chargeable_kg is None else card.min_chargeable_kg
    actual, volume = totals
    volumetric = ratio.weight_kg(volume)
    chargeable = max(round_up(max(actual, volumetric), step), floor)
    return ChargeableWeight(actual, volume, volumetric, chargeable)
