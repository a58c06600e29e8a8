"""Rate cards between the domain (`RateCard`), the table row and the API."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.logistics.config import Mode, VolumetricRatio
from services.logistics.context import decimal_text
from services.logistics.domain.ratecards import RateCard, Surcharge, SurchargeBasis, SurchargeKind, WeightBreak
from services.logistics.models import RateCardRow
from services.logistics.schemas import RateCardIn, RateCardOut

__all__ = ["card_from_input", "card_from_row", "card_out", "card_values"]


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _ratio(kg: int | None, per_cm3: int | None) -> VolumetricRatio | None:
    return None if kg is None or per_cm3 is None else VolumetricRatio(kg, per_cm3)


def card_from_row(row: RateCardRow) -> RateCard:
    return RateCard(
        card_id=row.card_id,
        version=row.version,
        carrier=row.carrier,
        mode=Mode(row.mode),
        origin=row.origin,
        destination=row.destination,
        currency=row.currency,
        breaks=tuple(WeightBreak(Decimal(b["from_kg"]), Decimal(b["price_per_kg"])) for b in row.breaks),
        minimum_charge=Decimal(row.minimum_charge),
        transit_days=row.transit_days,
        valid_from=row.valid_from,
        valid_to=row.valid_to,
        surcharges=tuple(
            Surcharge(SurchargeKind(s["kind"]), SurchargeBasis(s["basis"]), Decimal(s["value"]), bool(s["included"]))
            for s in row.surcharges
        ),
        rounding_step_kg=_dec(row.rounding_step_kg),
        min_chargeable_kg=_dec(row.min_chargeable_kg),
        volumetric=_ratio(row.volumetric_kg, row.volumetric_per_cm3),
    )


def card_from_input(body: RateCardIn, version: int) -> RateCard:
    """The domain card for a request; ValueError if it breaks a rate-card rule."""
    return RateCard(
        card_id=body.card_id,
        version=version,
        carrier=body.carrier,
        mode=body.mode,
        origin=body.origin,
        destination=body.destination,
        currency=body.currency,
        breaks=tuple(WeightBreak(b.from_kg, b.price_per_kg) for b in body.breaks),
        minimum_charge=body.minimum_charge,
        transit_days=body.transit_days,
        valid_from=body.valid_from,
        valid_to=body.valid_to,
        surcharges=tuple(Surcharge(s.kind, s.basis, s.value, s.included) for s in body.surcharges),
        rounding_step_kg=body.rounding_step_kg,
        min_chargeable_kg=body.min_chargeable_kg,
        volumetric=None if body.volumetric is None else VolumetricRatio(body.volumetric.kg, body.volumetric.per_cm3),
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else decimal_text(value)


def card_values(card: RateCard, *, created_by: str, created_at: datetime) -> dict[str, Any]:
    """The row for `card`, its volumetric override included (NULLs: the mode's ratio)."""
    return {
        "card_id": card.card_id,
        "version": card.version,
        "carrier": card.carrier,
        "mode": card.mode.value,
        "origin": card.origin,
        "destination": card.destination,
        "currency": card.currency,
        "breaks": [
            {"from_kg": decimal_text(b.from_kg), "price_per_kg": decimal_text(b.price_per_kg)} for b in card.breaks
        ],
        "surcharges": [
            {"kind": s.kind.value, "basis": s.basis.value, "value": decimal_text(s.value), "included": s.included}
            for s in card.surcharges
        ],
        "minimum_charge": decimal_text(card.minimum_charge),
        "transit_days": card.transit_days,
        "valid_from": card.valid_from,
        "valid_to": card.valid_to,
        "rounding_step_kg": _text(card.rounding_step_kg),
        "min_chargeable_kg": _text(card.min_chargeable_kg),
        "volumetric_kg": card.volumetric.kg if card.volumetric else None,
        "volumetric_per_cm3": card.volumetric.per_cm3 if card.volumetric else None,
        "created_by": created_by,
        "created_at": created_at,
    }


def card_out(row: RateCardRow) -> RateCardOut:
    return RateCardOut.model_validate(
        {
            "card_id": row.card_id,
            "version": row.version,
            "carrier": row.carrier,
            "mode": row.mode,
            "origin": row.origin,
            "destination": row.destination,
            "currency": row.currency,
            "breaks": row.breaks,
            "minimum_charge": row.minimum_charge,
            "surcharges": row.surcharges,
            "transit_days": row.transit_days,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "rounding_step_kg": row.rounding_step_kg,
            "min_chargeable_kg": row.min_chargeable_kg,
            "volumetric": None
            if row.volumetric_kg is None
            else {"kg": row.volumetric_kg, "per_cm3": row.volumetric_per_cm3},
            "created_by": row.created_by,
            "created_at": row.created_at,
        }
    )
