"""Order rules that need no database: the saga's state machine, China landed cost, reference
idempotency and the demand-insight helpers.

Everything here is pure (no I/O, no clock): callers pass the time, the FX rate and the figures of
`config.OrdersRules`, so each rule is a function of its arguments and is tested as such.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from statistics import median

import orjson

from services.orders.config import DEFAULT_RULES, OrdersRules
from shared.errors import Conflict, UnprocessableContent
from shared.money import format_minor, quantize, to_minor
from shared.state_machine import InvalidTransition, StateMachine

__all__ = [
    "CANCEL_ROLES",
    "TRANSITIONS",
    "Action",
    "BuyerContent",
    "Channel",
    "CustomsRegime",
    "Decision",
    "Effect",
    "FreightQuote",
    "FxRate",
    "IllegalTransition",
    "LIFECYCLE",
    "Incoterm",
    "LandedCost",
    "LandedCostLine",
    "LineContent",
    "OrderContent",
    "OrderStatus",
    "PricedLine",
    "ReferenceConflict",
    "ReferenceOutcome",
    "RejectReason",
    "Trend",
    "TrendDirection",
    "china_landed_cost",
    "customs_regime",
    "decide",
    "is_overdue",
    "median_unit_price",
    "next_status",
    "order_fingerprint",
    "rate_for",
    "resolve_reference",
    "share_percent",
    "trend",
    "validate_window",
    "window_bounds",
]

CNY = "CNY"


class Channel(StrEnum):
    B2C_MARKETPLACE = "b2c_marketplace"
    B2B_DISTRIBUTOR = "b2b_distributor"


class Incoterm(StrEnum):
    """Incoterms 2020, the 11 rules (DOMAIN.md section 5)."""

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


# ==================================================================================================
# The saga's state machine


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    SHIPPED = "shipped"
    DELIVERED = "delivered"


class Action(StrEnum):
    """What may move an order. Event actions are named after the event, not imported from its contract
    (`stock.reserved` → `stock_reserved`, `shipment.dispatched` → `shipment_dispatched`, ...)."""

    #: A command by the marketplace or ops (the only action that may be refused with 409).
    CANCEL = "cancel"
    #: The pending deadline passed (the service's periodic sweep).
    TIMEOUT = "timeout"
    STOCK_RESERVED = "stock_reserved"
    STOCK_REJECTED = "stock_rejected"
    SHIPMENT_BOOKED = "shipment_booked"
    SHIPMENT_BOOKING_FAILED = "shipment_booking_failed"
    SHIPMENT_DISPATCHED = "shipment_dispatched"
    SHIPMENT_DELIVERED = "shipment_delivered"

    @property
    def is_command(self) -> bool:
        return self is Action.CANCEL


class RejectReason(StrEnum):
    STOCK = "stock"
    TIMEOUT = "timeout"


#: Roles that may cancel an order (a marketplace only its own; ops any).
CANCEL_ROLES = frozenset({"marketplace", "ops"})

_P, _C, _S = OrderStatus.PENDING, OrderStatus.CONFIRMED, OrderStatus.SHIPPED

#: (status, action) → status: every legal move. Booking outcomes keep the order confirmed but are
#: still moves (they enter the history). `shipment_delivered` on a confirmed order is legal because
#: logistics' events may overtake each other: delivered before dispatched still ends delivered.
LIFECYCLE: StateMachine[Action, OrderStatus] = StateMachine.from_table(
    "order",
    {
        (_P, Action.STOCK_RESERVED): OrderStatus.CONFIRMED,
        (_P, Action.STOCK_REJECTED): OrderStatus.REJECTED,
        (_P, Action.TIMEOUT): OrderStatus.REJECTED,
        (_P, Action.CANCEL): OrderStatus.CANCELLED,
        (_C, Action.CANCEL): OrderStatus.CANCELLED,
        (_C, Action.SHIPMENT_BOOKED): OrderStatus.CONFIRMED,
        (_C, Action.SHIPMENT_BOOKING_FAILED): OrderStatus.CONFIRMED,
        (_C, Action.SHIPMENT_DISPATCHED): OrderStatus.SHIPPED,
        (_C, Action.SHIPMENT_DELIVERED): OrderStatus.DELIVERED,
        (_S, Action.SHIPMENT_DELIVERED): OrderStatus.DELIVERED,
    },
    refusal="Cannot {verb} an order that is {current}; it must be {allowed}.",
)
#: The same moves as `(status, action) -> status`, read from the machine (tests and the saga's docs).
TRANSITIONS: Mapping[tuple[OrderStatus, Action], OrderStatus] = LIFECYCLE.table()


class Effect(StrEnum):
    """What the service must do besides storing the new status (in the same transaction)."""

    PUBLISH_CONFIRMED = "publish_confirmed"
    PUBLISH_REJECTED = "publish_rejected"
    PUBLISH_CANCELLED = "publish_cancelled"
    PUBLISH_SHIPPED = "publish_shipped"
    PUBLISH_DELIVERED = "publish_delivered"
    #: Stock was reserved for an order that is already rejected or cancelled: give it back. Catalogue
    #: releases on order.rejected / order.cancelled idempotently (only a `reserved` reservation moves),
    #: so phase 2 fulfils this by publishing the order's terminal event again.
    RELEASE_STOCK = "release_stock"
    #: The shipment could not be booked (e.g. the quote expired): ops must rebook or cancel.
    ALERT_OPS = "alert_ops"
    #: An event that contradicts the order's story (goods dispatched for a cancelled order): record it
    #: and tell ops; the order's status does not move.
    FLAG_ANOMALY = "flag_anomaly"


#: Effects of each legal move. Delivered straight from confirmed publishes shipped first, so catalogue
#: still turns the reservation into a sale: stock is right after the whole story.
_MOVE_EFFECTS: dict[tuple[OrderStatus, Action], tuple[Effect, ...]] = {
    (_P, Action.STOCK_RESERVED): (Effect.PUBLISH_CONFIRMED,),
    (_P, Action.STOCK_REJECTED): (Effect.PUBLISH_REJECTED,),
    (_P, Action.TIMEOUT): (Effect.PUBLISH_REJECTED,),
    (_P, Action.CANCEL): (Effect.PUBLISH_CANCELLED,),
    (_C, Action.CANCEL): (Effect.PUBLISH_CANCELLED,),
    (_C, Action.SHIPMENT_BOOKED): (),
    (_C, Action.SHIPMENT_BOOKING_FAILED): (Effect.ALERT_OPS,),
    (_C, Action.SHIPMENT_DISPATCHED): (Effect.PUBLISH_SHIPPED,),
    (_C, Action.SHIPMENT_DELIVERED): (Effect.PUBLISH_SHIPPED, Effect.PUBLISH_DELIVERED),
    (_S, Action.SHIPMENT_DELIVERED): (Effect.PUBLISH_DELIVERED,),
}

_SETTLED_WITHOUT_STOCK = frozenset({OrderStatus.REJECTED, OrderStatus.CANCELLED})
_NOT_SHIPPABLE = frozenset({OrderStatus.PENDING, OrderStatus.REJECTED, OrderStatus.CANCELLED})


def _absorbed(status: OrderStatus, action: Action) -> tuple[Effect, ...]:
    """Effects of an event that does not move the order: a redelivery, a late or a contradicting event."""
    if action is Action.STOCK_RESERVED and status in _SETTLED_WITHOUT_STOCK:
        return (Effect.RELEASE_STOCK,)  # reserved after a timeout or a cancel
    if action is Action.STOCK_REJECTED and status in {_C, _S, OrderStatus.DELIVERED}:
        return (Effect.FLAG_ANOMALY,)  # catalogue decides once; it said both yes and no
    if action in {Action.SHIPMENT_DISPATCHED, Action.SHIPMENT_DELIVERED} and status in _NOT_SHIPPABLE:
        return (Effect.FLAG_ANOMALY,)  # goods moving for an order that must not ship
    return ()  # a duplicate, or a stale event the order has moved past (dispatched after delivered)


#: A command that the order's status forbids (cancel a shipped order): the kit's 409 problem+json.
IllegalTransition = InvalidTransition


@dataclass(frozen=True)
class Decision:
    status: OrderStatus
    #: False when the action left the order as it was (nothing enters the history).
    moved: bool
    effects: tuple[Effect, ...]
    #: Set when the move rejects the order.
    reject_reason: RejectReason | None = None


def next_status(status: OrderStatus, action: Action) -> OrderStatus:
    """The status `action` leads to; IllegalTransition if the table has no such move."""
    return LIFECYCLE.next(status, action)


def decide(status: OrderStatus, action: Action) -> Decision:
    """What `action` does to an order in `status`.

    A command outside the table is refused (IllegalTransition). An event never is: no event that
    passes its contract goes unanswered, so one that finds the order elsewhere is absorbed, with an
    effect when the story needs repair (RELEASE_STOCK) or a human (FLAG_ANOMALY).
    """
    target = LIFECYCLE.target(status, action)
    if target is not None:
        reason = None
        if target is OrderStatus.REJECTED:
            reason = RejectReason.TIMEOUT if action is Action.TIMEOUT else RejectReason.STOCK
        return Decision(target, moved=True, effects=_MOVE_EFFECTS[(status, action)], reject_reason=reason)
    if action.is_command:
        raise LIFECYCLE.refuse(status, action)
    return Decision(status, moved=False, effects=_absorbed(status, action))


def is_overdue(status: OrderStatus, placed_at: datetime, now: datetime, rules: OrdersRules = DEFAULT_RULES) -> bool:
    """True when a pending order has waited past the deadline (the sweep then applies Action.TIMEOUT)."""
    return status is OrderStatus.PENDING and now - placed_at >= rules.pending_timeout


# ==================================================================================================
# Reference idempotency: a marketplace's order reference is unique within that marketplace


@dataclass(frozen=True)
class BuyerContent:
    name: str
    country: str
    city: str
    address: str
    #: The type of Chinese resident id given for CBEC, when given.
    resident_id_type: str | None = None


@dataclass(frozen=True)
class LineContent:
    listing_id: str
    quantity: int


@dataclass(frozen=True)
class OrderContent:
    """What a marketplace sends to place an order, apart from its reference."""

    channel: str
    currency: str
    buyer: BuyerContent
    lines: tuple[LineContent, ...]
    logistics_quote_id: str | None = None
    incoterm: str | None = None
    #: The chosen option of the quote (added later: it enters the fingerprint only when given).
    logistics_option_id: str | None = None


def order_fingerprint(content: OrderContent) -> str:
    """A SHA-256 of the order's content in a canonical form (sorted keys, lines sorted by listing).

    Line order is not content: a marketplace that retries with its lines in another order places the
    same order. Text is compared as sent (no case folding): a changed address is another order.
    """
    canonical = {
        "channel": content.channel,
        "currency": content.currency,
        "buyer": {
            "name": content.buyer.name,
            "country": content.buyer.country,
            "city": content.buyer.city,
            "address": content.buyer.address,
            "resident_id_type": content.buyer.resident_id_type,
        },
        "lines": [[line.listing_id, line.quantity] for line in sorted(content.lines, key=lambda line: line.listing_id)],
        "logistics_quote_id": content.logistics_quote_id,
        "incoterm": content.incoterm,
    }
    if content.logistics_option_id is not None:
        canonical["logistics_option_id"] = content.logistics_option_id
    return hashlib.sha256(orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)).hexdigest()


class ReferenceOutcome(StrEnum):
    NEW = "new"  # place the order
    EXISTING = "existing"  # return the order placed before, 200


class ReferenceConflict(Conflict):
    """The reference was used before for other content: 409."""


def resolve_reference(existing_fingerprint: str | None, fingerprint: str, reference: str) -> ReferenceOutcome:
    if existing_fingerprint is None:
        return ReferenceOutcome.NEW
    if existing_fingerprint == fingerprint:
        return ReferenceOutcome.EXISTING
    raise ReferenceConflict(
        f"Order reference {reference!r} was already used for an order with other content.", reference=reference
    )


# ==================================================================================================
# Landed cost for a buyer in China (DOMAIN.md section 5, CBEC retail import tax)


@dataclass(frozen=True)
class FxRate:
    """`1 base = rate quote`, from `source`, valid `as_of`; recorded on the quote or order."""

    base: str
    quote: str
    rate: Decimal
    source: str
    as_of: datetime

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("an FX rate must be positive")


@dataclass(frozen=True)
class PricedLine:
    """An order line as orders captured it from its listing projection."""

    line_id: str
    hs_code: str
    quantity: int
    unit_price: Decimal


@dataclass(frozen=True)
class FreightQuote:
    quote_id: str
    amount: Decimal
    currency: str


class CustomsRegime(StrEnum):
    #: Within both limits: tariff 0%, VAT and consumption tax at 70%.
    CBEC = "cbec"
    #: One indivisible item over the single-order limit but within the annual limit: CBEC channel,
    #: taxed in full at the goods' rates.
    CBEC_FULL_TAX = "cbec_full_tax"
    #: Over the limits: not a CBEC retail import. Flagged, and estimated at full statutory rates.
    GENERAL_TRADE = "general_trade"


@dataclass(frozen=True)
class LandedCostLine:
    line_id: str
    hs_code: str
    #: Goods value in the order's currency, minor units.
    goods_value_minor: int
    #: The same in CNY (fen), rounded half-even: the customs value the taxes apply to.
    customs_value_cny_minor: int
    tariff_rate: Decimal
    vat_rate: Decimal
    consumption_tax_rate: Decimal
    tariff_cny_minor: int
    vat_cny_minor: int
    consumption_tax_cny_minor: int

    @property
    def tax_cny_minor(self) -> int:
        return self.tariff_cny_minor + self.vat_cny_minor + self.consumption_tax_cny_minor


@dataclass(frozen=True)
class LandedCost:
    """A CN buyer's landed cost in CNY minor units (fen), taxed per line and summed."""

    currency: str  # the order's
    regime: CustomsRegime
    lines: tuple[LandedCostLine, ...]
    goods_value_minor: int  # in the order's currency
    customs_value_cny_minor: int
    tariff_cny_minor: int
    vat_cny_minor: int
    consumption_tax_cny_minor: int
    freight_cny_minor: int
    freight_quote_id: str | None
    landed_cny_minor: int
    #: The rate from the order's currency to CNY, with its source and as_of.
    fx: FxRate
    freight_fx: FxRate | None

    @property
    def tax_cny_minor(self) -> int:
        return self.tariff_cny_minor + self.vat_cny_minor + self.consumption_tax_cny_minor

    @property
    def general_trade(self) -> bool:
        return self.regime is CustomsRegime.GENERAL_TRADE

    def cny(self, amount_minor: int) -> str:
        return format_minor(amount_minor, CNY)


