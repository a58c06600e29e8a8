"""Rate cards: one carrier's prices on one lane for one mode, in one currency, for a date range.

Guarantee: a `RateCard` that exists is self-consistent (known places and currency, breaks from 0 kg
strictly increasing, nothing negative, a positive rounding step and volumetric ratio, valid dates)
and immutable; a price change is a new version, and `current_cards` picks the newest version valid
on the day for each carrier, so a quote already issued never changes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from enum import StrEnum

from services.logistics.config import Mode, VolumetricRatio
from services.logistics.domain.incoterms import check_locode
from shared.money import minor_units

__all__ = ["RateCard", "Surcharge", "SurchargeBasis", "SurchargeKind", "WeightBreak", "current_cards"]


class SurchargeKind(StrEnum):
    FUEL = "fuel"  # air fuel surcharge, driven by a fuel index; can exceed the base rate
    SECURITY = "security"
    THC = "thc"  # terminal handling charge
    BAF = "baf"  # bunker adjustment factor (sea fuel)
    CAF = "caf"  # currency adjustment factor
    DOCUMENTATION = "documentation"  # AWB / bill of lading / CMR fee


class SurchargeBasis(StrEnum):
    PERCENT_OF_FREIGHT = "percent_of_freight"  # value is a percentage of the freight charge
    PER_KG = "per_kg"  # value per chargeable kg (sea: per kg of W/M, i.e. per W/M ÷ 1,000)
    PER_SHIPMENT = "per_shipment"  # a flat fee


@dataclass(frozen=True, slots=True)
class Surcharge:
    """One surcharge. `included` means the freight rate already contains it: the quote itemises its
    amount for transparency but does not add it to the total."""

    kind: SurchargeKind
    basis: SurchargeBasis
    value: Decimal
    included: bool = False


@dataclass(frozen=True, slots=True)
class WeightBreak:
    """From `from_kg` chargeable kg upward, each chargeable kg costs `price_per_kg`."""

    from_kg: Decimal
    price_per_kg: Decimal


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class RateCard:
    """One carrier's prices on one lane for one mode, in one currency, for a date range.

    Cards are immutable: a price change is a new card with a higher `version`, and a quote keeps the
    figures it computed, so a new version never changes a quote already issued. `None` for the
    rounding, floor and volumetric fields means the mode's default from `config.py`.
    """

    card_id: str
    version: int
    carrier: str
    mode: Mode
    origin: str
    destination: str
    currency: str
    breaks: tuple[WeightBreak, ...]
    minimum_charge: Decimal
    transit_days: int
    valid_from: date
    valid_to: date  # inclusive
    surcharges: tuple[Surcharge, ...] = ()
    rounding_step_kg: Decimal | None = None
    min_chargeable_kg: Decimal | None = None
    volumetric: VolumetricRatio | None = None

    def __post_init__(self) -> None:
        check_locode(self.origin, "origin")
        check_locode(self.destination, "destination")
        minor_units(self.currency)  # ValueError for a code that cannot price
        problems = []
        if self.origin == self.destination:
            problems.append("origin and destination are the same place")
        if self.version < 1:
            problems.append("version starts at 1")
        if not self.breaks or self.breaks[0].from_kg != 0:
            problems.append("the first weight break must start at 0 kg")
        if any(a.from_kg >= b.from_kg for a, b in zip(self.breaks, self.breaks[1:], strict=False)):
            problems.append("weight breaks must strictly increase")
        if any(b.price_per_kg < 0 for b in self.breaks) or self.minimum_charge < 0:
            problems.append("prices cannot be negative")
        if any(s.value < 0 for s in self.surcharges):
            problems.append("surcharges cannot be negative")
        if self.transit_days < 1:
            problems.append("transit takes at least one day")
        if self.valid_to < self.valid_from:
            problems.append("valid_to is before valid_from")
        if self.rounding_step_kg is not None and self.rounding_step_kg <= 0:
            problems.append("the rounding step must be positive")
        if self.volumetric is not None and (self.volumetric.kg < 1 or self.volumetric.per_cm3 < 1):
            problems.append("the volumetric ratio must be positive")
        if problems:
            raise ValueError(f"rate card {self.card_id} v{self.version}: " + "; ".join(problems))

    def is_valid_on(self, day: date) -> bool:
        return self.valid_from <= day <= self.valid_to

    @property
    def expires_at(self) -> datetime:
        """The first instant (UTC) the card no longer applies."""
        return _utc_midnight(self.valid_to + timedelta(days=1))

    def rate_for(self, chargeable_kg: Decimal) -> Decimal:
        """The price per kg of the highest break the chargeable weight reaches."""
        return next(b.price_per_kg for b in reversed(self.breaks) if chargeable_kg >= b.from_kg)


def current_cards(cards: Iterable[RateCard], mode: Mode, origin: str, destination: str, day: date) -> list[RateCard]:
    """The newest valid version of each carrier's card for the lane on `day`."""
    newest: dict[str, RateCard] = {}
    for card in cards:
        if (card.mode, card.origin, card.destination) != (mode, origin, destination):
            continue
        if not card.is_valid_on(day):
            continue
        held = newest.get(card.carrier)
        if held is None or card.version > held.version:
            newest[card.carrier] = card
    return [newest[carrier] for carrier in sorted(newest)]
