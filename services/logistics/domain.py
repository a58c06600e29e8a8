"""Logistics rules that need no database: rate cards, chargeable weight, quotes, Incoterms, shipments.

Sources: DOMAIN.md section 5 (Incoterms 2020, volumetric divisors, W/M, surcharges, tracking
vocabulary) and section 7 (money: half-even, once per charge, in the card's currency's minor units).
Configurable figures live in `config.py`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from enum import StrEnum

from services.logistics.config import DEFAULT_CONFIG, LogisticsConfig, Mode, VolumetricRatio
from shared.errors import Conflict, UnprocessableContent
from shared.money import minor_units

__all__ = [
    "SEA_ONLY_INCOTERMS",
    "TRANSITIONS",
    "Charge",
    "ChargeableWeight",
    "Classifier",
    "IllegalTransition",
    "Incoterm",
    "InvalidQuoteRequest",
    "LegQuote",
    "Mode",
    "Parcel",
    "QuoteOption",
    "QuoteResult",
    "RateCard",
    "ShipmentAction",
    "ShipmentStatus",
    "Surcharge",
    "SurchargeBasis",
    "SurchargeKind",
    "TrackingCode",
    "TrackingEvent",
    "TrackingOutcome",
    "WeightBreak",
    "booking_refusal",
    "chargeable_weight",
    "check_locode",
    "check_parcels",
    "current_cards",
    "modes_for_incoterm",
    "next_status",
    "parse_incoterm",
    "price_leg",
    "quote",
    "record_tracking",
    "round_up",
]


class IllegalTransition(Conflict):
    """A shipment action its current status does not allow (409)."""


class InvalidQuoteRequest(UnprocessableContent):
    """A quote request that breaks a domain rule (422); nothing is computed or written."""


# --- Places and Incoterms ---------------------------------------------------------------------

#: UN/LOCODE: ISO 3166 alpha-2 country + 3 characters from A-Z and 2-9 (0 and 1 are not used, so
#: they cannot be confused with O and I). ASCII only: `\d` would accept other scripts' digits.
_LOCODE = re.compile(r"[A-Z]{2}[A-Z2-9]{3}")


def check_locode(value: str, name: str = "location") -> str:
    if not _LOCODE.fullmatch(value):
        raise InvalidQuoteRequest(
            f"{name} must be a UN/LOCODE such as RWKGL",
            errors=[{"field": name, "reason": "not a UN/LOCODE (2 letters + 3 of A-Z, 2-9)"}],
        )
    return value


class Incoterm(StrEnum):
    """The 11 Incoterms 2020 rules (DPU replaced DAT)."""

    EXW = "EXW"
    FCA = "FCA"
    CPT = "CPT"
    CIP = "CIP"
    DAP = "DAP"
    DPU = "DPU"
    DDP = "DDP"
    FAS = "FAS"
    FOB = "FOB"
    CFR = "CFR"
    CIF = "CIF"


#: Sea and inland waterway only; a landlocked Kigali shipment by air or road uses FCA/CPT/CIP/DAP/DDP.
SEA_ONLY_INCOTERMS = frozenset({Incoterm.FAS, Incoterm.FOB, Incoterm.CFR, Incoterm.CIF})


def parse_incoterm(text: str) -> Incoterm:
    try:
        return Incoterm(text)
    except ValueError:
        raise InvalidQuoteRequest(
            f"{text!r} is not an Incoterms 2020 rule",
            errors=[{"field": "incoterm", "reason": "one of " + ", ".join(Incoterm)}],
        ) from None


#: Enum iteration is slow on the hot path; the order is the declaration order (air, sea, road, courier).
_MODES = tuple(Mode)
_MODE_RANK = {m: i for i, m in enumerate(_MODES)}


def modes_for_incoterm(incoterm: Incoterm, requested: Mode | None = None) -> tuple[Mode, ...]:
    """The modes a quote may offer under `incoterm`; a requested mode the term forbids is a 422."""
    allowed = (Mode.SEA,) if incoterm in SEA_ONLY_INCOTERMS else _MODES
    if requested is None:
        return allowed
    if requested not in allowed:
        raise InvalidQuoteRequest(
            f"{incoterm.value} applies to sea freight only, not {requested.value}",
            errors=[{"field": "incoterm", "reason": f"{incoterm.value} is for sea only"}],
        )
    return (requested,)


# --- Rate cards -------------------------------------------------------------------------------


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


# --- Parcels and chargeable weight ------------------------------------------------------------


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


def chargeable_weight(
    parcels: Sequence[Parcel], card: RateCard, config: LogisticsConfig = DEFAULT_CONFIG
) -> ChargeableWeight:
    """Chargeable weight of the whole consignment (totals, not parcel by parcel, as carriers bill).

    Sea W/M is expressed in kg too (1 W/M = 1,000 kg = 1 CBM), so every card prices per kg.
    """
    return _chargeable(_totals(parcels), card, config)


def _totals(parcels: Sequence[Parcel]) -> tuple[Decimal, Decimal]:
    """(actual kg, volume cm³) of the consignment: computed once per quote, whatever the legs."""
    actual = sum((p.weight_kg * p.count for p in parcels), Decimal(0))
    volume = sum((p.volume_cm3 * p.count for p in parcels), Decimal(0))
    return actual, volume


def _chargeable(totals: tuple[Decimal, Decimal], card: RateCard, config: LogisticsConfig) -> ChargeableWeight:
    defaults = config.mode_defaults[card.mode]
    ratio = card.volumetric or defaults.volumetric
    step = card.rounding_step_kg or defaults.rounding_step_kg
    floor = defaults.min_chargeable_kg if card.min_chargeable_kg is None else card.min_chargeable_kg
    actual, volume = totals
    volumetric = ratio.weight_kg(volume)
    chargeable = max(round_up(max(actual, volumetric), step), floor)
    return ChargeableWeight(actual, volume, volumetric, chargeable)


# --- Quotes -----------------------------------------------------------------------------------


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
    return _price_leg(card, _totals(parcels), now, config)


def _price_leg(card: RateCard, totals: tuple[Decimal, Decimal], now: datetime, config: LogisticsConfig) -> LegQuote:
    cur = card.currency
    quantum = Decimal(1).scaleb(-minor_units(cur))
    weight = _chargeable(totals, card, config)
    kg = weight.chargeable_kg
    rate = card.rate_for(kg)
    by_weight = (kg * rate).quantize(quantum, rounding=ROUND_HALF_EVEN)
    minimum = card.minimum_charge.quantize(quantum, rounding=ROUND_HALF_EVEN)
    if by_weight >= minimum:
        freight = Charge("freight", by_weight, False, f"{kg} kg × {rate}")
    else:
        freight = Charge("freight", minimum, False, f"minimum charge (by weight {by_weight})")
    charges = [freight]
    total = freight.amount
    for s in card.surcharges:
        amount, detail = _surcharge_amount(s, freight.amount, kg)
        rounded = amount.quantize(quantum, rounding=ROUND_HALF_EVEN)
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
    totals = _totals(parcels)
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
    options.sort(key=lambda o: (_MODE_RANK[o.mode], o.total, o.carrier))
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


# --- Shipments --------------------------------------------------------------------------------


class ShipmentStatus(StrEnum):
    PENDING = "pending"  # order confirmed with a quote; booking not yet decided
    BOOKED = "booked"
    BOOKING_FAILED = "booking_failed"
    PICKED_UP = "picked_up"
    EXPORT_CLEARED = "export_cleared"
    IN_TRANSIT = "in_transit"  # after an actual departure (the first one emits shipment.dispatched)
    ARRIVED = "arrived"
    IMPORT_CLEARED = "import_cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"
    CANCELLED = "cancelled"


class ShipmentAction(StrEnum):
    BOOK = "book"
    FAIL_BOOKING = "fail_booking"
    CANCEL = "cancel"  # the order was cancelled before the goods left


class TrackingCode(StrEnum):
    """DOMAIN.md's internal enum, in lifecycle order (the order breaks ties between equal times)."""

    BOOKED = "booked"
    PICKED_UP = "picked_up"
    EXPORT_CLEARED = "export_cleared"
    DEPARTED = "departed"
    ARRIVED = "arrived"
    IMPORT_CLEARED = "import_cleared"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERED = "delivered"
    EXCEPTION = "exception"


