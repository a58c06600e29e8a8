"""Seed rate cards: Kigali (RWKGL) to China (CNPVG Shanghai, CNCAN Guangzhou) by air, courier and sea
via Mombasa (KEMBA) or Dar es Salaam (TZDAR), and road from Kigali to both ports.

These are PLAUSIBLE figures for development and demos, not carrier tariffs. How they were chosen:
- Air: Kigali has no freighter to China; general cargo flies via Addis Ababa or Doha. Published
  Africa to China general-cargo spot rates sit around USD 3-5 per kg with lower rates at higher
  breaks (+45, +100, +300, +500 kg), a minimum charge of about USD 75, a per-kg fuel surcharge
  (DOMAIN.md: it can exceed the base rate; here 0.85/kg), security screening per kg and an AWB fee.
- Courier: express integrators charge roughly USD 10-15 per kg for small parcels, volumetric divisor
  5000 (DOMAIN.md), a fuel surcharge as a percentage (integrators publish ~20-30 %).
- Road: Northern Corridor to Mombasa (~1,780 km) and Central Corridor to Dar es Salaam (~1,380 km,
  DOMAIN.md); groupage priced per kg at 333 kg/m³; transit days are [U] (2014 MINICOM/PSF/TMEA
  survey shows wide variance), Mombasa slower for the extra ~400 km and the Uganda border.
- Sea LCL: East Africa to China around USD 60-90 per W/M (0.060-0.090 per kg of W/M), 1 W/M
  minimum, BAF and CAF, THC per W/M, a bill of lading fee; 25-30 days port to port.
All in USD (permit and freight prices in the region are quoted in USD), version 1, valid through
2027-06-30. A new version is a new RateCard with version 2; version 1 stays for issued quotes.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal as D

from services.logistics.config import Mode
from services.logistics.domain.ratecards import RateCard, Surcharge, SurchargeBasis, SurchargeKind, WeightBreak

__all__ = ["SEED_RATE_CARDS"]

_FROM = date(2026, 1, 1)
_TO = date(2027, 6, 30)

_PCT = SurchargeBasis.PERCENT_OF_FREIGHT
_KG = SurchargeBasis.PER_KG
_FLAT = SurchargeBasis.PER_SHIPMENT


def _air(carrier: str, code: str, destination: str, rates: tuple[str, ...], days: int) -> RateCard:
    breaks = tuple(WeightBreak(D(k), D(r)) for k, r in zip(("0", "45", "100", "300", "500"), rates, strict=True))
    return RateCard(
        card_id=f"{code}-AIR-RWKGL-{destination}", version=1, carrier=carrier, mode=Mode.AIR,
        origin="RWKGL", destination=destination, currency="USD", breaks=breaks,
        minimum_charge=D("75.00"), transit_days=days, valid_from=_FROM, valid_to=_TO,
        surcharges=(
            Surcharge(SurchargeKind.FUEL, _KG, D("0.85")),
            Surcharge(SurchargeKind.SECURITY, _KG, D("0.15")),
            Surcharge(SurchargeKind.DOCUMENTATION, _FLAT, D("25.00")),
        ),
    )  # fmt: skip


def _courier(destination: str, days: int) -> RateCard:
    return RateCard(
        card_id=f"DHL-COURIER-RWKGL-{destination}", version=1, carrier="DHL Express", mode=Mode.COURIER,
        origin="RWKGL", destination=destination, currency="USD",
        breaks=(WeightBreak(D(0), D("14.50")), WeightBreak(D(10), D("11.80")), WeightBreak(D(30), D("9.90"))),
        minimum_charge=D("60.00"), transit_days=days, valid_from=_FROM, valid_to=_TO,
        surcharges=(
            Surcharge(SurchargeKind.FUEL, _PCT, D("27.5")),
            Surcharge(SurchargeKind.SECURITY, _FLAT, D("0"), included=True),
            Surcharge(SurchargeKind.DOCUMENTATION, _FLAT, D("0"), included=True),
        ),
    )  # fmt: skip


def _road(port: str, per_kg: tuple[str, str, str], days: int) -> RateCard:
    return RateCard(
        card_id=f"CORRIDOR-ROAD-RWKGL-{port}", version=1, carrier="Corridor Freight Consolidators",
        mode=Mode.ROAD, origin="RWKGL", destination=port, currency="USD",
        breaks=tuple(WeightBreak(D(k), D(r)) for k, r in zip((0, 1000, 5000), per_kg, strict=True)),
        minimum_charge=D("150.00"), transit_days=days, valid_from=_FROM, valid_to=_TO,
        surcharges=(
            Surcharge(SurchargeKind.FUEL, _PCT, D("8")),
            Surcharge(SurchargeKind.DOCUMENTATION, _FLAT, D("35.00")),  # CMR / transit bond paperwork
        ),
    )  # fmt: skip


def _sea(port: str, destination: str, per_kg: str, days: int) -> RateCard:
    return RateCard(
        card_id=f"LCL-SEA-{port}-{destination}", version=1, carrier="Indian Ocean LCL Lines",
        mode=Mode.SEA, origin=port, destination=destination, currency="USD",
        breaks=(WeightBreak(D(0), D(per_kg)), WeightBreak(D(5000), D(per_kg) - D("0.010"))),
        minimum_charge=D("0"), transit_days=days, valid_from=_FROM, valid_to=_TO,
        surcharges=(
            Surcharge(SurchargeKind.BAF, _KG, D("0.018")),  # USD 18 per W/M
            Surcharge(SurchargeKind.CAF, _PCT, D("3")),
            Surcharge(SurchargeKind.THC, _KG, D("0.015")),  # USD 15 per W/M at origin
            Surcharge(SurchargeKind.DOCUMENTATION, _FLAT, D("50.00")),  # bill of lading fee
        ),
    )  # fmt: skip


SEED_RATE_CARDS: tuple[RateCard, ...] = (
    _air("Ethiopian Airlines Cargo", "ET", "CNPVG", ("4.90", "4.30", "3.95", "3.70", "3.45"), 4),
    _air("Ethiopian Airlines Cargo", "ET", "CNCAN", ("4.70", "4.10", "3.80", "3.55", "3.30"), 3),
    _air("Qatar Airways Cargo", "QR", "CNPVG", ("5.20", "4.50", "4.05", "3.75", "3.50"), 5),
    _courier("CNPVG", 5),
    _courier("CNCAN", 5),
    _road("KEMBA", ("0.240", "0.200", "0.170"), 8),
    _road("TZDAR", ("0.200", "0.165", "0.140"), 6),
    _sea("KEMBA", "CNPVG", "0.075", 27),
    _sea("KEMBA", "CNCAN", "0.070", 24),
    _sea("TZDAR", "CNPVG", "0.080", 29),
    _sea("TZDAR", "CNCAN", "0.074", 26),
)
