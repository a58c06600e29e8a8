"""Logistics figures that are configuration, not law: DOMAIN.md section 5 marks them [U].

One frozen dataclass of defaults per concern; phase 2 exposes them through the service's settings.
Every figure says where it comes from, so a reviewer can tell a convention from a guess.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum


class Mode(StrEnum):
    AIR = "air"
    SEA = "sea"
    ROAD = "road"
    COURIER = "courier"


@dataclass(frozen=True, slots=True)
class VolumetricRatio:
    """How many kg one volume counts as: `kg` per `per_cm3` cm³.

    Kept as two integers so the volumetric weight stays an exact Decimal for every mode (air 1 kg per
    6,000 cm³ gives 14.625 exactly; road 333 kg per m³ has no exact cm³-per-kg divisor).
    """

    kg: int
    per_cm3: int

    def weight_kg(self, volume_cm3: Decimal) -> Decimal:
        return volume_cm3 * self.kg / self.per_cm3


@dataclass(frozen=True, slots=True)
class ModeDefaults:
    """What a rate card of this mode uses unless it says otherwise."""

    #: Volumetric conversion (air: IATA 6000; courier: 5000; sea W/M: 1 CBM = 1,000 kg; road: 333 kg/m³).
    volumetric: VolumetricRatio
    #: Chargeable weight rounds UP to a multiple of this (air: next 0.5 kg, the usual IATA practice).
    rounding_step_kg: Decimal
    #: Floor of the chargeable weight (sea LCL: 1 W/M, i.e. 1,000 kg; others: none).
    min_chargeable_kg: Decimal
    #: How long a quote holds: airline prices hold a very short window (often the same day).
    quote_validity: timedelta


_M3 = 1_000_000  # cm³ in one m³

#: Sources: DOMAIN.md section 5 (air 6000 and courier 5000 divisors, W/M 1 CBM = 1,000 kg with a 1 W/M
#: minimum, road 333 kg/m³). Rounding steps and validity windows are [U] conventions, not rules.
MODE_DEFAULTS: dict[Mode, ModeDefaults] = {
    Mode.AIR: ModeDefaults(VolumetricRatio(1, 6000), Decimal("0.5"), Decimal(0), timedelta(hours=24)),
    Mode.COURIER: ModeDefaults(VolumetricRatio(1, 5000), Decimal("0.5"), Decimal(0), timedelta(days=3)),
    Mode.SEA: ModeDefaults(VolumetricRatio(1000, _M3), Decimal(1), Decimal(1000), timedelta(days=7)),
    Mode.ROAD: ModeDefaults(VolumetricRatio(333, _M3), Decimal(1), Decimal(0), timedelta(days=7)),
}


@dataclass(frozen=True, slots=True)
class QuoteLimits:
    """Bounds on a quote request; beyond them the request is refused (422), never computed.

    [U]: chosen to fit Int32 columns and to keep one quote a cheap computation, not carrier rules.
    """

    max_parcels: int = 999  # total parcel count per request (10,000 is refused, see issue 11)
    max_parcel_lines: int = 100
    max_parcel_weight_kg: Decimal = Decimal(30_000)  # a loaded 40' container is ~26-28 t
    max_dimension_cm: Decimal = Decimal(1_400)  # a 40' high cube is ~1,203 cm long inside
    #: Days a transshipment at the port adds between a road leg and a sea leg [U].
    port_dwell_days: int = 3


@dataclass(frozen=True, slots=True)
class LogisticsConfig:
    mode_defaults: dict[Mode, ModeDefaults] = field(default_factory=lambda: dict(MODE_DEFAULTS))
    limits: QuoteLimits = field(default_factory=QuoteLimits)


DEFAULT_CONFIG = LogisticsConfig()