def rate_for(hs_code: str, table: Mapping[str, Decimal], default: Decimal) -> Decimal:
    """The rate of the longest prefix of `hs_code` (digits only, dots ignored) in `table`."""
    digits = hs_code.replace(".", "")
    for length in range(len(digits), 1, -1):
        rate = table.get(digits[:length])
        if rate is not None:
            return rate
    return default


def customs_regime(
    customs_value_cny: Decimal,
    items: int,
    buyer_year_to_date_cny: Decimal,
    rules: OrdersRules = DEFAULT_RULES,
) -> CustomsRegime:
    """The CBEC limits: CNY 5,000 per order and CNY 26,000 per buyer per year (both inclusive).

    `items` is the number of units in the order; `buyer_year_to_date_cny` what the buyer already
    imported through CBEC this year (phase 2 sums the buyer's earlier orders).
    """
    within_year = buyer_year_to_date_cny + customs_value_cny <= rules.cbec_annual_limit_cny
    if not within_year:
        return CustomsRegime.GENERAL_TRADE
    if customs_value_cny <= rules.cbec_order_limit_cny:
        return CustomsRegime.CBEC
    return CustomsRegime.CBEC_FULL_TAX if items == 1 else CustomsRegime.GENERAL_TRADE


def _to_cny(amount: Decimal, fx: FxRate) -> int:
    return to_minor(amount * fx.rate, CNY)