class Classifier(StrEnum):
    ACTUAL = "actual"
    ESTIMATED = "estimated"


_STATUS_OF_CODE: dict[TrackingCode, ShipmentStatus] = {
    TrackingCode.BOOKED: ShipmentStatus.BOOKED,
    TrackingCode.PICKED_UP: ShipmentStatus.PICKED_UP,
    TrackingCode.EXPORT_CLEARED: ShipmentStatus.EXPORT_CLEARED,
    TrackingCode.DEPARTED: ShipmentStatus.IN_TRANSIT,
    TrackingCode.ARRIVED: ShipmentStatus.ARRIVED,
    TrackingCode.IMPORT_CLEARED: ShipmentStatus.IMPORT_CLEARED,
    TrackingCode.OUT_FOR_DELIVERY: ShipmentStatus.OUT_FOR_DELIVERY,
    TrackingCode.DELIVERED: ShipmentStatus.DELIVERED,
    TrackingCode.EXCEPTION: ShipmentStatus.EXCEPTION,
}

#: Statuses that accept tracking events. The status follows the latest ACTUAL event by time, and
#: carriers' feeds arrive out of order, so any live status may move to any event's status.
_LIVE = frozenset(_STATUS_OF_CODE.values()) - {ShipmentStatus.DELIVERED}
#: Cancellable until the goods depart; after that the order must be handled as a return.
_CANCELLABLE = frozenset(
    {ShipmentStatus.PENDING, ShipmentStatus.BOOKED, ShipmentStatus.PICKED_UP, ShipmentStatus.EXPORT_CLEARED}
)

