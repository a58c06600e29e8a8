"""Rate-card pricing: legs, options and the quote, and whether a quote can still book.

Guarantee: every charge is in the card's currency, rounded half-even once to its minor units
(shared/money.py), and a total is the sum of rounded charges not marked included; options whose legs
are in two currencies are skipped with a reason (no FX rate is invented); a lane nobody serves is an
empty result with a reason, never an error. Pricing is pure: same cards, request and `now`, same quote.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

from services.logistics.config import DEFAULT_CONFIG, LogisticsConfig, Mode
from services.logistics.domain.incoterms import (
    MODE_RANK,
    SEA_ONLY_INCOTERMS,
    Incoterm,
    check_locode,
    modes_for_incoterm,
)
from services.logistics.domain.ratecards import RateCard, Surcharge, SurchargeBasis, current_cards
from services.logistics.domain.weight import (
    ChargeableWeight,
    Parcel,
    Totals,
    chargeable_from_totals,
    check_parcels,
    consignment_totals,
)
from shared.money import quantize

__all__ = ["Charge", "LegQuote", "QuoteOption", "QuoteResult", "booking_refusal", "price_leg", "quote"]


@dataclass(frozen=True, slots=True)
class Charge:
    """One itemised line, already rounded half-even to the currency's minor units."""

    code: str  # "freight" or a SurchargeKind value
    amount: Decimal
    included: bool  # True: already inside the freight rate, shown but not added to the total
    detail: str


@dataclass(frozen=True, slots=True)
class LegQuote:
    card_id: str
    card_version: int
    carrier: str
    mode: Mode
    origin: str
    destination: str
    currency: str
    weight: ChargeableWeight
    charges: tuple[Charge, ...]
    total: Decimal
    transit_days: int
    valid_until: datetime


def _surcharge_amount(s: Surcharge, freight: Decimal, chargeable_kg: Decimal) -> tuple[Decimal, str]:
    match s.basis:
        case SurchargeBasis.PERCENT_OF_FREIGHT:
            return freight * s.value / 100, f"{s.value}% of freight {freight}"
        case SurchargeBasis.PER_KG:
            return chargeable_kg * s.value, f"{chargeable_kg} kg × {s.value}"
        case SurchargeBasis.PER_SHIPMENT:
            return s.value, "per shipment"


def price_leg(
    card: RateCard, parcels: Sequence[Parcel], now: datetime, config: LogisticsConfig = DEFAULT_CONFIG
) -> LegQuote:
    """Freight (weight break × chargeable kg, at least the minimum charge) plus itemised surcharges.

    Each charge is rounded half-even once, in the card's currency; the total sums rounded charges.
    """
    return _price_leg(card, consignment_totals(parcels), now, config)


def _price_leg(card: RateCard, totals: Totals, now: datetime, config: LogisticsConfig) -> LegQuote:
    cur = card.currency
    weight = chargeable_from_totals(totals, card, config)
    kg = weight.chargeable_kg
    rate = card.rate_for(kg)
    by_weight = quantize(kg * rate, cur)
    minimum = quantize(card.minimum_charge, cur)
    if by_weight >= minimum:
        freight = Charge("freight", by_weight, False, f"{kg} kg × {rate}")
    else:
        freight = Charge("freight", minimum, False, f"minimum charge (by weight {by_weight})")
    charges = [freight]
    total = freight.amount
    for s in card.surcharges:
        amount, detail = _surcharge_amount(s, freight.amount, kg)
        rounded = quantize(amount, cur)
        charges.append(Charge(s.kind, rounded, s.included, detail))
        if not s.included:
            total += rounded
    valid_until = min(now + config.mode_defaults[card.mode].quote_validity, card.expires_at)
    return LegQuote(
        card.card_id, card.version, card.carrier, card.mode, card.origin, card.destination, cur,
        weight, tuple(charges), total, card.transit_days, valid_until,
    )  # fmt: skip