def _check_rate(fx: FxRate, base: str) -> None:
    if fx.base != base or fx.quote != CNY:
        raise UnprocessableContent(f"Need an FX rate {base}→{CNY}, got {fx.base}→{fx.quote}.", field="fx")


def china_landed_cost(
    lines: Sequence[PricedLine],
    currency: str,
    fx: FxRate,
    *,
    freight: FreightQuote | None = None,
    freight_fx: FxRate | None = None,
    buyer_year_to_date_cny: Decimal = Decimal(0),
    rules: OrdersRules = DEFAULT_RULES,
) -> LandedCost:
    """Goods value, CBEC import tax, freight and the landed total for an order shipped to CN.

    Each line's value is converted to CNY and rounded half-even to the fen, then its taxes are
    computed and rounded half-even one by one; the order's figures are sums of those integers, so the
    breakdown always adds up. Within the CBEC limits: tariff 0% and VAT plus consumption tax at 70%
    of the statutory amounts, statutory CT = V·c/(1−c) and VAT = (V + CT)·v, which gives DOMAIN.md's
    combined rate (c + v)/(1 − c) × 70% (9.1% for 13% VAT and no CT). Otherwise the full amounts and
    the tariff. The tax base is the goods value; freight is added to the landed total only.
    `freight_fx` converts a quote priced in neither the order's currency nor CNY.
    """
    _check_rate(fx, currency)
    if not lines:
        raise UnprocessableContent("An order needs at least one line.", field="lines")
    values = [(line, quantize(line.unit_price * line.quantity, currency)) for line in lines]
    customs_minor = [_to_cny(value, fx) for _, value in values]
    customs_total = Decimal(sum(customs_minor)).scaleb(-2)
    regime = customs_regime(customs_total, sum(line.quantity for line in lines), buyer_year_to_date_cny, rules)
    share = rules.cbec_tax_share if regime is CustomsRegime.CBEC else Decimal(1)

    out: list[LandedCostLine] = []
    for (line, value), value_cny_minor in zip(values, customs_minor, strict=True):
        v_cny = Decimal(value_cny_minor).scaleb(-2)
        vat_rate = rate_for(line.hs_code, rules.vat_rates, rules.default_vat_rate)
        ct_rate = rate_for(line.hs_code, rules.consumption_tax_rates, Decimal(0))
        tariff_rate = (
            rules.cbec_tariff_rate
            if regime is CustomsRegime.CBEC
            else rate_for(line.hs_code, rules.tariff_rates, rules.default_tariff_rate)
        )
        tariff = v_cny * tariff_rate
        # Consumption tax is levied on a price that includes it (composite assessment): (V + tariff)/(1 − c).
        ct = (v_cny + tariff) * ct_rate / (1 - ct_rate)
        vat = (v_cny + tariff + ct) * vat_rate
        out.append(
            LandedCostLine(
                line_id=line.line_id,
                hs_code=line.hs_code,
                goods_value_minor=to_minor(value, currency),
                customs_value_cny_minor=value_cny_minor,
                tariff_rate=tariff_rate,
                vat_rate=vat_rate,
                consumption_tax_rate=ct_rate,
                tariff_cny_minor=to_minor(tariff, CNY),
                vat_cny_minor=to_minor(vat * share, CNY),
                consumption_tax_cny_minor=to_minor(ct * share, CNY),
            )
        )

    freight_minor = 0
    if freight is not None:
        if freight.currency == CNY:
            freight_minor = to_minor(freight.amount, CNY)
        elif freight.currency == currency and freight_fx is None:
            freight_minor = _to_cny(freight.amount, fx)
        else:
            if freight_fx is None:
                raise UnprocessableContent(
                    f"Need an FX rate {freight.currency}→{CNY} for the freight quote.", field="freight_fx"
                )
            _check_rate(freight_fx, freight.currency)
            freight_minor = _to_cny(freight.amount, freight_fx)

    tariff_sum = sum(line.tariff_cny_minor for line in out)
    vat_sum = sum(line.vat_cny_minor for line in out)
    ct_sum = sum(line.consumption_tax_cny_minor for line in out)
    customs_sum = sum(customs_minor)
    return LandedCost(
        currency=currency,
        regime=regime,
        lines=tuple(out),
        goods_value_minor=sum(line.goods_value_minor for line in out),
        customs_value_cny_minor=customs_sum,
        tariff_cny_minor=tariff_sum,
        vat_cny_minor=vat_sum,
        consumption_tax_cny_minor=ct_sum,
        freight_cny_minor=freight_minor,
        freight_quote_id=freight.quote_id if freight else None,
        landed_cny_minor=customs_sum + tariff_sum + vat_sum + ct_sum + freight_minor,
        fx=fx,
        freight_fx=freight_fx if freight is not None and freight.currency not in {CNY, currency} else None,
    )


