"""The seller's trade profile, computed from finance's own projection of order events (no database here).

Lending on trade data (the eWTP idea): the lender sees what the platform itself recorded about the
seller's orders, not what the seller declares. Windows are counted back from `now`; the profile says
how fresh its data is with `as_of`, the time of the last order event finance consumed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

__all__ = ["WINDOWS", "OrderFacts", "TradeWindow", "trade_windows"]

#: (label, length): "3 months" and "12 months" counted as 91 and 365 days.
WINDOWS: tuple[tuple[str, timedelta], ...] = (("3m", timedelta(days=91)), ("12m", timedelta(days=365)))


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """One seller's part of one order, as the projection holds it."""

    marketplace_id: str | None
    currency: str | None
    value_minor: int
    first_seen_at: datetime
    confirmed_at: datetime | None
    shipped_at: datetime | None
    delivered_at: datetime | None
    cancelled_at: datetime | None
    rejected_at: datetime | None


@dataclass(frozen=True, slots=True)
class TradeWindow:
    label: str
    since: datetime
    orders_seen: int
    confirmed: int
    shipped: int
    delivered: int
    cancelled: int
    rejected: int
    #: currency -> minor units, per stage.
    confirmed_value_minor: dict[str, int]
    shipped_value_minor: dict[str, int]
    delivered_value_minor: dict[str, int]
    #: Shares as fractions rounded half-even to 4 places; None when nothing to divide by.
    cancellation_rate: Decimal | None
    rejection_rate: Decimal | None
    delivered_share: Decimal | None
    top_marketplace: str | None
    top_marketplace_share: Decimal | None


def _share(part: int, whole: int) -> Decimal | None:
    if whole == 0:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)


def _window(label: str, since: datetime, orders: Sequence[OrderFacts]) -> TradeWindow:
    inside = [o for o in orders if o.first_seen_at >= since]
    values: dict[str, defaultdict[str, int]] = {s: defaultdict(int) for s in ("confirmed", "shipped", "delivered")}
    counts: Counter[str] = Counter()
    by_marketplace: Counter[str] = Counter()
    for order in inside:
        stages = {
            "confirmed": order.confirmed_at,
            "shipped": order.shipped_at,
            "delivered": order.delivered_at,
            "cancelled": order.cancelled_at,
            "rejected": order.rejected_at,
        }
        for stage, at in stages.items():
            if at is None:
                continue
            counts[stage] += 1
            if stage in values and order.currency is not None:
                values[stage][order.currency] += order.value_minor
        if order.confirmed_at is not None:
            by_marketplace[order.marketplace_id or "unknown"] += 1
    top = by_marketplace.most_common(1)
    return TradeWindow(
        label=label,
        since=since,
        orders_seen=len(inside),
        confirmed=counts["confirmed"],
        shipped=counts["shipped"],
        delivered=counts["delivered"],
        cancelled=counts["cancelled"],
        rejected=counts["rejected"],
        confirmed_value_minor=dict(values["confirmed"]),
        shipped_value_minor=dict(values["shipped"]),
        delivered_value_minor=dict(values["delivered"]),
        cancellation_rate=_share(counts["cancelled"], len(inside)),
        rejection_rate=_share(counts["rejected"], len(inside)),
        delivered_share=_share(counts["delivered"], counts["confirmed"]),
        top_marketplace=top[0][0] if top else None,
        top_marketplace_share=_share(top[0][1], counts["confirmed"]) if top else None,
    )


def trade_windows(orders: Sequence[OrderFacts], now: datetime) -> list[TradeWindow]:
    """The profile over each window of `WINDOWS`, counting each order in the window it was first seen."""
    return [_window(label, now - length, orders) for label, length in WINDOWS]