@dataclass(frozen=True, slots=True)
class QuoteOption:
    """One way to move the consignment: a mode and its carrier(s), one or more legs, one currency."""

    mode: Mode
    legs: tuple[LegQuote, ...]
    currency: str
    total: Decimal
    transit_days: int
    valid_until: datetime

    @property
    def carrier(self) -> str:
        return " + ".join(leg.carrier for leg in self.legs)

    @property
    def via(self) -> str | None:
        """The port a road + sea option changes mode at."""
        return self.legs[0].destination if len(self.legs) > 1 else None

    @property
    def actual_kg(self) -> Decimal:
        return self.legs[0].weight.actual_kg


@dataclass(frozen=True, slots=True)
class QuoteResult:
    options: tuple[QuoteOption, ...]
    #: Why there are no options (no lane, no card valid today, …); None when there are some.
    reason: str | None = None
    #: Options left out and why (e.g. legs in two currencies and no recorded FX rate).
    skipped: tuple[str, ...] = field(default=())


def _option(mode: Mode, legs: Sequence[LegQuote], config: LogisticsConfig) -> QuoteOption | str:
    currencies = {leg.currency for leg in legs}
    if len(currencies) > 1:
        cards = " + ".join(leg.card_id for leg in legs)
        return f"{cards}: legs priced in {', '.join(sorted(currencies))} and no FX rate recorded"
    dwell = config.limits.port_dwell_days * (len(legs) - 1)
    return QuoteOption(
        mode=mode,
        legs=tuple(legs),
        currency=legs[0].currency,
        total=sum((leg.total for leg in legs), Decimal(0)),
        transit_days=sum(leg.transit_days for leg in legs) + dwell,
        valid_until=min(leg.valid_until for leg in legs),
    )


def quote(
    cards: Sequence[RateCard],
    *,
    parcels: Sequence[Parcel],
    origin: str,
    destination: str,
    incoterm: Incoterm,
    now: datetime,
    mode: Mode | None = None,
    config: LogisticsConfig = DEFAULT_CONFIG,
) -> QuoteResult:
    """Every option for the lane: direct cards of each mode, and for sea also road to a port + sea.

    Bad input raises InvalidQuoteRequest; a lane nobody serves is an empty result with a reason.
    """
    check_locode(origin, "origin")
    check_locode(destination, "destination")
    check_parcels(parcels, config)
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    modes = modes_for_incoterm(incoterm, mode)
    day = now.astimezone(UTC).date()
    options: list[QuoteOption] = []
    skipped: list[str] = []
    totals = consignment_totals(parcels)
    priced: dict[tuple[str, int], LegQuote] = {}

    def leg(card: RateCard) -> LegQuote:
        """Each card is priced once per quote, however many options it is a leg of."""
        key = (card.card_id, card.version)
        found = priced.get(key)
        if found is None:
            found = priced[key] = _price_leg(card, totals, now, config)
        return found

    def add(m: Mode, legs: Sequence[LegQuote]) -> None:
        made = _option(m, legs, config)
        if isinstance(made, str):
            skipped.append(made)
        else:
            options.append(made)

    for m in modes:
        for card in current_cards(cards, m, origin, destination, day):
            add(m, [leg(card)])
        if m is Mode.SEA:
            ports = sorted({c.origin for c in cards if c.mode is Mode.SEA and c.destination == destination})
            for port in ports:
                if port == origin:
                    continue
                for road in current_cards(cards, Mode.ROAD, origin, port, day):
                    for sea in current_cards(cards, Mode.SEA, port, destination, day):
                        add(m, [leg(road), leg(sea)])
    options.sort(key=lambda o: (MODE_RANK[o.mode], o.total, o.carrier))
    reason = None
    if not options:
        names = ", ".join(m.value for m in modes)
        reason = f"no rate card serves {origin} to {destination} by {names} on {day.isoformat()}"
        if incoterm in SEA_ONLY_INCOTERMS:
            reason += f" ({incoterm.value} allows sea only)"
    return QuoteResult(tuple(options), reason, tuple(skipped))


def booking_refusal(
    *, valid_until: datetime, quoted_actual_kg: Decimal, order_weight_kg: Decimal, now: datetime
) -> str | None:
    """Why a quote cannot book a shipment for an order, or None when it can."""
    if now >= valid_until:
        return f"quote expired at {valid_until.isoformat()}"
    if order_weight_kg > quoted_actual_kg:
        return f"order weighs {order_weight_kg} kg, more than the {quoted_actual_kg} kg quoted"
    return None