# ==================================================================================================
# Demand insights


def validate_window(days: int, rules: OrdersRules = DEFAULT_RULES) -> int:
    if days not in rules.insight_windows:
        allowed = ", ".join(str(d) for d in sorted(rules.insight_windows))
        raise UnprocessableContent(
            f"window must be one of {allowed} days.", errors=[{"field": "window", "reason": f"one of {allowed}"}]
        )
    return days


def window_bounds(now: datetime, days: int) -> tuple[datetime, datetime, datetime]:
    """(previous window start, current window start, end): two adjacent windows of `days`, ending now."""
    start = now - timedelta(days=days)
    return start - timedelta(days=days), start, now


def median_unit_price(prices: Iterable[Decimal], currency: str) -> Decimal | None:
    """The median of the lines' unit prices (each line one observation), rounded half-even to the
    currency's places (the mean of the two middle prices may have one place more); None if no line."""
    ordered = sorted(prices)
    if not ordered:
        return None
    return quantize(median(ordered), currency)


class TrendDirection(StrEnum):
    UP = "up"
    DOWN = "down"
    FLAT = "flat"
    NEW = "new"  # nothing in the previous window, something now


@dataclass(frozen=True)
class Trend:
    direction: TrendDirection
    #: Change against the previous window in percent, one place, half-even; None when it has no base.
    change_percent: Decimal | None


_ONE_PLACE = Decimal("0.1")


def trend(current: Decimal | int, previous: Decimal | int) -> Trend:
    current, previous = Decimal(current), Decimal(previous)
    if previous == 0:
        return Trend(TrendDirection.NEW if current > 0 else TrendDirection.FLAT, None)
    change = ((current - previous) * 100 / previous).quantize(_ONE_PLACE, rounding=ROUND_HALF_EVEN)
    direction = TrendDirection.UP if change > 0 else TrendDirection.DOWN if change < 0 else TrendDirection.FLAT
    return Trend(direction, change)


def share_percent(part: Decimal | int, whole: Decimal | int) -> Decimal:
    """A seller's share of a category's value, percent with one place, half-even; 0 for an empty whole."""
    if whole == 0:
        return Decimal("0.0")
    return (Decimal(part) * 100 / Decimal(whole)).quantize(_ONE_PLACE, rounding=ROUND_HALF_EVEN)