Action = ShipmentAction | TrackingCode

#: (status, action) → next status; a pair not in the table is an illegal transition.
TRANSITIONS: dict[tuple[ShipmentStatus, Action], ShipmentStatus] = {
    (ShipmentStatus.PENDING, ShipmentAction.BOOK): ShipmentStatus.BOOKED,
    (ShipmentStatus.PENDING, ShipmentAction.FAIL_BOOKING): ShipmentStatus.BOOKING_FAILED,
    **{(s, ShipmentAction.CANCEL): ShipmentStatus.CANCELLED for s in _CANCELLABLE},
    **{(s, code): _STATUS_OF_CODE[code] for s in _LIVE for code in TrackingCode},
}


def next_status(current: ShipmentStatus, action: Action) -> ShipmentStatus:
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise IllegalTransition(
            f"A shipment that is {current.value} cannot take {action.value}.",
            current_status=current.value,
        ) from None


_CODE_RANK = {c: i for i, c in enumerate(TrackingCode)}
_CLASSIFIER_RANK = {c: i for i, c in enumerate(Classifier)}


@dataclass(frozen=True, slots=True, order=False)
class TrackingEvent:
    """Equal fields = the same event: a repeat is a duplicate and is ignored."""

    code: TrackingCode
    classifier: Classifier
    at: datetime  # timezone-aware
    location: str  # UN/LOCODE

    def __post_init__(self) -> None:
        check_locode(self.location, "location")
        if self.at.tzinfo is None:
            raise InvalidQuoteRequest(
                "tracking time needs a time zone", errors=[{"field": "at", "reason": "no time zone"}]
            )

    def sort_key(self) -> tuple[datetime, int, int]:
        return (self.at, _CODE_RANK[self.code], _CLASSIFIER_RANK[self.classifier])


@dataclass(frozen=True, slots=True)
class TrackingOutcome:
    timeline: tuple[TrackingEvent, ...]  # sorted by time
    status: ShipmentStatus
    duplicate: bool = False
    dispatched: bool = False  # emit shipment.dispatched now
    delivered: bool = False  # emit shipment.delivered now


def _departed(timeline: Iterable[TrackingEvent]) -> bool:
    return any(e.code is TrackingCode.DEPARTED and e.classifier is Classifier.ACTUAL for e in timeline)


def record_tracking(status: ShipmentStatus, timeline: Sequence[TrackingEvent], event: TrackingEvent) -> TrackingOutcome:
    """Add `event` to a shipment's timeline and derive its status and the events to emit.

    Duplicates change nothing (whatever the status). A late event older than the latest actual one
    joins the timeline without moving the status. `dispatched` fires once: on the first actual
    departure, or together with delivery when no departure was ever reported.
    """
    if event in timeline:
        return TrackingOutcome(tuple(timeline), status, duplicate=True)
    if status not in _LIVE and status is not ShipmentStatus.DELIVERED:
        raise IllegalTransition(
            f"A shipment that is {status.value} takes no tracking events.", current_status=status.value
        )
    merged = tuple(sorted([*timeline, event], key=TrackingEvent.sort_key))
    actual = [e for e in merged if e.classifier is Classifier.ACTUAL]
    new_status = _STATUS_OF_CODE[actual[-1].code] if actual else status
    if new_status is not status:
        new_status = next_status(status, actual[-1].code)
    was_delivered = status is ShipmentStatus.DELIVERED
    delivered = new_status is ShipmentStatus.DELIVERED and not was_delivered
    first_departure = event.code is TrackingCode.DEPARTED and event.classifier is Classifier.ACTUAL
    dispatched = not was_delivered and not _departed(timeline) and (first_departure or delivered)
    return TrackingOutcome(merged, new_status, dispatched=dispatched, delivered=delivered)
